/* compat.h — every Wireshark-version-specific line of the fastcgi plugin lives here.
 *
 * Normative reference: Wireshark doc/README.plugins and the installed headers
 * of 4.0 (Debian 12), <ws_version.h>. Built and tested against 4.0.17; the
 * 4.2/4.4 branches below follow those releases' headers (see README.md).
 */
#ifndef FASTCGI_COMPAT_H
#define FASTCGI_COMPAT_H

#include <ws_version.h>

#define FCGI_WS_AT_LEAST(maj, min) \
    (WIRESHARK_VERSION_MAJOR > (maj) || \
     (WIRESHARK_VERSION_MAJOR == (maj) && WIRESHARK_VERSION_MINOR >= (min)))

#if !FCGI_WS_AT_LEAST(4, 0)
#error "the fastcgi plugin needs Wireshark 4.0 or newer"
#endif

/* tap listeners got a flags argument in 3.6; unchanged through 4.4. */
#define FCGI_TAP_ARGS void *tapdata, packet_info *pinfo, epan_dissect_t *edt, \
                      const void *data, tap_flags_t flags

/* 4.2 added plugin_describe() and WS_PLUGIN_DESC_DISSECTOR; 4.0 ignores the
 * symbol, so it is exported in every version (plugin.c). */
#if FCGI_WS_AT_LEAST(4, 2)
#  include <wsutil/plugins.h>
#  define FCGI_PLUGIN_DESC WS_PLUGIN_DESC_DISSECTOR
#else
#  define FCGI_PLUGIN_DESC (1 << 0)
#endif

/* A frame may hold this many protocol layers: past it, every further
 * dissector call in the frame fails an assertion (4.0 packet.c,
 * call_dissector_work: saved_layers_len < prefs.gui_max_tree_depth), and
 * each call that accepts data adds a layer kept for the rest of the frame. */
#include <epan/prefs.h>
#define FCGI_MAX_LAYERS ((guint)prefs.gui_max_tree_depth)

/* field_info.value: a struct member in 4.0, a pointer since 4.2. */
#if FCGI_WS_AT_LEAST(4, 2)
#  define FCGI_FI_VALUE(fi) ((fi)->value)
#else
#  define FCGI_FI_VALUE(fi) (&(fi)->value)
#endif

/* 4.4 renamed the glib-typed tvb getters (tvb_get_guint8 -> tvb_get_uint8)
 * and keeps the old names as deprecated aliases; the plugin only uses
 * tvb_get_ptr / tvb_memdup, which did not change. */

#endif /* FASTCGI_COMPAT_H */
