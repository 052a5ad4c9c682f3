--
-- gcp_metrics over Cloud Monitoring projects.timeSeries.list: what each
-- column's conditions send (the filter, the interval, the aggregation),
-- the points against the emulator's own, the (start, end] read rule, value
-- types, and errors.
--
\i test/sql/gcp.sql

-- one metric type, the default aligner (ALIGN_MEAN) and period (300 s); a
-- [10:00, 11:00) window reads (09:59:59.999999, 10:55]: the 12 points of
-- the hour, no more
SELECT * FROM emu.pushdown($$
  SELECT resource_id, ts, value FROM gcp_metrics
  WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00' $$);
-- resource_type (and its id label for resource_id), IN lists, period,
-- aligner, another project, ts <= (end inclusive)
SELECT * FROM emu.pushdown($$
  SELECT resource_id, ts, value FROM gcp_metrics
  WHERE resource_type = 'gce_instance'
    AND metric_type IN ('compute.googleapis.com/instance/cpu/utilization',
                        'compute.googleapis.com/instance/network/sent_bytes_count')
    AND resource_id IN ('5858899134637695161', '1187178284809700523')
    AND period = 3600 AND aligner = 'ALIGN_MAX'
    AND ts > '2026-06-14 00:00+00' AND ts <= '2026-06-14 06:00+00' $$);
SELECT * FROM emu.pushdown($$
  SELECT resource_id, count(*) FROM gcp_metrics
  WHERE project_id = 'northwind-ml' AND resource_type = 'gce_instance'
    AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00'
  GROUP BY 1 $$);
-- a prefix: metricDescriptors.list finds the types, one read each
SELECT * FROM emu.pushdown($$
  SELECT metric_type, count(*) FROM gcp_metrics
  WHERE metric_type LIKE 'cloudsql.googleapis.com/database/%'
    AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00'
  GROUP BY 1 $$);
-- the literal start of any pattern (escapes undone) narrows the listing;
-- the LIKE is checked on every row
SELECT * FROM emu.pushdown($$
  SELECT metric_type, aligner, count(*) FROM gcp_metrics
  WHERE metric_type LIKE 'kubernetes.io/container/cpu/core\_%'
    AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00'
  GROUP BY 1, 2 $$);
SELECT metric_type, count(*) FROM gcp_metrics
WHERE metric_type LIKE 'cloudsql.googleapis.com/database/%/utilization'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00'
GROUP BY 1 ORDER BY 1;
-- raw points: no aggregation; the default window is the last 24 hours
SELECT * FROM emu.pushdown($$
  SELECT count(*) FROM gcp_metrics
  WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND resource_id = '5858899134637695161' AND aligner = 'ALIGN_NONE' $$);
-- values are data: quotes and backslashes are escaped in the filter
SELECT * FROM emu.pushdown($$
  SELECT count(*) FROM gcp_metrics
  WHERE resource_type = 'gcs_bucket' AND metric_type = 'storage.googleapis.com/storage/total_bytes'
    AND resource_id = 'a"b\c) OR (metric.type = "x' $$);

-- the points are the emulator's, both ways, and there are some
SELECT * FROM emu.same_rows($$
  SELECT resource_id, ts, value FROM gcp_metrics
  WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND resource_id IN ('5858899134637695161', '1187178284809700523')
    AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 12:00+00' $$, $$
  SELECT * FROM emu.gcp_points('metric_type=compute.googleapis.com/instance/cpu/utilization'
    || '&resource_id=5858899134637695161&resource_id=1187178284809700523'
    || '&start=2026-06-14T09:59:59.999999Z&end=2026-06-14T11:55:00Z&period=300&aligner=ALIGN_MEAN') $$);
-- [a, b) is [a, m) and [m, b): no point lost or added at m
SELECT * FROM emu.same_rows($$
  SELECT ts, value FROM gcp_metrics
  WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND resource_id = '5858899134637695161'
    AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 12:00+00' $$, $$
  SELECT ts, value FROM gcp_metrics
  WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND resource_id = '5858899134637695161'
    AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00'
  UNION ALL
  SELECT ts, value FROM gcp_metrics
  WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND resource_id = '5858899134637695161'
    AND ts >= '2026-06-14 11:00+00' AND ts < '2026-06-14 12:00+00' $$);
-- and a window off the period's grid keeps the grid's points in it
SELECT min(ts), max(ts), count(*) FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND resource_id = '5858899134637695161'
  AND ts > '2026-06-14 10:02+00' AND ts <= '2026-06-14 10:58+00';

-- value types: int64Value strings, doubles, a distribution's mean, a
-- cumulative counter read as a rate (its default aligner)
SELECT metric_type, value_type, unit, aligner, period, count(*), bool_and(value >= 0) AS non_negative
FROM gcp_metrics
WHERE metric_type IN ('compute.googleapis.com/instance/network/received_bytes_count',
                      'networking.googleapis.com/vm_flow/rtt',
                      'kubernetes.io/container/cpu/core_usage_time')
  AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00'
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1;
SELECT * FROM emu.same_rows($$
  SELECT resource_id, ts, value FROM gcp_metrics
  WHERE metric_type = 'networking.googleapis.com/vm_flow/rtt' AND aligner = 'ALIGN_NONE'
    AND resource_id = '5858899134637695161'
    AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 10:30+00' $$, $$
  SELECT * FROM emu.gcp_points('metric_type=networking.googleapis.com/vm_flow/rtt'
    || '&resource_id=5858899134637695161'
    || '&start=2026-06-14T09:59:59.999999Z&end=2026-06-14T10:29:59.999999Z&aligner=ALIGN_NONE') $$);
-- an INT64 sum: int64Value strings, as the emulator's
SELECT * FROM emu.same_rows($$
  SELECT resource_id, ts, value FROM gcp_metrics
  WHERE metric_type = 'compute.googleapis.com/instance/network/received_bytes_count'
    AND aligner = 'ALIGN_SUM' AND period = 600 AND value_type = 'INT64'
    AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 12:00+00' $$, $$
  SELECT * FROM emu.gcp_points('metric_type=compute.googleapis.com/instance/network/received_bytes_count'
    || '&project=northwind-prod'
    || '&start=2026-06-14T09:59:59.999999Z&end=2026-06-14T11:50:00Z&period=600&aligner=ALIGN_SUM') $$);
-- labels
SELECT resource_labels ? 'zone' AS zone, resource_labels->>'project_id' AS project,
       metric_labels ? 'instance_name' AS instance_name
FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND resource_id = '5858899134637695161'
  AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 10:05+00';

-- a join: each key of the other side is one filtered read
SELECT * FROM emu.pushdown($$
  SELECT i.name, round(avg(m.value)::numeric, 4) > 0 AS some_cpu
  FROM (VALUES ('web-1', '5858899134637695161'), ('batch-2', '1187178284809700523')) i(name, id)
  JOIN gcp_metrics m ON m.resource_id = i.id
  WHERE m.metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND m.ts >= '2026-06-14 10:00+00' AND m.ts < '2026-06-14 11:00+00'
  GROUP BY 1 $$);

-- errors before any request: nothing to read by, values outside closed sets
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE resource_id = 'x'$$);
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE resource_type = 'gce_instance' AND aligner = 'ALIGN_AVERAGE'$$);
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE resource_type = 'gce_instance' AND period = 30$$);
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE resource_type = 'gce_instance' AND period = 60 AND aligner = 'ALIGN_NONE'$$);
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE resource_type = 'spanner_instance'$$);
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE resource_type = 'gce_instance' AND period < 300$$);
-- a value of another type (name) is not pushed: a per-value column says so
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE resource_type = 'gce_instance' AND project_id = 'northwind-prod'::name$$);
SELECT count(*) > 0 AS rows FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization' AND resource_id = '5858899134637695161'::name
  AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00';
