/* test_anomaly.c — unit tests of the anomaly table generated from anomalies.def.
 *
 * Normative reference: decoder/include/fsd/anomalies.def; docs/ANOMALIES.md.
 */
#include "check.h"
#include "fsd/fsd.h"

#include <ctype.h>

int main(void)
{
    CHECK(FSD_A_COUNT >= 44);
    CHECK_EQ(FSD_A_bad_version, 0); /* the catalogue order is the enum order, never renumbered */
    CHECK_STR(fsd_anomaly_name(FSD_A_bad_version), "bad_version");
    CHECK_STR(fsd_anomaly_name(FSD_A_stderr_output), "stderr_output");
    CHECK_STR(fsd_anomaly_name(FSD_A_request_table_full), "request_table_full");
    CHECK_EQ(fsd_anomaly_severity(FSD_A_bad_version), FSD_SEV_ERROR);
    CHECK_EQ(fsd_anomaly_severity(FSD_A_unknown_type), FSD_SEV_WARNING);
    CHECK_EQ(fsd_anomaly_severity(FSD_A_midstream_start), FSD_SEV_NOTE);
    CHECK_EQ(fsd_anomaly_max_severity(FSD_A_protocol_status), FSD_SEV_ERROR);
    CHECK_EQ(fsd_anomaly_severity(FSD_A_protocol_status), FSD_SEV_WARNING);
    CHECK_EQ(fsd_anomaly_max_severity(FSD_A_duplicate_param), FSD_SEV_ERROR);
    CHECK(fsd_anomaly_name(FSD_A_COUNT) == NULL);
    CHECK(fsd_anomaly_name((fsd_anomaly_id)-1) == NULL);
    CHECK(fsd_anomaly_summary(FSD_A_COUNT) == NULL);
    CHECK_EQ(fsd_anomaly_from_name("nope"), FSD_A_COUNT);
    CHECK_EQ(fsd_anomaly_from_name(NULL), FSD_A_COUNT);
    CHECK_STR(fsd_severity_name(FSD_SEV_NOTE), "note");
    CHECK_STR(fsd_severity_name(FSD_SEV_WARNING), "warning");
    CHECK_STR(fsd_severity_name(FSD_SEV_ERROR), "error");
    CHECK_STR(fsd_severity_name((fsd_severity)0), "UNKNOWN");
    for (int i = 0; i < (int)FSD_A_COUNT; i++) {
        const char *n = fsd_anomaly_name((fsd_anomaly_id)i);
        CHECK(n != NULL && n[0] != 0);
        if (!n)
            continue;
        for (const char *p = n; *p; p++)
            CHECK(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_');
        CHECK_EQ(fsd_anomaly_from_name(n), i);
        CHECK(fsd_anomaly_severity((fsd_anomaly_id)i) >= FSD_SEV_NOTE &&
              fsd_anomaly_severity((fsd_anomaly_id)i) <= FSD_SEV_ERROR);
        CHECK(fsd_anomaly_max_severity((fsd_anomaly_id)i) >= fsd_anomaly_severity((fsd_anomaly_id)i));
        CHECK(fsd_anomaly_summary((fsd_anomaly_id)i) && strlen(fsd_anomaly_summary((fsd_anomaly_id)i)) > 10);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(n, fsd_anomaly_name((fsd_anomaly_id)j)) != 0);
    }
    return check_done("test_anomaly");
}
