-- Example FinOps queries over the emulator (see test/demo.sh)
\pset footer off
CREATE EXTENSION finops_usage;
CREATE SERVER aws_demo FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_demo
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01',
           secret_access_key 'emulator/Secret/Key/For/Tests+0123456789');
IMPORT FOREIGN SCHEMA aws FROM SERVER aws_demo INTO public;

\echo
\echo '== Daily cost by service, last 7 days'
SELECT period_start AS day, service, round(unblended_cost, 2) AS cost_usd
FROM aws_cost
WHERE period_start >= current_date - 7 AND period_start < current_date
ORDER BY day, cost_usd DESC;

\echo '== Cost by service, last full month'
SELECT service, round(sum(unblended_cost), 2) AS cost_usd
FROM aws_cost_by_service
WHERE granularity = 'MONTHLY'
  AND period_start = date_trunc('month', current_date - interval '1 month')::date
GROUP BY service ORDER BY 2 DESC;

\echo '== Monthly total, last 12 months'
SELECT period_start AS month, round(sum(unblended_cost), 2) AS cost_usd,
       bool_or(estimated) AS estimated
FROM aws_cost
WHERE granularity = 'MONTHLY'
GROUP BY 1 ORDER BY 1;

\echo '== Production cost by team this month (tag "team", account 111111111111)'
SELECT coalesce(tag_value, '(untagged)') AS team, round(sum(unblended_cost), 2) AS cost_usd
FROM aws_cost
WHERE tag_key = 'team' AND linked_account = '111111111111'
  AND period_start >= date_trunc('month', current_date)::date
GROUP BY 1 ORDER BY 2 DESC;

\echo '== What the first query sent to Cost Explorer'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT period_start, service, unblended_cost
FROM aws_cost
WHERE period_start >= current_date - 7 AND period_start < current_date;
