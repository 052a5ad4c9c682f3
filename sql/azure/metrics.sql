--
-- azure_metrics over Azure Monitor: one resource with the ARM metrics API,
-- many with metrics:getBatch (50 per call, per region), resources of a
-- type found in the subscription; interval, aggregation, timespan; the
-- points against the emulator's own.
--
\i test/sql/azure.sql

-- one resource: the ARM API, default metrics of its type, hourly averages
SELECT * FROM emu.pushdown($$
  SELECT metric_name, ts, value FROM azure_metrics
  WHERE resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1'
    AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 13:00+00' $$);
SELECT metric_name, aggregation, period, unit, region, resource_group, resource_type, namespace, dimensions, count(*)
FROM azure_metrics
WHERE resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1'
  AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 13:00+00'
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ORDER BY 1;
-- a type's resources in one region and group: the listing, then getBatch
-- with the metric names, aggregations, interval and window asked for
SELECT * FROM emu.pushdown($$
  SELECT resource_id, metric_name, aggregation, ts, value FROM azure_metrics
  WHERE resource_type = 'Microsoft.Compute/virtualMachines' AND region = 'northeurope'
    AND resource_group = 'rg-web' AND namespace = 'Microsoft.Compute/virtualMachines'
    AND metric_name IN ('Percentage CPU', 'Network In Total') AND aggregation IN ('Average', 'Maximum')
    AND period = 1800 AND ts >= '2026-06-14 10:00+00' AND ts <= '2026-06-14 11:00+00' $$);
-- the points are the emulator's, both ways; period and aggregation
SELECT * FROM emu.same_rows($$
  SELECT ts, value FROM azure_metrics
  WHERE resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-ml/providers/Microsoft.Compute/virtualMachines/ml-gpu-1'
    AND metric_name = 'Percentage CPU' AND aggregation = 'Maximum' AND period = 900
    AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 14:00+00' $$, $$
  SELECT split_part(l, E'\t', 1)::timestamptz, nullif(split_part(l, E'\t', 2), '')::float8
  FROM emu.call('/_emulator/expect/azure_metrics?resource_id=/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-ml/providers/Microsoft.Compute/virtualMachines/ml-gpu-1'
                || '&metric=Percentage%20CPU&start=2026-06-14T10:00:00Z&end=2026-06-14T14:00:00Z&interval=PT15M&aggregation=maximum') AS l $$);

-- the virtual machines of the subscription: listed (two pages), then read
-- 50 at a time per region: 127 in westeurope are 3 calls
SELECT emu.reset();
SELECT region, count(DISTINCT resource_id) AS vms, count(*) AS points
FROM azure_metrics
WHERE resource_type = 'virtual_machine' AND metric_name = 'Percentage CPU'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 06:00+00'
GROUP BY 1 ORDER BY 1;
SELECT regexp_replace(line, ' (aggregation|api-version|\$filter).*', '') AS call, count(*)
FROM emu.requests() AS line GROUP BY 1 ORDER BY 1;
-- a list of 120 ids in one region: 3 getBatch calls, without a listing
SELECT emu.reset();
SELECT count(DISTINCT resource_id), count(*) FROM azure_metrics
WHERE resource_id = ANY (ARRAY(SELECT format('/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-batch/providers/Microsoft.Compute/virtualMachines/batch-worker-%s', lpad(i::text, 3, '0'))
                               FROM generate_series(1, 120) i))
  AND region = 'westeurope' AND metric_name = 'Percentage CPU'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 02:00+00';
SELECT regexp_replace(line, ' (aggregation|api-version).*', '') AS call FROM emu.requests() AS line ORDER BY 1;
-- resource groups narrow what the listing found; idle machines
SELECT regexp_replace(resource_id, '.*/', '') AS vm, round(avg(value)::numeric, 2) AS avg_cpu
FROM azure_metrics
WHERE resource_type = 'virtual_machine' AND metric_name = 'Percentage CPU' AND resource_group IN ('rg-ml', 'rg-web')
  AND ts >= '2026-06-14 00:00+00'
GROUP BY 1 HAVING avg(value) < 5 ORDER BY 1;

-- throttled: retried after Retry-After
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "target": "monitor.metrics", "retry_after": 1}');
SET finops_usage.retry_max_delay = '5s';
SELECT count(*) FROM azure_metrics
WHERE resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1'
  AND metric_name = 'Percentage CPU' AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 13:00+00';
RESET finops_usage.retry_max_delay;
SELECT (r->>'status') AS status,
       round(((lead((r->>'time')::numeric) OVER (ORDER BY (r->>'seq')::int) - (r->>'time')::numeric)))::int AS seconds_to_next
FROM json_array_elements((SELECT string_agg(line, E'\n') FROM emu.call('/_emulator/requests?format=json') AS line)::json) r
WHERE r->>'operation' = 'monitor.metrics' ORDER BY (r->>'seq')::int;

-- errors
SELECT emu.try($$SELECT count(*) FROM azure_metrics WHERE metric_name = 'Percentage CPU'$$);
SELECT emu.try($$SELECT count(*) FROM azure_metrics WHERE resource_type = 'vm'$$);
-- a region becomes a host name: only a region's name is one
SELECT emu.try($$SELECT count(*) FROM azure_metrics WHERE resource_id IN ('/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1', '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/api-1') AND region = 'attacker.example/'$$);
-- resources of two namespaces in one query
SELECT emu.try($$SELECT count(*) FROM azure_metrics WHERE resource_id IN ('/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1', '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-data/providers/Microsoft.Sql/servers/nw-sql/databases/orders')$$);
-- answers of unexpected shapes: rows where they make sense, never a crash
SELECT emu.reset();
SELECT emu.body('{"value": [], "x": [{"timeseries": [{"data": [{"timeStamp": "2026-06-14T10:00:00Z", "average": 1}]}]}]}');
SELECT emu.try($$SELECT count(*) FROM azure_metrics WHERE resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1'$$);
SELECT emu.body('{"value": [{"name": {"value": "Percentage CPU"}, "unit": "Percent", "timeseries": [{"metadatavalues": [{"value": "Hot", "name": {"value": "tier"}}], "data": [{"timeStamp": "2026-06-14T10:00:00Z", "average": 1.5}, {"timeStamp": "2026-06-14T11:00:00Z"}]}]}]}');
SELECT metric_name, ts, value, dimensions FROM azure_metrics
WHERE resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1'
  AND metric_name = 'Percentage CPU' AND ts >= '2026-06-14 00:00+00';
SELECT emu.try($$SELECT count(*) FROM azure_metrics WHERE resource_type = 'virtual_machine' AND period = 120$$);
SELECT emu.try($$SELECT count(*) FROM azure_metrics WHERE resource_type = 'virtual_machine' AND aggregation = 'Sum'$$);
SELECT emu.try($$SELECT count(*) FROM azure_metrics WHERE resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1' AND metric_name = 'Percentage GPU'$$);