-- ALIGN_NONE has no period: with another aligner, its rows are those
SELECT aligner, period, count(*) FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization' AND resource_id = '5858899134637695161'
  AND aligner IN ('ALIGN_NONE', 'ALIGN_MAX') AND period = 600
  AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00'
GROUP BY 1, 2;
-- the API's refusal: an aligner that does not apply to a gauge
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization' AND aligner = 'ALIGN_RATE'$$);

-- throttling (429 RESOURCE_EXHAUSTED) is retried
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "target": "monitoring.timeSeries.list", "count": 2}');
SELECT count(*) FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND resource_id = '5858899134637695161'
  AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00';
SELECT line FROM emu.requests() AS line WHERE line LIKE 'monitoring%';
-- an answer with executionErrors is partial: an error, not fewer rows
SELECT emu.reset();
SELECT emu.body('{"timeSeries": [], "executionErrors": [{"code": 8, "message": "Some data could not be read"}]}');
SELECT emu.try($$SELECT count(*) FROM gcp_metrics WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'$$);
-- paging: a small page size takes several pages, the same points
SELECT emu.reset();
SELECT emu.config('{"gcp_page_size": 100}');
SELECT count(*), count(DISTINCT (resource_id, ts)) FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 06:00+00';
SELECT count(*) AS pages FROM emu.requests() AS line WHERE line LIKE 'monitoring.timeSeries.list%';
SELECT emu.reset();
