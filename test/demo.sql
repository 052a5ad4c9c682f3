-- Example FinOps queries over the emulator (see test/demo.sh)
\pset footer off
CREATE EXTENSION finops_usage;
CREATE SERVER aws_demo FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu', regions 'us-east-1,us-west-2,eu-west-1');
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

\echo '== Cost forecast for the rest of this month and the next (80 % interval)'
SELECT date_trunc('month', period_start)::date AS month, round(sum(mean_value), 2) AS forecast_usd,
       round(sum(lower_bound), 2) AS low, round(sum(upper_bound), 2) AS high
FROM aws_cost_forecast GROUP BY 1 ORDER BY 1;

\echo '== Forecast of this month and the next for the three costliest services (one request each)'
SELECT s.service, date_trunc('month', f.period_start)::date AS month, round(sum(f.mean_value), 2) AS forecast_usd
FROM (SELECT service FROM aws_cost_by_service
      WHERE period_start >= date_trunc('month', current_date - interval '1 month')::date
        AND period_start < date_trunc('month', current_date)::date
      GROUP BY service ORDER BY sum(unblended_cost) DESC LIMIT 3) s,
     LATERAL (SELECT * FROM aws_cost_forecast f WHERE f.service = s.service) f
GROUP BY 1, 2 ORDER BY 1, 2;

\echo '== Idle EC2 instances: average CPU under 5 % over the last 24 hours, all regions'
SELECT region, resource_id, round(avg(value)::numeric, 2) AS avg_cpu_percent,
       round(max(value)::numeric, 2) AS max_cpu_percent
FROM aws_metrics
WHERE resource_type = 'ec2' AND metric_name = 'CPUUtilization' AND ts >= now() - interval '24 hours'
GROUP BY 1, 2 HAVING avg(value) < 5 ORDER BY 3;

\echo '== Busiest Lambda functions yesterday (invocations)'
SELECT region, resource_id AS function, sum(value)::bigint AS invocations
FROM aws_metrics
WHERE resource_type = 'lambda' AND metric_name = 'Invocations' AND statistic = 'Sum' AND period = 3600
  AND ts >= current_date - 1 AND ts < current_date
GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5;

\echo '== CPU of an inventory of instances (their series only, no discovery)'
SELECT i.owner, i.instance_id, round(avg(m.value)::numeric, 2) AS avg_cpu_percent
FROM (VALUES ('checkout', 'i-0a1b2c3d4e5f60001'), ('search', 'i-0a1b2c3d4e5f60002'),
             ('reports', 'i-0a1b2c3d4e5f60003')) i(owner, instance_id)
JOIN aws_metrics m ON m.resource_id = i.instance_id
WHERE m.region = 'us-east-1' AND m.resource_type = 'ec2' AND m.metric_name = 'CPUUtilization'
  AND m.ts >= now() - interval '6 hours'
GROUP BY 1, 2 ORDER BY 1;

\echo '== Cost by service over the last three full months: one MONTHLY request (aggregate pushdown)'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT service, sum(unblended_cost)
FROM aws_cost_by_service
WHERE period_start >= date_trunc('month', current_date - interval '3 months')::date
  AND period_start < date_trunc('month', current_date)::date
GROUP BY service;

\echo '== Google Cloud: a server for the project, with the access token of the emulator'
CREATE SERVER gcp_demo FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'gcp', endpoint :'emu', project_id 'northwind-prod',
           billing_table 'northwind-billing.billing_export.gcp_billing_export_v1_01AB23_CD45EF_6789AB');
CREATE USER MAPPING FOR CURRENT_USER SERVER gcp_demo
  OPTIONS (access_token 'ya29.northwind-emulator-demo');
IMPORT FOREIGN SCHEMA gcp FROM SERVER gcp_demo INTO public;

\echo '== GCP net cost by service this month (credits included), computed inside BigQuery'
SELECT service, round(sum(cost), 2) AS cost_usd, round(sum(credits), 2) AS credits_usd,
       round(sum(net_cost), 2) AS net_usd
