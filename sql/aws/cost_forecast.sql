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
