/* plugin.c — the exports Wireshark's plugin loader looks for in fastcgi.so.
 *
 * Normative reference: Wireshark doc/README.plugins (4.0): plugin_version,
 * plugin_want_major/minor (must equal the running Wireshark's major.minor)
 * and plugin_register(); plugin_describe() is read by 4.2+.
 */
#include <wireshark.h>
#include <epan/proto.h>
#include <ws_symbol_export.h>

#include "compat.h"
#include "fastcgi-int.h"

#ifndef FCGISCOPE_VERSION
#define FCGISCOPE_VERSION "0.0.0"
#endif

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = FCGISCOPE_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);
WS_DLL_PUBLIC guint32 plugin_describe(void);

void plugin_register(void)
{
    static proto_plugin plug;
    plug.register_protoinfo = proto_register_fastcgi;
    plug.register_handoff = proto_reg_handoff_fastcgi;
    proto_register_plugin(&plug);
}

guint32 plugin_describe(void)
{
    return FCGI_PLUGIN_DESC;
}
