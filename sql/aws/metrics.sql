--
-- aws_metrics: CloudWatch GetMetricData (ListMetrics for discovery)
-- The emulator's clock is pinned: now = 2026-06-15 00:00 UTC.
--
\i test/sql/common.sql
SET TimeZone = 'UTC';

CREATE OR REPLACE FUNCTION emu.resources(region text, type text) RETURNS SETOF text LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/resources?region=' || region || '&type=' || type) $$;
-- the generator's own datapoints of one series
CREATE OR REPLACE FUNCTION emu.expect_metric(region text, namespace text, metric text, dims text,
                                  stat text, period int, t0 timestamptz, t1 timestamptz)
RETURNS TABLE (ts timestamptz, value float8) LANGUAGE sql AS $$
  SELECT to_timestamp(split_part(l, E'\t', 1)::float8), split_part(l, E'\t', 2)::float8
  FROM emu.call(format('/_emulator/expect/aws_metrics?region=%s&namespace=%s&metric=%s&%s&stat=%s&period=%s&start=%s&end=%s',
                       region, namespace, metric, dims, stat, period,
                       extract(epoch FROM t0)::bigint, extract(epoch FROM t1)::bigint)) AS l
$$;

-- a server that fans out over three regions
CREATE SERVER aws_regions FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu', regions 'us-east-1, us-west-2, eu-west-1');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_regions
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01', secret_access_key 'emulator/Secret/Key/For/Tests+0123456789');
CREATE SCHEMA regions;
IMPORT FOREIGN SCHEMA aws LIMIT TO (aws_metrics) FROM SERVER aws_regions INTO regions;

