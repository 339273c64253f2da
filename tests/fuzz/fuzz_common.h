/* fuzz_common.h — shared by the libFuzzer target and its plain replay driver.
 *
 * Normative reference: tests/fuzz/fuzz_decoder.c (input encoding).
 */
#ifndef FSD_FUZZ_COMMON_H
#define FSD_FUZZ_COMMON_H

#include "vecfile.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Decode a fuzz input into replay steps; *split gets the cut point. */
vec *fuzz_to_vec(const uint8_t *data, size_t size, size_t *split);

#endif
