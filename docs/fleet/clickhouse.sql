-- fastcgi_requests: one row per FastCGI request, as fcgiscope -f json writes
-- it (analyzer/README.md lists every field). Load with
--   clickhouse-client --multiquery < docs/fleet/clickhouse.sql
-- and insert with (docs/FLEET.md):
--   fcgiscope -f json --host-name "$(hostname)" CAPTURE \
--     | grep '"type":"request"' \
--     | clickhouse-client --input_format_skip_unknown_fields=1 \
--         --query 'INSERT INTO fastcgi_requests FORMAT JSONEachRow'
--
-- Written for Debian 12's ClickHouse (18.16) and the features current
-- releases keep: LowCardinality needs the setting below on 18.16 (later
-- releases accept and ignore it); no DateTime64, Map or TTL, which 18.16 does
-- not have (docs/FLEET.md shows what to add on a current release).
SET allow_experimental_low_cardinality_type = 1;

CREATE TABLE IF NOT EXISTS fastcgi_requests
(
    -- where: the host the capture was taken on (--host-name), the capture
    -- file and the frame of the request's BEGIN_REQUEST in it
    hostname LowCardinality(String),
    file String,
    frame UInt64,
    -- when: RFC 3339 UTC as written ("2026-11-26T03:57:04.717037Z"), and
    -- derived from it the second (the sort and partition key) and the
    -- microseconds within it
    start String,
    start_time DateTime MATERIALIZED parseDateTimeBestEffort(start),
    start_us UInt32 MATERIALIZED toUInt32OrZero(substring(start, 21, 6)),
    -- the connection
    client String,
    server LowCardinality(String),
    connection UInt64,
    request_id UInt16,
    role LowCardinality(String),
    keep_conn UInt8,
    connect_us Nullable(Int64),
    syn_retransmits Nullable(UInt32),
    attempt UInt32,
    retried UInt8,
    -- the request (traffic bytes; null when absent)
    method Nullable(String),
    uri Nullable(String),
    script Nullable(String),
    script_key String MATERIALIZED ifNull(script, ''),
    host Nullable(String),
    stdin_bytes UInt64,
    -- the answer
    status Nullable(UInt16),
    status_source LowCardinality(String),
    user_status Nullable(UInt16),
    user_outcome LowCardinality(String),
    app_status Nullable(UInt32),
    protocol_status Nullable(UInt8),
    stdout_bytes UInt64,
    stderr_bytes UInt64,
    content_length Nullable(Int64),
    content_type Nullable(String),
    complete UInt8,
    `end` LowCardinality(String),
    aborted UInt8,
    closed_by Nullable(String),
    close Nullable(String),
    gap UInt8,
    -- times in microseconds (null when the capture cannot tell); the _ns
    -- twins are present for nanosecond captures only
    latency_us Nullable(Int64),
    ttfb_us Nullable(Int64),
    server_us Nullable(Int64),
    queue_us Nullable(Int64),
    run_us Nullable(Int64),
    elapsed_us Int64,
    abandoned_after_us Nullable(Int64),
    latency_ns Nullable(Int64),
    ttfb_ns Nullable(Int64),
    server_ns Nullable(Int64),
    connect_ns Nullable(Int64),
    queue_ns Nullable(Int64),
    run_ns Nullable(Int64),
    elapsed_ns Nullable(Int64),
    abandoned_after_ns Nullable(Int64),
    -- findings (docs/ANOMALIES.md ids) and the worst severity
    anomalies Array(String),      -- Array(LowCardinality(String)) on current releases: 18.16 fails on an empty one
    severity Nullable(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(start_time)
ORDER BY (hostname, script_key, start_time, frame);

-- fastcgi_anomalies: the anomaly lines (`{"type":"anomaly",...}`): findings
-- not tied to one request, such as connection_refused, closed_before_request,
-- connect_retried (backend failures in TCP handshakes), capture damage and
-- drops. Insert the same way, with grep '"type":"anomaly"'.
CREATE TABLE IF NOT EXISTS fastcgi_anomalies
(
    hostname LowCardinality(String),
    file String,
    frame UInt64,
    time String,
    event_time DateTime MATERIALIZED parseDateTimeBestEffort(time),
    id LowCardinality(String),
    severity LowCardinality(String),
    connection Nullable(UInt64),
    client Nullable(String),
    server Nullable(String),
    dir Nullable(String),
    request_id Nullable(UInt16),
    detail String,
    message String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (hostname, id, event_time, frame);
