--
-- Join pushdown (plan.c): an equality between a pushable column and another
-- relation's column becomes a parameterized foreign scan, which asks for
-- those keys only; a rescan whose values repeat fetches nothing again.
--
\i test/sql/common.sql
SET TimeZone = 'UTC';
CREATE OR REPLACE FUNCTION emu.resources(region text, type text) RETURNS SETOF text LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/resources?region=' || region || '&type=' || type) $$;

-- ===================================================================
-- aws_metrics joined with a VALUES list: GetMetricData for those series
-- only, no ListMetrics discovery
-- ===================================================================
SELECT * FROM emu.explain($$
SELECT i.id, m.ts, m.value
FROM (VALUES ('i-0a1b2c3d4e5f60001'), ('i-0a1b2c3d4e5f60002')) i(id)
JOIN aws_metrics m ON m.resource_id = i.id
WHERE m.resource_type = 'ec2' AND m.metric_name = 'CPUUtilization' AND m.period = 300
  AND m.ts >= '2026-06-14 00:00+00' AND m.ts < '2026-06-14 00:15+00'$$);
SELECT emu.reset();
CREATE TEMP TABLE joined AS
SELECT i.id, m.ts, m.value
FROM (VALUES ('i-0a1b2c3d4e5f60001'), ('i-0a1b2c3d4e5f60002')) i(id)
JOIN aws_metrics m ON m.resource_id = i.id
WHERE m.resource_type = 'ec2' AND m.metric_name = 'CPUUtilization' AND m.period = 300
  AND m.ts >= '2026-06-14 00:00+00' AND m.ts < '2026-06-14 00:15+00';
SELECT * FROM joined ORDER BY 1, 2;
SELECT line FROM emu.requests() AS line ORDER BY 1;
-- the same rows as naming the ids in the query
SELECT * FROM emu.same_rows($$TABLE joined$$, $$
SELECT resource_id, ts, value FROM aws_metrics
WHERE resource_id IN ('i-0a1b2c3d4e5f60001', 'i-0a1b2c3d4e5f60002')
  AND resource_type = 'ec2' AND metric_name = 'CPUUtilization' AND period = 300
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:15+00'$$);

-- a join on region or statistic: rows exist only for the values a query
-- asks for (without them, the server's regions and Average), so the
-- values are passed in; reading the defaults and joining them would lose
-- the others
SELECT r.region, count(*) AS points
FROM (VALUES ('us-west-2'), ('eu-west-1')) r(region)
JOIN aws_metrics m ON m.region = r.region
WHERE m.resource_type = 'lambda' AND m.metric_name = 'Invocations'
  AND m.ts >= '2026-06-14 00:00+00' AND m.ts < '2026-06-14 00:05+00'
GROUP BY 1 ORDER BY 1;
SELECT s.stat, count(*) AS points, min(m.value) <= max(m.value) AS ordered
FROM (VALUES ('Maximum'), ('p90')) s(stat)
JOIN aws_metrics m ON m.statistic = s.stat
WHERE m.resource_type = 'ec2' AND m.resource_id = 'i-0a1b2c3d4e5f60001' AND m.metric_name = 'CPUUtilization'
  AND m.ts >= '2026-06-14 00:00+00' AND m.ts < '2026-06-14 00:05+00'
GROUP BY 1 ORDER BY 1;

-- an inventory table: the same, one call per resource it lists
CREATE TEMP TABLE inventory AS
  SELECT r AS instance_id, 'team-' || (row_number() OVER ()) AS owner
  FROM emu.resources('us-east-1', 'ec2') r LIMIT 3;
ANALYZE inventory;
SELECT emu.reset();
SELECT * FROM emu.explain($$
SELECT inv.owner, avg(m.value) FROM inventory inv
JOIN aws_metrics m ON m.resource_id = inv.instance_id
WHERE m.resource_type = 'ec2' AND m.metric_name = 'CPUUtilization'
  AND m.ts >= '2026-06-14 00:00+00' AND m.ts < '2026-06-14 06:00+00'
GROUP BY 1$$, 'COSTS OFF');
SELECT inv.owner, count(*) AS points, round(avg(m.value)::numeric, 6) AS avg_cpu FROM inventory inv
JOIN aws_metrics m ON m.resource_id = inv.instance_id
WHERE m.resource_type = 'ec2' AND m.metric_name = 'CPUUtilization'
  AND m.ts >= '2026-06-14 00:00+00' AND m.ts < '2026-06-14 06:00+00'
GROUP BY 1 ORDER BY 1;
SELECT split_part(line, ' ', 1) AS operation, count(*) AS calls FROM emu.requests() AS line GROUP BY 1;

-- a join that supplies what the scan needs: without it, aws_metrics
-- refuses to list every metric of the account
SELECT count(*) FROM aws_metrics WHERE ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:05+00';
SELECT emu.reset();
SELECT v.type, v.id, count(*) AS points
FROM (VALUES ('rds', 'northwind-prod-db')) v(type, id)
JOIN aws_metrics m ON m.resource_type = v.type AND m.resource_id = v.id
WHERE m.ts >= '2026-06-14 00:00+00' AND m.ts < '2026-06-14 00:05+00'
GROUP BY 1, 2;
SELECT split_part(line, ' ', 1) AS operation FROM emu.requests() AS line;

-- ===================================================================
-- a forecast per service: LATERAL, or a plain join, sends one filtered
-- request per service, and each row carries its service
-- ===================================================================
SELECT emu.reset();
SELECT s.name, f.period_start, f.service, f.mean_value > 0 AS forecast
FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name),
     LATERAL (SELECT * FROM aws_cost_forecast f
              WHERE f.service = s.name AND f.period_start < '2026-06-17') f
ORDER BY 1, 2;
SELECT line FROM emu.requests() AS line ORDER BY 1;
-- a condition on service the forecast cannot push (<>) is a plain filter
-- of the rows the join's values ask for: the join's path is taken, not
-- refused with the table
SELECT s.name, count(*) AS days
FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name)
JOIN aws_cost_forecast f ON f.service = s.name
WHERE f.service <> 'AWS Lambda' AND f.period_start < '2026-06-17'
GROUP BY 1;
SELECT * FROM emu.same_rows($$
SELECT f.service, f.period_start, f.mean_value
FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name)
JOIN aws_cost_forecast f ON f.service = s.name
WHERE f.period_start < '2026-06-20'$$, $$
SELECT service, period_start, mean_value FROM aws_cost_forecast
WHERE service IN ('AWS Lambda', 'Amazon DynamoDB') AND period_start < '2026-06-20'$$);

