--
-- Qual recognition (quals.c): operands in either order, and values
-- outside a column's closed set refused before anything is sent.
--
\i test/sql/common.sql

-- ===================================================================
-- a constant on the left is commuted: every operator, with the rows it
-- must give (a wrong commutation widens or empties the window)
-- ===================================================================
SELECT emu.reset();
SELECT count(*) AS "< (2 days)" FROM aws_cost
WHERE '2026-05-01' < period_start AND period_start < '2026-05-04';
SELECT count(*) AS "<= (3 days)" FROM aws_cost
WHERE '2026-05-01' <= period_start AND period_start < '2026-05-04';
SELECT count(*) AS "> (3 days)" FROM aws_cost
WHERE '2026-05-04' > period_start AND period_start >= '2026-05-01';
SELECT count(*) AS ">= (4 days)" FROM aws_cost
WHERE '2026-05-04' >= period_start AND period_start >= '2026-05-01';
SELECT count(*) AS "= (1 day)" FROM aws_cost WHERE '2026-05-02' = period_start;
-- the windows sent, in the same order
SELECT line FROM emu.requests() AS line;
-- and the same rows as the operands the usual way round
SELECT * FROM emu.same_rows(
  $$SELECT period_start, unblended_cost FROM aws_cost WHERE '2026-05-01' < period_start AND '2026-05-05' >= period_start$$,
  $$SELECT period_start, unblended_cost FROM aws_cost WHERE period_start > '2026-05-01' AND period_start <= '2026-05-05'$$);
-- a commuted text comparison is a filter like any other
SELECT * FROM emu.pushdown($$
SELECT service FROM aws_cost WHERE 'AWS Lambda' = service AND period_start = '2026-05-01'$$);

-- ===================================================================
-- closed sets: a value outside is an ERROR naming the valid ones, with
-- the closest as a hint, and nothing is sent
-- ===================================================================
SELECT emu.reset();
SELECT count(*) FROM aws_cost WHERE granularity = 'monthly';
SELECT count(*) FROM aws_cost WHERE granularity IN ('DAILY', 'WEEKLY');
SELECT count(*) FROM aws_cost WHERE granularity <> 'daily';
SELECT count(*) FROM aws_cost WHERE granularity NOT IN ('Monthly');
SELECT count(*) FROM aws_cost_forecast WHERE metric = 'unblended_cost';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND statistic = 'average';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'EC2';
SELECT count(*) FROM aws_metrics WHERE resource_type IN ('rds', 'lamda');
-- numbers too: the periods CloudWatch takes, the forecast's interval levels,
-- and GetCostForecast's metrics (usage metrics belong to GetUsageForecast)
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND period IN (300, 90);
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND period = 99999999999;
SELECT count(*) FROM aws_cost_forecast WHERE prediction_interval = 50;
SELECT count(*) FROM aws_cost_forecast WHERE metric = 'USAGE_QUANTITY';
-- a value from a parameter is checked when it is bound
PREPARE by_granularity(text) AS SELECT count(*) FROM aws_cost WHERE granularity = $1;
EXECUTE by_granularity('Daily');
DEALLOCATE by_granularity;
SELECT count(*) AS requests_sent FROM emu.requests();
-- the forms of extended statistics are accepted, other text is not (the
-- emulator computes percentiles only: tm90, TM(10%:90%), IQM... pass the
-- check but are not asked of it)
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND statistic = 'p99x';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND statistic = 'TM(10%:90%' ;
SELECT count(*) AS p99_points FROM aws_metrics
WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001' AND metric_name = 'CPUUtilization'
  AND statistic IN ('p99', 'p99.9', 'p50')
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:05+00';
-- a valid value gives rows, as before
SELECT count(*) > 0 AS has_rows FROM aws_cost WHERE granularity = 'MONTHLY' AND period_start >= '2026-01-01';

-- ===================================================================
-- a column whose rows exist per value asked for cannot be filtered with
-- what the API does not take: it would keep the default rows or none
-- ===================================================================
SELECT emu.reset();
SELECT count(*) FROM aws_cost_forecast WHERE metric IN ('AMORTIZED_COST', 'BLENDED_COST');
SELECT count(*) FROM aws_cost_forecast WHERE service <> 'AWS Lambda';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND statistic <> 'Average';
SELECT count(*) FROM aws_metrics WHERE resource_type = 'ec2' AND period > 60;
SELECT count(*) FROM aws_cost WHERE granularity > 'DAILY';
SELECT count(*) AS requests_sent FROM emu.requests();
-- with a pushed condition as well, the others filter those rows
SELECT count(*) FROM aws_cost_forecast
WHERE service = 'AWS Lambda' AND service <> 'Amazon DynamoDB' AND period_start < '2026-06-17';
-- two "=" that disagree leave no row, and send nothing
SELECT emu.reset();
SELECT count(*) FROM aws_cost_forecast WHERE metric = 'AMORTIZED_COST' AND metric = 'BLENDED_COST';
SELECT count(*) FROM aws_cost WHERE tag_key = 'team' AND tag_key = 'env' AND period_start = '2026-05-01';
SELECT count(*) AS requests_sent FROM emu.requests();

-- tag_value = '' is rechecked: Cost Explorer's "" is untagged cost, a
-- NULL tag_value here, which = '' does not match
SELECT count(*) FROM aws_cost WHERE tag_key = 'team' AND tag_value = '' AND period_start = '2026-05-01';
SELECT count(*) FROM aws_cost WHERE tag_key = 'team' AND tag_value IS NULL AND period_start = '2026-05-01';