FROM gcp_cost
WHERE usage_start_time >= date_trunc('month', current_date)
GROUP BY service ORDER BY net_usd DESC;

\echo '== The BigQuery SQL it ran (every value a query parameter)'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT service, sum(net_cost) FROM gcp_cost
WHERE usage_start_time >= date_trunc('month', current_date) GROUP BY service;

\echo '== Idle GCE instances: average CPU under 5 % over the last 24 hours'
SELECT resource_labels->>'zone' AS zone, metric_labels->>'instance_name' AS instance,
       round(avg(value)::numeric * 100, 2) AS avg_cpu_percent
FROM gcp_metrics
WHERE resource_type = 'gce_instance' AND metric_type = 'compute.googleapis.com/instance/cpu/utilization'
GROUP BY 1, 2 HAVING avg(value) < 0.05 ORDER BY 3;

\echo '== Azure: a server for the subscription, the Entra ID application of the emulator'
CREATE SERVER azure_demo FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'azure', endpoint :'emu', subscription_id '5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61');
CREATE USER MAPPING FOR CURRENT_USER SERVER azure_demo
  OPTIONS (tenant_id '4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47', client_id 'b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63',
           client_secret 'northwind~Emulator.Secret-0123456789');
IMPORT FOREIGN SCHEMA azure FROM SERVER azure_demo INTO public;

\echo '== Azure cost by service and region this month, grouped by Cost Management (one call)'
SELECT service_name, resource_location, round(sum(cost), 2) AS cost, round(sum(cost_usd), 2) AS cost_usd
FROM azure_usage
WHERE usage_date >= date_trunc('month', current_date)::date
GROUP BY 1, 2 ORDER BY cost DESC LIMIT 8;

\echo '== Idle Azure VMs: every VM of the subscription, read 50 at a time with metrics:getBatch'
SELECT regexp_replace(resource_id, '.*/', '') AS vm, region, round(avg(value)::numeric, 2) AS avg_cpu_percent
FROM azure_metrics
WHERE resource_type = 'virtual_machine' AND metric_name = 'Percentage CPU'
GROUP BY 1, 2 HAVING avg(value) < 5 ORDER BY 3;

\echo '== The same cost read through an assumed role (STS AssumeRole, credentials cached)'
CREATE SERVER aws_demo_role FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_demo_role
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01',
           secret_access_key 'emulator/Secret/Key/For/Tests+0123456789',
           role_arn 'arn:aws:iam::111111111111:role/finops-reader');
CREATE FOREIGN TABLE role_cost_by_service (period_start date, service text, unblended_cost numeric)
  SERVER aws_demo_role OPTIONS (source 'aws_cost');
SELECT service, round(sum(unblended_cost), 2) AS cost_usd
FROM role_cost_by_service
WHERE period_start >= current_date - 7 AND period_start < current_date
GROUP BY 1 ORDER BY 2 DESC LIMIT 3;

\echo '== What the first query sent to Cost Explorer'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT period_start, service, unblended_cost
FROM aws_cost
WHERE period_start >= current_date - 7 AND period_start < current_date;

\echo '== A dashboard panel: top services of the last 7 days (Cost Explorer is asked)'
SELECT service, round(sum(unblended_cost), 2) AS cost_usd
FROM aws_cost_by_service
WHERE period_start >= current_date - 7 AND period_start < current_date
GROUP BY 1 ORDER BY 2 DESC LIMIT 3;

\echo '== The dashboard refreshed from a new connection: the result cache answers, no call is made'
\c
SELECT service, round(sum(unblended_cost), 2) AS cost_usd
FROM aws_cost_by_service
WHERE period_start >= current_date - 7 AND period_start < current_date
GROUP BY 1 ORDER BY 2 DESC LIMIT 3;
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT service, round(sum(unblended_cost), 2) AS cost_usd
FROM aws_cost_by_service
WHERE period_start >= current_date - 7 AND period_start < current_date
GROUP BY 1 ORDER BY 2 DESC LIMIT 3;