-- ===================================================================
-- a narrow cost table joined on its dimension: one grouped request is
-- cheaper than one per key, and the planner says so; a LATERAL read per
-- key fixes the dimension (a Filter, no GroupBy).  The rows are the same.
-- ===================================================================
SELECT emu.reset();
SELECT * FROM emu.explain($$
SELECT s.name, c.period_start, c.unblended_cost
FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name)
JOIN aws_cost_by_service c ON c.service = s.name
WHERE c.period_start >= '2026-05-01' AND c.period_start < '2026-05-04'$$, 'COSTS OFF');
CREATE TEMP TABLE by_join AS
SELECT s.name, c.period_start, c.unblended_cost
FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name)
JOIN aws_cost_by_service c ON c.service = s.name
WHERE c.period_start >= '2026-05-01' AND c.period_start < '2026-05-04';
SELECT line FROM emu.requests() AS line;
SELECT emu.reset();
CREATE TEMP TABLE by_lateral AS
SELECT s.name, c.period_start, c.unblended_cost
FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name),
     LATERAL (SELECT * FROM aws_cost_by_service c WHERE c.service = s.name
              AND c.period_start >= '2026-05-01' AND c.period_start < '2026-05-04' OFFSET 0) c;
SELECT line FROM emu.requests() AS line ORDER BY 1;
SELECT * FROM emu.same_rows('TABLE by_join', 'TABLE by_lateral');

-- ===================================================================
-- rescans: a key that repeats is not fetched again (nor is one the
-- Memoize node remembers); a new key is
-- ===================================================================
SET enable_memoize = off;
SELECT emu.reset();
SELECT s.name, count(*) AS periods
FROM (VALUES (1, 'AWS Lambda'), (2, 'AWS Lambda'), (3, 'Amazon DynamoDB'), (4, 'Amazon DynamoDB'), (5, 'AWS Lambda')) s(k, name),
     LATERAL (SELECT * FROM aws_cost_forecast f
              WHERE f.service = s.name AND f.period_start < '2026-06-17') f
GROUP BY 1 ORDER BY 1;
SELECT line FROM emu.requests() AS line;
-- the billable-call cap counts every rescan of the scan
SET finops_usage.max_billable_calls = 1;
SELECT s.name, count(*) AS periods
FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name),
     LATERAL (SELECT * FROM aws_cost_forecast f
              WHERE f.service = s.name AND f.period_start < '2026-06-17') f
GROUP BY 1 ORDER BY 1;
RESET finops_usage.max_billable_calls;
RESET enable_memoize;

-- a join whose collation differs from the column's (the planner relabels
-- the column in its equivalence class) plans as any other
SET statement_timeout = '10s';
SELECT s.name, count(*) AS periods
FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name),
     LATERAL (SELECT * FROM aws_cost_forecast f
              WHERE f.service = s.name COLLATE "C" AND f.period_start < '2026-06-17') f
GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM (VALUES ('AWS Lambda'), ('Amazon DynamoDB')) s(name)
JOIN aws_cost_by_service c ON c.service = s.name COLLATE "C"
WHERE c.period_start = '2026-05-01';
RESET statement_timeout;
-- a join's value outside a closed set matches nothing, as in a hash join
SELECT g.granularity, count(c.period_start) AS periods
FROM (VALUES ('DAILY'), ('weekly')) g(granularity)
LEFT JOIN LATERAL (SELECT * FROM aws_cost c WHERE c.granularity = g.granularity
                   AND c.period_start >= '2026-05-01' AND c.period_start < '2026-05-03') c ON true
GROUP BY 1 ORDER BY 1;
-- numbers as well: a period CloudWatch does not take, an interval level
-- GetCostForecast does not
SELECT emu.reset();
SELECT p.period, count(m.ts) AS points
FROM (VALUES (300), (90)) p(period)
LEFT JOIN LATERAL (SELECT * FROM aws_metrics m WHERE m.period = p.period
                   AND m.resource_type = 'ec2' AND m.resource_id = 'i-0a1b2c3d4e5f60001'
                   AND m.metric_name = 'CPUUtilization'
                   AND m.ts >= '2026-06-14 00:00+00' AND m.ts < '2026-06-14 00:15+00') m ON true
GROUP BY 1 ORDER BY 1;
SELECT i.level, count(f.period_start) AS days
FROM (VALUES (95), (100)) i(level)
LEFT JOIN LATERAL (SELECT * FROM aws_cost_forecast f WHERE f.prediction_interval = i.level
                   AND f.period_start < '2026-06-18') f ON true
GROUP BY 1 ORDER BY 1;
SELECT split_part(line, ' ', 1) AS operation, count(*) AS calls FROM emu.requests() AS line GROUP BY 1 ORDER BY 1;
