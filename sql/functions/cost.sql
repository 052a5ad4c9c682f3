--
-- The cost functions over a server's foreign tables: cost_usage(),
-- cost_analytics(), cost_anomalies(), cost_forecast().  Expected numbers
-- come from the emulator's generator (emu.expect), not from the API code.
--
\i test/sql/common.sql
\i test/sql/azure.sql
\i test/sql/gcp.sql

-- the generator's daily cost by service, January to mid-June 2026
CREATE TEMP TABLE exp_daily AS
  SELECT f1::date AS day, f3 AS service, f4::numeric AS cost
  FROM emu.expect('start=2026-01-01&end=2026-06-15&granularity=DAILY&group=SERVICE&metric=UnblendedCost');
CREATE TEMP TABLE exp_total AS
  SELECT day, sum(cost) AS cost FROM exp_daily GROUP BY day;
SELECT count(*) > 1000 AS enough, count(DISTINCT day) AS days FROM exp_daily;

-- cost_usage: the same rows as the generator, both ways, daily and monthly
SELECT * FROM emu.same_rows(
  $$SELECT period_start, dimensions ->> 'service', cost FROM finops_usage.cost_usage('aws_emu', '2026-05-01', '2026-05-08', 'DAILY', '{service}')$$,
  $$SELECT day, service, cost FROM exp_daily WHERE day >= '2026-05-01' AND day < '2026-05-08'$$);
SELECT * FROM emu.same_rows(
  $$SELECT period_start, period_end, cost FROM finops_usage.cost_usage('aws_emu', '2026-01-01', '2026-04-01', 'monthly')$$,
  $$SELECT f1::date, f2::date, f3::numeric FROM emu.expect('start=2026-01-01&end=2026-04-01&granularity=MONTHLY')$$);
SELECT period_start, period_end, dimensions, currency, estimated
FROM finops_usage.cost_usage('aws_emu', '2026-05-30', '2026-06-02', 'DAILY', '{region}')
WHERE dimensions ->> 'region' = 'eu-west-1';
-- pushed down: one request, grouped by the dimension asked for
SELECT emu.reset();
SELECT count(*) FROM finops_usage.cost_usage('aws_emu', '2026-05-01', '2026-05-08', 'DAILY', '{linked_account}');
SELECT * FROM emu.requests();
-- Azure and Google Cloud: the same columns, days added up by the function
SELECT * FROM emu.same_rows(
  $$SELECT period_start, dimensions ->> 'service_name', cost FROM finops_usage.cost_usage('azure_emu', '2026-05-01', '2026-05-04', 'DAILY', '{service_name}')$$,
  $$SELECT usage_date, service_name, cost FROM azure_usage_by_service WHERE usage_date >= '2026-05-01' AND usage_date < '2026-05-04'$$);
SELECT count(*) AS months, count(cost) AS with_cost, min(currency) AS currency
FROM finops_usage.cost_usage('azure_emu', '2026-03-01', '2026-06-01', 'MONTHLY');
SELECT * FROM emu.same_rows(
  $$SELECT period_start, cost FROM finops_usage.cost_usage('gcp_emu', '2026-06-01', '2026-06-04')$$,
  $$SELECT (usage_start_time AT TIME ZONE 'UTC')::date, sum(net_cost) FROM gcp_cost
    WHERE usage_start_time >= '2026-06-01 00:00+00' AND usage_start_time < '2026-06-04 00:00+00' GROUP BY 1$$);
SELECT period_start, estimated FROM finops_usage.cost_usage('gcp_emu', '2026-05-31', '2026-06-02') ORDER BY 1;
-- bad arguments
SELECT emu.try($$SELECT * FROM finops_usage.cost_usage('aws_emu', '2026-05-01', '2026-05-08', 'WEEKLY')$$);
SELECT emu.try($$SELECT * FROM finops_usage.cost_usage('aws_emu', '2026-05-01', '2026-05-08', 'DAILY', '{colour}')$$);
SELECT emu.try($$SELECT * FROM finops_usage.cost_usage('aws_emu', '2026-05-08', '2026-05-01')$$);
SELECT emu.try($$SELECT * FROM finops_usage.cost_usage('no_such_server', '2026-05-01', '2026-05-08')$$);
CREATE SERVER aws_bare FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws');
SELECT emu.try($$SELECT * FROM finops_usage.cost_usage('aws_bare', '2026-05-01', '2026-05-08')$$);
DROP SERVER aws_bare;

