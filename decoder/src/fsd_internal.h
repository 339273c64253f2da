/* fsd_internal.h — declarations shared by the decoder's layers (not installed).
 *
 * Normative reference: FastCGI Specification 1.0 §3-§6; decoder/include/fsd/fsd.h.
 */
#ifndef FSD_INTERNAL_H
#define FSD_INTERNAL_H

#include "fsd/fsd.h"

bool fsd_type_is_management(unsigned type);
bool fsd_type_is_known(unsigned type);
/* FSD_DIR_CLIENT / FSD_DIR_SERVER for the side that sends the type, -1 unknown. */
int fsd_type_sender(unsigned type);

#endif
