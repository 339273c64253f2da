/* compat.h — every Wireshark-version-specific line of the fastcgi plugin lives here.
 *
 * Built and tested here against Wireshark 4.0.17 (Debian 12) only. The other
 * branches follow the published headers of later releases (epan/packet.h,
 * epan/prefs.h, epan/proto.h, wsutil/plugins.h) and were never compiled
 * here. Where a later release changed a type the plugin must match, the
 * type is taken from the installed header itself (GCC/Clang __typeof__ and
 * __builtin_types_compatible_p), so no version number has to be right;
 * where a change cannot be detected that way, WIRESHARK_VERSION_* decides.
 */
#ifndef FASTCGI_COMPAT_H
#define FASTCGI_COMPAT_H

#include <ws_version.h>
#include <stdbool.h>

#define FASTCGI_WS_AT_LEAST(maj, min) \
    (WIRESHARK_VERSION_MAJOR > (maj) || \
     (WIRESHARK_VERSION_MAJOR == (maj) && WIRESHARK_VERSION_MINOR >= (min)))

#if !FASTCGI_WS_AT_LEAST(4, 0)
#error "the fastcgi plugin needs Wireshark 4.0 or newer"
#endif

/* Tap listeners got a flags argument in 3.6 (tap_packet_cb in epan/tap.h). */
#define FASTCGI_TAP_ARGS void *tapdata, packet_info *pinfo, epan_dissect_t *edt, \
                         const void *data, tap_flags_t flags

/* plugin_describe() returns WS_PLUGIN_DESC_DISSECTOR from wsutil/plugins.h
 * (4.2 and later read it; 4.0 has no such header and ignores the symbol). */
#if defined(__has_include)
#  if __has_include(<wsutil/plugins.h>)
#    include <wsutil/plugins.h>
#  endif
#endif
#ifdef WS_PLUGIN_DESC_DISSECTOR
#  define FASTCGI_PLUGIN_DESC WS_PLUGIN_DESC_DISSECTOR
#else
#  define FASTCGI_PLUGIN_DESC (1 << 0)
#endif

/* The registration API of Wireshark's development branch of early 2024
 * (WIRESHARK_PLUGIN_REGISTER_EPAN with a struct ws_module, wsutil/plugins.h)
 * replaces the plugin_version / plugin_want_major / plugin_want_minor /
 * plugin_register exports where it exists; plugin.c picks one by whether
 * the macro is defined. */
#ifdef WIRESHARK_PLUGIN_REGISTER_EPAN
#  define FASTCGI_WS_MODULE_API 1
#else
#  define FASTCGI_WS_MODULE_API 0
#endif

/* A frame may hold this many protocol layers: past it, every further
 * dissector call in the frame fails an assertion (4.0 packet.c,
 * call_dissector_work: saved_layers_len < prefs.gui_max_tree_depth), and
 * each call that accepts data adds a layer kept for the rest of the frame. */
#include <epan/prefs.h>
#define FASTCGI_MAX_LAYERS ((guint)prefs.gui_max_tree_depth)

/* field_info.value: a struct member in 4.0, a pointer since 4.2
 * (epan/proto.h). */
#if FASTCGI_WS_AT_LEAST(4, 2)
#  define FASTCGI_FI_VALUE(fi) ((fi)->value)
#else
#  define FASTCGI_FI_VALUE(fi) (&(fi)->value)
#endif

/* What a heuristic dissector returns: gboolean in 4.0's heur_dissector_t,
 * bool once the API moved to C99 types (a function of the other type is an
 * incompatible pointer, an error with GCC 14). Taken from the typedef. */
#define FASTCGI_HEUR_RETURN __typeof__(((heur_dissector_t)0)(NULL, NULL, NULL, NULL))

/* Storage of a boolean preference: prefs_register_bool_preference() takes
 * a gboolean * in 4.0 and a bool * after the move to C99 types. Taken from
 * the declaration. */
typedef __typeof__(__builtin_choose_expr(
    __builtin_types_compatible_p(__typeof__(&prefs_register_bool_preference),
                                 void (*)(module_t *, const char *, const char *, const char *, bool *)),
    (bool)0, (gboolean)0)) fastcgi_pref_bool;

/* 4.4 renamed the glib-typed tvb getters (tvb_get_guint8 -> tvb_get_uint8,
 * the old names deprecated, removed later) and 4.6 gave val_to_str a wmem
 * scope argument: the plugin uses neither (tvb_get_ptr / tvb_memcpy, and
 * value_strings only through VALS() in field registrations). */

#endif /* FASTCGI_COMPAT_H */
