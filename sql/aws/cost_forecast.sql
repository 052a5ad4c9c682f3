--
-- aws_cost_forecast: GetCostForecast with the prediction interval
--
\i test/sql/common.sql

-- default: DAILY from today (2026-06-15) through next month, 80 % interval
SELECT * FROM emu.pushdown($$
SELECT * FROM aws_cost_forecast$$);
SELECT period_start, period_end, granularity, metric, prediction_interval, currency,
       lower_bound <= mean_value AND mean_value <= upper_bound AS ordered
FROM aws_cost_forecast WHERE period_start < '2026-06-18';

-- MONTHLY, a dimension filter, another metric and interval: all in the request
SELECT * FROM emu.pushdown($$
SELECT * FROM aws_cost_forecast
WHERE granularity = 'MONTHLY' AND service = 'AWS Lambda' AND linked_account = '111111111111'
  AND metric = 'AMORTIZED_COST' AND prediction_interval = 95 AND period_start < '2026-09-01'$$);
SELECT period_start, period_end, service, linked_account, region, metric, prediction_interval
FROM aws_cost_forecast
WHERE granularity = 'MONTHLY' AND service = 'AWS Lambda' AND linked_account = '111111111111'
  AND metric = 'AMORTIZED_COST' AND prediction_interval = 95 AND period_start < '2026-09-01';

-- a wider interval gives wider bounds around the same mean
SELECT a.period_start, a.mean_value = b.mean_value AS same_mean,
       (b.upper_bound - b.lower_bound) > (a.upper_bound - a.lower_bound) AS wider
FROM aws_cost_forecast a JOIN aws_cost_forecast b USING (period_start)
WHERE a.prediction_interval = 80 AND b.prediction_interval = 99
  AND a.granularity = 'MONTHLY' AND b.granularity = 'MONTHLY'
  AND a.period_start < '2026-09-01' AND b.period_start < '2026-09-01'
ORDER BY 1;

-- the past has no forecast: no request
SELECT * FROM emu.pushdown($$
SELECT * FROM aws_cost_forecast WHERE period_end <= '2026-06-15'$$);

-- refused values
SELECT * FROM aws_cost_forecast WHERE granularity = 'HOURLY';
SELECT * FROM aws_cost_forecast WHERE metric = 'unblended';
SELECT * FROM aws_cost_forecast WHERE prediction_interval = 10;

-- a forecast row is the forecast for its filter: an IN list sends one
-- filtered request per value (per combination, across columns), each row
-- carrying its values
SELECT emu.reset();
SELECT service, linked_account, count(*) AS days, min(period_start), max(period_end)
FROM aws_cost_forecast
WHERE service IN ('AWS Lambda', 'Amazon DynamoDB') AND linked_account IN ('111111111111', '333333333333')
  AND period_start < '2026-06-18'
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT line FROM emu.requests() AS line ORDER BY 1;
-- each is the forecast of that value alone
SELECT * FROM emu.same_rows($$
SELECT period_start, mean_value FROM aws_cost_forecast
WHERE service IN ('AWS Lambda', 'Amazon DynamoDB') AND period_start < '2026-06-18' AND service = 'AWS Lambda'$$, $$
SELECT period_start, mean_value FROM aws_cost_forecast
WHERE service = 'AWS Lambda' AND period_start < '2026-06-18'$$);
-- without a filter the rows are the total, with the filter columns NULL
SELECT count(*) AS days, count(service) AS with_service FROM aws_cost_forecast WHERE period_start < '2026-06-18';
-- values the quals exclude send nothing
SELECT emu.reset();
SELECT count(*) FROM aws_cost_forecast WHERE service IN ('AWS Lambda') AND service = 'Amazon DynamoDB';
SELECT count(*) AS requests FROM emu.requests();