-- ===================================================================
-- pushdown: every column the SPEC lists
-- ===================================================================
-- resource_type + resource_id: the series are known, no discovery;
-- metric_name, statistic, period and ts go into the query
SELECT * FROM emu.pushdown($$
SELECT * FROM aws_metrics
WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001' AND metric_name = 'CPUUtilization'
  AND statistic IN ('Average', 'Maximum') AND period = 300
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00'$$);
SELECT region, resource_type, resource_id, namespace, metric_name, dimensions, statistic, period, ts, value, unit
FROM aws_metrics
WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001' AND metric_name = 'CPUUtilization'
  AND statistic = 'Maximum' AND period = 300
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:20+00'
ORDER BY ts;

-- region IN, resource_id IN, the type's default metrics
SELECT * FROM emu.pushdown($$
SELECT region, resource_id, metric_name FROM aws_metrics
WHERE region IN ('us-east-1', 'us-west-2') AND resource_type = 'lambda'
  AND resource_id IN ('image-resize', 'order-webhook')
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:05+00'$$);

-- resource_type without resource_id: ListMetrics per region finds the
-- per-resource series (not the aggregates), then GetMetricData
SELECT * FROM emu.pushdown($$
SELECT region, resource_id, metric_name FROM aws_metrics
WHERE resource_type = 'rds' AND region = 'us-west-2' AND metric_name IN ('CPUUtilization', 'ReadIOPS')
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:02+00'$$);

-- namespace alone: every series of the namespace, aggregates included
SELECT * FROM emu.pushdown($$
SELECT resource_type, resource_id, dimensions FROM aws_metrics
WHERE namespace = 'AWS/Lambda' AND metric_name = 'Invocations' AND region = 'eu-west-1'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:01+00'$$);
SELECT resource_type, resource_id, dimensions, count(*) FROM aws_metrics
WHERE namespace = 'AWS/Lambda' AND metric_name = 'Invocations' AND region = 'eu-west-1'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:03+00'
GROUP BY 1, 2, 3 ORDER BY 2 NULLS FIRST;

-- namespace IN and metric_name alone
SELECT * FROM emu.pushdown($$
SELECT namespace, metric_name FROM aws_metrics
WHERE namespace IN ('AWS/DynamoDB', 'AWS/ELB') AND region = 'eu-west-1'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:01+00'$$);
SELECT * FROM emu.pushdown($$
SELECT namespace, dimensions FROM aws_metrics
WHERE metric_name = 'HealthyHostCount' AND region = 'us-west-2'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:01+00'$$);
-- several metric names and no namespace: a listing per name, never the
-- account's every metric
SELECT * FROM emu.pushdown($$
SELECT namespace, metric_name, count(*) FROM aws_metrics
WHERE metric_name IN ('HealthyHostCount', 'Throttles') AND region = 'us-west-2'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:01+00'
GROUP BY 1, 2 ORDER BY 1, 2$$);

-- S3 storage metrics: StorageType dimension and a daily period
SELECT * FROM emu.pushdown($$
SELECT resource_id, metric_name, dimensions, ts, value FROM aws_metrics
WHERE resource_type = 's3' AND resource_id = 'northwind-data-lake'
  AND ts >= '2026-06-10 00:00+00' AND ts < '2026-06-13 00:00+00'$$);
SELECT metric_name, dimensions, period, ts, value, unit FROM aws_metrics
WHERE resource_type = 's3' AND resource_id = 'northwind-data-lake'
  AND ts >= '2026-06-10 00:00+00' AND ts < '2026-06-13 00:00+00'
ORDER BY metric_name, ts;

-- default window (the last 24 hours before the pinned now) and period
SELECT * FROM emu.explain($$
SELECT * FROM aws_metrics WHERE resource_type = 'alb' AND resource_id = 'app/web-prod/50dc6c495c0c9188'$$);
-- the default period follows CloudWatch's resolution for the data's age
SELECT * FROM emu.explain($$
SELECT * FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND ts >= '2026-04-01 00:00+00' AND ts < '2026-04-03 00:00+00'$$);
SELECT * FROM emu.explain($$
SELECT * FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND ts >= '2026-02-01 00:00+00' AND ts < '2026-02-02 00:00+00'$$);

-- ===================================================================
-- values equal the generator's
-- ===================================================================
SELECT * FROM emu.same_rows($$
SELECT ts, value FROM aws_metrics
WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60007' AND metric_name = 'NetworkIn'
  AND statistic = 'Sum' AND period = 300 AND ts >= '2026-06-13 00:00+00' AND ts < '2026-06-14 00:00+00'$$, $$
SELECT * FROM emu.expect_metric('us-east-1', 'AWS/EC2', 'NetworkIn', 'dim.InstanceId=i-0a1b2c3d4e5f60007',
                                'Sum', 300, '2026-06-13 00:00+00', '2026-06-14 00:00+00')$$);
SELECT * FROM emu.same_rows($$
SELECT ts, value FROM aws_metrics
WHERE resource_type = 'rds' AND resource_id = 'northwind-prod-db' AND metric_name = 'DatabaseConnections'
  AND statistic = 'p99' AND period = 3600 AND ts >= '2026-06-01 00:00+00' AND ts < '2026-06-08 00:00+00'$$, $$
SELECT * FROM emu.expect_metric('us-east-1', 'AWS/RDS', 'DatabaseConnections',
                                'dim.DBInstanceIdentifier=northwind-prod-db', 'p99', 3600,
                                '2026-06-01 00:00+00', '2026-06-08 00:00+00')$$);

-- ===================================================================
-- a period longer than a day: whole buckets inside the window, counted
-- from Monday 1970-01-05 (weeks start on Mondays), each value over
-- exactly its bucket
-- ===================================================================
SELECT emu.reset();
CREATE TEMP TABLE weekly AS
  SELECT ts, value FROM aws_metrics
  WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001' AND metric_name = 'CPUUtilization'
    AND period = 604800 AND ts >= '2026-05-01 00:00+00' AND ts < '2026-06-01 00:00+00';
SELECT ts, to_char(ts, 'Dy') AS day, round(value::numeric, 6) AS value FROM weekly ORDER BY ts;
SELECT line FROM emu.requests() AS line;
-- each value is the generator's for exactly its week
SELECT w.ts, e.value = w.value AS equal
FROM weekly w
LEFT JOIN LATERAL emu.expect_metric('us-east-1', 'AWS/EC2', 'CPUUtilization', 'dim.InstanceId=i-0a1b2c3d4e5f60001',
                                    'Average', 604800, w.ts, w.ts + interval '7 days') e ON e.ts = w.ts
ORDER BY 1;
-- two days: no bucket cut at the end of the window
SELECT ts, round(value::numeric, 6) AS value,
       value = (SELECT e.value FROM emu.expect_metric('us-east-1', 'AWS/EC2', 'CPUUtilization',
                  'dim.InstanceId=i-0a1b2c3d4e5f60001', 'Average', 172800, m.ts, m.ts + interval '2 days') e) AS equal
FROM aws_metrics m
WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001' AND metric_name = 'CPUUtilization'
  AND period = 172800 AND ts >= '2026-05-01 00:00+00' AND ts < '2026-05-10 00:00+00'
ORDER BY ts;

-- ===================================================================
-- batching: 1,200 metric queries take 3 GetMetricData calls
-- ===================================================================
SELECT emu.reset();
SELECT count(*) AS points, count(DISTINCT (resource_id, metric_name, statistic)) AS series_with_points
FROM aws_metrics
WHERE region = 'us-east-1' AND resource_type = 'ec2'
  AND resource_id = ANY (ARRAY(SELECT r FROM emu.resources('us-east-1', 'ec2') r LIMIT 60))
  AND statistic IN ('Average', 'Minimum', 'Maximum', 'Sum') AND period = 300
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00';
SELECT split_part(line, ' ', 1) AS operation, split_part(line, ' ', 2) AS region,
       (length(line) - length(replace(line, '"Id":', ''))) / 5 AS queries
FROM emu.requests() AS line ORDER BY queries DESC;

-- ===================================================================
-- a 90-day hourly query over 60 series: 129,600 datapoints, more than one
-- call returns; calls are sized so that none needs a second, re-billed page
-- ===================================================================
SELECT emu.reset();
CREATE TEMP TABLE ids AS SELECT r AS id FROM emu.resources('us-east-1', 'ec2') r LIMIT 60;
CREATE TEMP TABLE hourly AS
  SELECT resource_id, ts, value FROM aws_metrics
  WHERE region = 'us-east-1' AND resource_type = 'ec2' AND metric_name = 'CPUUtilization'
    AND resource_id = ANY (ARRAY(SELECT id FROM ids)) AND period = 3600
    AND ts >= '2026-03-17 00:00+00' AND ts < '2026-06-15 00:00+00';
SELECT count(*) AS points, count(DISTINCT resource_id) AS series FROM hourly;
SELECT count(*) AS requests,
       count(*) FILTER (WHERE line LIKE '%"NextToken":"<token>"%') AS pages_after_the_first,
       sum((length(line) - length(replace(line, '"Id":', ''))) / 5) AS metric_queries
FROM emu.requests() AS line;
-- every point the generator has, and nothing else
SELECT sum((SELECT count(*) FROM emu.expect_metric('us-east-1', 'AWS/EC2', 'CPUUtilization',
                                 'dim.InstanceId=' || id, 'Average', 3600,
                                 '2026-03-17 00:00+00', '2026-06-15 00:00+00'))) AS expected_points
FROM ids;

-- NextToken: the identical request plus the token, until there is none
-- (emu.body queues a response body)
SELECT emu.reset();
SELECT emu.body('{"MetricDataResults":[{"Id":"m0","Label":"CPUUtilization","Timestamps":[1781395200,1781395260],"Values":[1.5,2.5],"StatusCode":"PartialData"}],"NextToken":"tok\"en-1","Messages":[]}');
SELECT emu.body('{"MetricDataResults":[{"Id":"m0","Label":"CPUUtilization","Timestamps":[1781395320],"Values":[3.5],"StatusCode":"Complete"}],"Messages":[]}');
SELECT ts, value FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:10+00'
ORDER BY ts;
SELECT right(line::json->>'body', 60) AS end_of_body
FROM (SELECT json_array_elements(string_agg(l, E'\n')::json)::text AS line
      FROM emu.call('/_emulator/requests?format=json') AS l) r;

-- ===================================================================
-- the window and the period
-- ===================================================================
-- ts = and <= ask for whole buckets, not one second of the last
SELECT * FROM emu.pushdown($$
SELECT ts, statistic, value FROM aws_metrics WHERE resource_type = 'rds' AND resource_id = 'northwind-prod-db'
  AND metric_name = 'CPUUtilization' AND statistic = 'SampleCount' AND period = 300
  AND ts = '2026-06-14 00:05+00'$$);
SELECT a.value = b.value AS same_bucket
FROM aws_metrics a, aws_metrics b
WHERE a.resource_type = 'rds' AND a.resource_id = 'northwind-prod-db' AND a.metric_name = 'CPUUtilization'
  AND a.statistic = 'Sum' AND a.period = 300 AND a.ts = '2026-06-14 00:05+00'
  AND b.resource_type = 'rds' AND b.resource_id = 'northwind-prod-db' AND b.metric_name = 'CPUUtilization'
  AND b.statistic = 'Sum' AND b.period = 300 AND b.ts >= '2026-06-14 00:00+00' AND b.ts < '2026-06-14 01:00+00'
  AND b.ts = '2026-06-14 00:05+00';
-- periods of any integer type, IN with one value, a bigint parameter
PREPARE per(bigint) AS
  SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
    AND metric_name = 'CPUUtilization' AND period = $1
    AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00';
EXECUTE per(300);
DEALLOCATE per;
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND period IN (600, 600::bigint)
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND period IN (300, 3600)
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND period >= 300;
-- a local condition that only mentions period is fine once period is pushed
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'NetworkIn' AND statistic = 'Sum' AND period = 300 AND value / period > 0
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'NetworkIn' AND period = -60;
-- empty and infinite windows send nothing
SELECT emu.reset();
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND ts > 'infinity';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND ts < '-infinity';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND ts > '2026-06-14 23:59:59+00' AND ts < '2026-06-14 23:59:59.5+00' AND period = 60;
SELECT count(*) AS requests FROM emu.requests();
-- a far-future date bounds nothing it should not
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND ts < '300000-01-01'::date;
-- high resolution periods for the last three hours only
SELECT * FROM emu.explain($$
SELECT * FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND period = 10 AND ts >= '2026-06-14 23:00+00'$$);
-- discovery reaches only series with recent data: EXPLAIN says so
SELECT * FROM emu.explain($$
SELECT * FROM aws_metrics WHERE resource_type = 'ec2' AND region = 'us-west-2'
  AND ts >= '2026-03-01 00:00+00' AND ts < '2026-03-02 00:00+00'$$);
-- a region is a name, never a host
SELECT * FROM aws_metrics WHERE resource_type = 'ec2' AND region = 'localhost:47111#';
ALTER SERVER aws_regions OPTIONS (SET regions 'us-east-1, evil.example.com/x');
ALTER SERVER aws_regions OPTIONS (SET regions 'us-east-1 eu-west-1');
ALTER SERVER aws_regions OPTIONS (ADD region 'us-east-1,eu-west-1');

-- ===================================================================
-- regions: the server's list, fetched concurrently; an error names its region
-- ===================================================================
SELECT emu.reset();
SELECT region, count(DISTINCT resource_id) AS functions, count(*) AS points
FROM regions.aws_metrics
WHERE resource_type = 'lambda' AND metric_name = 'Invocations' AND statistic = 'Sum'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:10+00'
GROUP BY region ORDER BY region;
SELECT split_part(line, ' ', 1) AS operation, split_part(line, ' ', 2) AS region, count(*)
FROM emu.requests() AS line GROUP BY 1, 2 ORDER BY 1, 2;
SELECT emu.fault('{"kind": "error", "region": "eu-west-1", "status": 400, "code": "AccessDeniedException", "message": "User is not authorized to perform: cloudwatch:ListMetrics"}');
SELECT region, count(*) FROM regions.aws_metrics
WHERE resource_type = 'lambda' AND metric_name = 'Invocations'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:10+00'
GROUP BY region;
-- throttling is retried per region
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "region": "us-west-2", "count": 2}');
SELECT count(*) > 0 AS rows FROM regions.aws_metrics
WHERE resource_type = 'dynamodb' AND metric_name = 'ConsumedReadCapacityUnits'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:10+00';
SELECT line FROM emu.requests() AS line WHERE line LIKE '%fault%';

-- ===================================================================
-- concurrency: 16 independent calls are in flight together
-- ===================================================================
CREATE OR REPLACE FUNCTION emu.max_in_flight() RETURNS int LANGUAGE sql AS
  $$ SELECT (string_agg(l, '')::json->>'max_in_flight')::int FROM emu.call('/_emulator/stats') l $$;
\set sixteen '''{us-east-1,us-east-2,us-west-1,us-west-2,eu-west-1,eu-west-2,eu-west-3,eu-central-1,eu-north-1,ap-south-1,ap-southeast-1,ap-southeast-2,ap-northeast-1,ap-northeast-2,ca-central-1,sa-east-1}'''
SELECT emu.reset();
SELECT emu.config('{"latency_ms": 300}');
SELECT count(*) FROM aws_metrics
WHERE region = ANY (:sixteen::text[]) AND resource_type = 'ec2'
  AND resource_id = 'i-0a1b2c3d4e5f60001' AND metric_name = 'CPUUtilization'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:10+00';
SELECT count(*) AS requests, emu.max_in_flight() BETWEEN 8 AND 8 AS eight_at_once
FROM emu.requests();
SELECT emu.reset();
SELECT emu.config('{"latency_ms": 300}');
SET finops_usage.max_concurrency = 16;
SELECT count(*) FROM aws_metrics
WHERE region = ANY (:sixteen::text[]) AND resource_type = 'ec2'
  AND resource_id = 'i-0a1b2c3d4e5f60001' AND metric_name = 'CPUUtilization'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:10+00';
SELECT emu.max_in_flight() AS max_in_flight;
RESET finops_usage.max_concurrency;
SELECT emu.reset();

-- ===================================================================
-- refused queries
-- ===================================================================
SELECT * FROM aws_metrics WHERE region = 'us-east-1';
SELECT * FROM aws_metrics WHERE resource_type = 'ecs';
SELECT * FROM aws_metrics WHERE resource_type = 'ec2' AND statistic = 'Mean; DROP';
SELECT * FROM aws_metrics WHERE resource_type = 'ec2' AND period = 90;
SELECT * FROM aws_metrics WHERE resource_type = 'ec2' AND period = 60
  AND ts >= '2026-04-01 00:00+00' AND ts < '2026-04-02 00:00+00';