\echo '== FinOps functions. Are the credentials of each server working? (one free call each)'
SELECT server, provider, available, identity, detail FROM finops_usage.availability();

\echo '== Cost by service this month (cost_usage, one MONTHLY request)'
SELECT dimensions->>'service' AS service, round(cost, 2) AS cost, currency, estimated
FROM finops_usage.cost_usage('aws_demo', date_trunc('month', current_date)::date, current_date + 1,
                             'MONTHLY', '{service}')
ORDER BY cost DESC LIMIT 8;

\echo '== Top movers: the services whose cost changed most, last 7 days against the 7 before'
WITH d AS (
  SELECT period_start, dimensions->>'service' AS service, cost
  FROM finops_usage.cost_usage('aws_demo', current_date - 14, current_date, 'DAILY', '{service}'))
SELECT service,
       round(sum(cost) FILTER (WHERE period_start >= current_date - 7), 2) AS last_7_days,
       round(sum(cost) FILTER (WHERE period_start < current_date - 7), 2) AS previous_7_days,
       round(100 * (sum(cost) FILTER (WHERE period_start >= current_date - 7)
                    / nullif(sum(cost) FILTER (WHERE period_start < current_date - 7), 0) - 1), 1) AS change_pct
FROM d GROUP BY 1
ORDER BY abs(coalesce(sum(cost) FILTER (WHERE period_start >= current_date - 7), 0)
             - coalesce(sum(cost) FILTER (WHERE period_start < current_date - 7), 0)) DESC
LIMIT 5;

\echo '== The daily trend of the last 10 complete days (cost_analytics)'
SELECT day, round(cost, 2) AS cost, round(avg_7d, 2) AS avg_7d, change_pct, top_service
FROM finops_usage.cost_analytics('aws_demo', 10);

\echo '== Cost anomalies by service since the start of the year (cost_anomalies: median and MAD)'
SELECT day, dimension, round(cost, 2) AS cost, round(expected, 2) AS expected, round(score::numeric, 1) AS score
FROM finops_usage.cost_anomalies('aws_demo', date_trunc('year', current_date)::date, current_date)
LIMIT 6;

\echo '== The next 7 days, from a model fitted to the last 91 days (cost_forecast)'
SELECT day, round(cost, 2) AS cost, round(lower, 2) AS lower, round(upper, 2) AS upper, method
FROM finops_usage.cost_forecast('aws_demo', 7);

\echo '== Idle instances and VMs with their monthly cost (underutilized_resources)'
SELECT 'aws' AS cloud, resource_id, region, round(avg_cpu::numeric, 2) AS avg_cpu,
       round(p95_cpu::numeric, 2) AS p95_cpu, monthly_cost, currency
FROM finops_usage.underutilized_resources('aws_demo')
UNION ALL
SELECT 'azure', regexp_replace(resource_id, '.*/', ''), region, round(avg_cpu::numeric, 2),
       round(p95_cpu::numeric, 2), monthly_cost, currency
FROM finops_usage.underutilized_resources('azure_demo')
ORDER BY monthly_cost DESC NULLS LAST LIMIT 12;

\echo '== One FOCUS 1.2 query across the three clouds (focus_view)'
SELECT finops_usage.focus_view();
SELECT ProviderName, ServiceCategory, round(SUM(BilledCost), 2) AS BilledCost, BillingCurrency
FROM focus_costs
WHERE ChargePeriodStart >= date_trunc('month', current_date) AND ChargePeriodStart < current_date
GROUP BY ProviderName, ServiceCategory, BillingCurrency
ORDER BY ProviderName, 3 DESC;

\echo '== What the extension has spent, across connections (finops_usage.stats, list prices)'
SELECT server, provider, calls, pages, cache_hits, cache_misses, est_cost_usd
FROM finops_usage.stats ORDER BY server;
