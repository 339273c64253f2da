/* anomaly.c — the anomaly catalogue tables, generated from anomalies.def by X-macro.
 *
 * Normative reference: ../shared/docs/FASTCGI.md "Anomaly catalogue (contract)";
 * docs/ANOMALIES.md explains each id.
 */
#include "fsd_internal.h"

#include <string.h>

#define NOTE FSD_SEV_NOTE
#define WARNING FSD_SEV_WARNING
#define ERROR FSD_SEV_ERROR

static const struct {
    const char *name;
    fsd_severity sev;
    fsd_severity maxsev;
    const char *summary;
} table[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) { #id, sev, maxsev, summary },
#include "fsd/anomalies.def"
#undef FSD_ANOMALY
};

#undef NOTE
#undef WARNING
#undef ERROR

static bool in_range(fsd_anomaly_id id)
{
    return (int)id >= 0 && id < FSD_A_COUNT;
}

const char *fsd_anomaly_name(fsd_anomaly_id id)
{
    return in_range(id) ? table[id].name : NULL;
}

fsd_severity fsd_anomaly_severity(fsd_anomaly_id id)
{
    return in_range(id) ? table[id].sev : FSD_SEV_ERROR;
}

fsd_severity fsd_anomaly_max_severity(fsd_anomaly_id id)
{
    return in_range(id) ? table[id].maxsev : FSD_SEV_ERROR;
}

const char *fsd_anomaly_summary(fsd_anomaly_id id)
{
    return in_range(id) ? table[id].summary : NULL;
}

const char *fsd_severity_name(fsd_severity sev)
{
    switch (sev) {
    case FSD_SEV_NOTE: return "note";
    case FSD_SEV_WARNING: return "warning";
    case FSD_SEV_ERROR: return "error";
    default: return "UNKNOWN";
    }
}

fsd_anomaly_id fsd_anomaly_from_name(const char *name)
{
    if (name == NULL)
        return FSD_A_COUNT;
    for (int i = 0; i < (int)FSD_A_COUNT; i++)
        if (strcmp(table[i].name, name) == 0)
            return (fsd_anomaly_id)i;
    return FSD_A_COUNT;
}
