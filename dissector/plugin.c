/* plugin.c — the exports Wireshark's plugin loader looks for in fastcgi.so.
 *
 * Wireshark doc/README.plugins: a plugin exports plugin_version,
 * plugin_want_major/minor (the loader skips it unless they equal the
 * running Wireshark's major.minor) and plugin_register(); 4.2 and later
 * also read plugin_describe(). Where wsutil/plugins.h offers
 * WIRESHARK_PLUGIN_REGISTER_EPAN instead (compat.h), one struct ws_module
 * describes the plugin. Built and tested with the first form on 4.0 only.
 */
#include <wireshark.h>
#include <epan/proto.h>
#include <ws_symbol_export.h>

#include "compat.h"
#include "fastcgi-int.h"

#ifndef FCGISCOPE_VERSION
#define FCGISCOPE_VERSION "0.0.0"
#endif

static void
fastcgi_plugin_register(void)
{
    static proto_plugin plug;
    plug.register_protoinfo = proto_register_fastcgi;
    plug.register_handoff = proto_reg_handoff_fastcgi;
    proto_register_plugin(&plug);
}

#if FASTCGI_WS_MODULE_API

static struct ws_module fastcgi_module = {
    .flags = FASTCGI_PLUGIN_DESC,
    .version = FCGISCOPE_VERSION,
    .spdx_id = "GPL-2.0-or-later",
    .home_url = "",
    .blurb = "FastCGI on the fcgiscope decoder (libfsd)",
    .register_cb = &fastcgi_plugin_register,
};

WIRESHARK_PLUGIN_REGISTER_EPAN(&fastcgi_module, 0)

#else

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = FCGISCOPE_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);
WS_DLL_PUBLIC guint32 plugin_describe(void);

void
plugin_register(void)
{
    fastcgi_plugin_register();
}

guint32
plugin_describe(void)
{
    return FASTCGI_PLUGIN_DESC;
}

#endif