-- cost_analytics: the last 30 complete days (today, 2026-06-15, excluded)
-- against the generator's totals, 7-day averages, changes and top service
CREATE TEMP TABLE exp_analytics AS
  SELECT day, cost, round(avg(cost) OVER w7, 4) AS avg_7d,
         round((cost - lag(cost) OVER w) * 100 / lag(cost) OVER w, 2) AS change_pct,
         (SELECT d.service FROM exp_daily d WHERE d.day = t.day ORDER BY d.cost DESC LIMIT 1) AS top_service
  FROM exp_total t
  WINDOW w AS (ORDER BY day), w7 AS (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW);
CREATE TEMP TABLE got_analytics AS SELECT * FROM finops_usage.cost_analytics('aws_emu', 30);
SELECT count(*) AS days, min(day), max(day) FROM got_analytics;
SELECT * FROM emu.same_rows('TABLE got_analytics',
  $$SELECT * FROM exp_analytics WHERE day >= '2026-05-16' AND day < '2026-06-15'$$);
SELECT emu.try($$SELECT * FROM finops_usage.cost_analytics('aws_emu', 0)$$);
SELECT emu.try($$SELECT * FROM finops_usage.cost_analytics('aws_emu', 366)$$);

-- cost_anomalies: February 2026 had a runaway crawler (S3 requests x40 and
-- DynamoDB writes x8, the 17th to the 19th): those six come first, and
-- little else is flagged
CREATE TEMP TABLE feb AS
  SELECT row_number() OVER () AS rank, * FROM finops_usage.cost_anomalies('aws_emu', '2026-02-01', '2026-03-01');
SELECT rank, day, dimension, cost > 2 * expected AS well_above FROM feb WHERE rank <= 6 ORDER BY rank;
SELECT count(*) <= 12 AS few_others FROM feb WHERE rank > 6;
-- the spikes' costs are the generator's
SELECT count(*) AS matching FROM feb f JOIN exp_daily e ON e.day = f.day AND e.service = f.dimension AND e.cost = f.cost
WHERE f.rank <= 6;
-- launch day (2025-11-28): m5.large x2.2 and load balancer capacity x3
SELECT day, dimension FROM finops_usage.cost_anomalies('aws_emu', '2025-11-01', '2025-12-01', 'usage_type') LIMIT 2;
-- a quiet month: no more than a few
SELECT count(*) <= 6 AS quiet FROM finops_usage.cost_anomalies('aws_emu', '2026-04-01', '2026-05-01');
-- a higher threshold keeps fewer
SELECT (SELECT count(*) FROM finops_usage.cost_anomalies('aws_emu', '2026-02-01', '2026-03-01', 'service', 10))
       < (SELECT count(*) FROM feb) AS fewer;
SELECT emu.try($$SELECT * FROM finops_usage.cost_anomalies('aws_emu', '2026-02-01', '2026-03-01', 'colour')$$);
-- the default dimension is the provider's service column (Azure's service_name)
SELECT count(*) > 0 AS found, bool_and(dimension IN (SELECT service_name FROM azure_usage_by_service
                                                     WHERE usage_date >= '2026-04-01' AND usage_date < '2026-06-01')) AS services
FROM finops_usage.cost_anomalies('azure_emu', '2026-05-01', '2026-06-01', threshold => 1.0);

-- cost_forecast: 30 days from today, inside its interval, on the level of
-- the last four weeks (the generator grows 10-60 % a year)
CREATE TEMP TABLE fc AS SELECT * FROM finops_usage.cost_forecast('aws_emu', 30);
SELECT count(*) AS days, min(day), max(day), bool_and(lower <= cost AND cost <= upper) AS inside,
       min(method) AS method
FROM fc;
SELECT abs((SELECT avg(cost) FROM fc WHERE day < '2026-07-13')
           / (SELECT avg(cost) FROM exp_total WHERE day >= '2026-05-18') - 1) < 0.15 AS on_level;
-- weekends cost less than weekdays in the forecast as in the data
SELECT (SELECT avg(cost) FROM fc WHERE extract(isodow FROM day) >= 6)
       < (SELECT avg(cost) FROM fc WHERE extract(isodow FROM day) < 6) AS weekends_lower,
       (SELECT avg(cost) FROM exp_total WHERE extract(isodow FROM day) >= 6 AND day >= '2026-03-16')
       < (SELECT avg(cost) FROM exp_total WHERE extract(isodow FROM day) < 6 AND day >= '2026-03-16') AS data_too;

-- the functions in a materialized view, refreshed
CREATE MATERIALIZED VIEW mv_analytics AS SELECT * FROM finops_usage.cost_analytics('aws_emu', 7);
REFRESH MATERIALIZED VIEW mv_analytics;
SELECT count(*) AS rows, count(top_service) AS with_top FROM mv_analytics;
DROP MATERIALIZED VIEW mv_analytics;
SELECT emu.reset();
