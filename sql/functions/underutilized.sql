--
-- underutilized_resources(): resources whose average and p95 CPU over the
-- last `days` days (before finops_usage.today = 2026-06-15) stay under the
-- threshold, priced at their cost scaled to 30 days.  The expected rows are
-- computed here from plain queries of the foreign tables.
--
\i test/sql/common.sql

-- ===================================================================
-- AWS: CloudWatch CPUUtilization, Cost Explorer per resource
-- ===================================================================
SELECT emu.reset();
SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 3) AS avg_cpu,
       round(p95_cpu::numeric, 3) AS p95_cpu, monthly_cost, currency
FROM finops_usage.underutilized_resources('aws_emu');
-- which calls it made
SELECT split_part(l, ' ', 1) AS operation, count(*) FROM emu.requests() AS l GROUP BY 1 ORDER BY 1;

-- the same, by hand (floats summed in another order: compared to 9 decimals): CPU per instance over [2026-06-01, 2026-06-15), cost of
-- those 14 days times 30/14
CREATE TEMP VIEW aws_expected AS
WITH cpu AS (
  SELECT resource_id, min(region) AS region, avg(value) AS a,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY value) AS p
  FROM aws_metrics
  WHERE resource_type = 'ec2' AND metric_name = 'CPUUtilization'
    AND ts >= '2026-06-01 00:00+00' AND ts < '2026-06-15 00:00+00'
  GROUP BY 1),
cost AS (
  SELECT resource_id, sum(unblended_cost) AS c, max(currency) AS cur
  FROM aws_cost_by_resource
  WHERE period_start >= '2026-06-01' AND period_start < '2026-06-15'
  GROUP BY 1)
SELECT cpu.resource_id, 'ec2'::text, cpu.region, round(cpu.a::numeric, 9) AS a, round(cpu.p::numeric, 9) AS p, round(cost.c * 30 / 14, 4), cost.cur
FROM cpu LEFT JOIN cost USING (resource_id)
WHERE cpu.a < 5 AND cpu.p < 5;
SELECT * FROM emu.same_rows('SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 9), round(p95_cpu::numeric, 9), monthly_cost, currency FROM finops_usage.underutilized_resources(''aws_emu'')',
                            'SELECT * FROM aws_expected');
-- all priced here (an rds instance below is not: no resource-level cost)
SELECT count(*) FILTER (WHERE monthly_cost IS NOT NULL) AS priced,
       count(*) FILTER (WHERE monthly_cost IS NULL) AS unpriced
FROM finops_usage.underutilized_resources('aws_emu');

-- a higher threshold finds more; a shorter window; another type
SELECT count(*) FROM finops_usage.underutilized_resources('aws_emu', cpu_threshold => 20);
SELECT resource_id, round(avg_cpu::numeric, 2) AS avg_cpu, monthly_cost
FROM finops_usage.underutilized_resources('aws_emu', 'ec2', 3) ORDER BY 1 LIMIT 3;
SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 3) AS avg_cpu,
       monthly_cost, currency
FROM finops_usage.underutilized_resources('aws_emu', 'rds', 7, 30);
-- a window longer than Cost Explorer's 14 days: its cost is the last 14 days'
SELECT * FROM emu.same_rows(
$$SELECT resource_id, monthly_cost FROM finops_usage.underutilized_resources('aws_emu', days => 30)
  WHERE monthly_cost IS NOT NULL$$,
$$SELECT resource_id, monthly_cost FROM finops_usage.underutilized_resources('aws_emu')
  WHERE monthly_cost IS NOT NULL AND resource_id IN
    (SELECT resource_id FROM finops_usage.underutilized_resources('aws_emu', days => 30))$$);

-- errors
SELECT * FROM finops_usage.underutilized_resources('aws_emu', 'lambda');
SELECT * FROM finops_usage.underutilized_resources('aws_emu', days => 0);
SELECT * FROM finops_usage.underutilized_resources('no_such_server');

-- no resource-level data (no aws_cost_by_resource table here): NULL, a NOTICE
CREATE SCHEMA nores;
CREATE SERVER aws_nores FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_nores
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01',
           secret_access_key 'emulator/Secret/Key/For/Tests+0123456789');
IMPORT FOREIGN SCHEMA aws LIMIT TO (aws_metrics) FROM SERVER aws_nores INTO nores;
SELECT count(*), count(monthly_cost) FROM finops_usage.underutilized_resources('aws_nores');

-- inside a materialized view
CREATE MATERIALIZED VIEW idle_aws AS
  SELECT * FROM finops_usage.underutilized_resources('aws_emu') WITH NO DATA;
REFRESH MATERIALIZED VIEW idle_aws;
SELECT * FROM emu.same_rows('SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 9), round(p95_cpu::numeric, 9), monthly_cost, currency FROM idle_aws', 'SELECT * FROM aws_expected');
DROP MATERIALIZED VIEW idle_aws;

-- ===================================================================
-- Azure: Azure Monitor 'Percentage CPU', Cost Management by ResourceId
-- ===================================================================
\i test/sql/azure.sql
SELECT emu.reset();
SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 3) AS avg_cpu,
       round(p95_cpu::numeric, 3) AS p95_cpu, monthly_cost, currency
FROM finops_usage.underutilized_resources('azure_emu');
SELECT split_part(l, ' ', 1) AS operation, count(*) FROM emu.requests() AS l GROUP BY 1 ORDER BY 1;
CREATE TEMP VIEW azure_expected AS
WITH cpu AS (
  SELECT resource_id, min(region) AS region, avg(value) AS a,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY value) AS p
  FROM azure_metrics
  WHERE resource_type = 'virtual_machine' AND metric_name = 'Percentage CPU'
    AND ts >= '2026-06-01 00:00+00' AND ts < '2026-06-15 00:00+00'
  GROUP BY 1),
cost AS (
  SELECT resource_id, sum(cost) AS c, max(currency) AS cur
  FROM azure_usage
  WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-15'
  GROUP BY 1)
SELECT cpu.resource_id, 'virtual_machine'::text, cpu.region, round(cpu.a::numeric, 9) AS a, round(cpu.p::numeric, 9) AS p,
       round(cost.c * 30 / 14, 4), cost.cur
FROM cpu LEFT JOIN cost ON cost.resource_id = lower(cpu.resource_id)
WHERE cpu.a < 5 AND cpu.p < 5;
SELECT * FROM emu.same_rows('SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 9), round(p95_cpu::numeric, 9), monthly_cost, currency FROM finops_usage.underutilized_resources(''azure_emu'')',
                            'SELECT * FROM azure_expected');

-- ===================================================================
-- GCP: Cloud Monitoring CPU (a fraction: times 100), priced from the
-- detailed billing export (resource_global_name ends with the instance id)
-- ===================================================================
\i test/sql/gcp.sql
CREATE SERVER gcp_res FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'gcp', endpoint :'emu', project_id 'northwind-prod',
           billing_table 'northwind-billing.billing_export.gcp_billing_export_resource_v1_01AB23_CD45EF_6789AB');
CREATE USER MAPPING FOR CURRENT_USER SERVER gcp_res OPTIONS (service_account_key :'gcp_key');
CREATE SCHEMA gres;
IMPORT FOREIGN SCHEMA gcp FROM SERVER gcp_res INTO gres;
SELECT emu.reset();
SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 3) AS avg_cpu,
       round(p95_cpu::numeric, 3) AS p95_cpu, monthly_cost, currency
FROM finops_usage.underutilized_resources('gcp_res');
-- one BigQuery job: BigQuery sums per resource
SELECT split_part(l, ' ', 1) AS operation, count(*) FROM emu.requests() AS l GROUP BY 1 ORDER BY 1;
-- the same, by hand: the instance's global name made from its labels,
-- the cost of the 14 days times 30/14
CREATE TEMP VIEW gcp_expected AS
WITH cpu AS (
  SELECT resource_id, min(resource_labels->>'project_id') AS project, min(resource_labels->>'zone') AS zone,
         avg(value) * 100 AS a, percentile_cont(0.95) WITHIN GROUP (ORDER BY value) * 100 AS p
  FROM gres.gcp_metrics
  WHERE resource_type = 'gce_instance' AND metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND ts >= '2026-06-01 00:00+00' AND ts < '2026-06-15 00:00+00'
  GROUP BY 1),
cost AS (
  SELECT resource_global_name, sum(net_cost) AS c, max(currency) AS cur
  FROM gres.gcp_cost
  WHERE usage_start_time >= '2026-06-01 00:00+00' AND usage_start_time < '2026-06-15 00:00+00'
  GROUP BY 1)
SELECT cpu.resource_id, 'gce_instance'::text, regexp_replace(cpu.zone, '-[a-z]$', ''),
       round(cpu.a::numeric, 9) AS a, round(cpu.p::numeric, 9) AS p, round(cost.c * 30 / 14, 4), cost.cur
FROM cpu LEFT JOIN cost
  ON cost.resource_global_name = format('//compute.googleapis.com/projects/%s/zones/%s/instances/%s',
                                        cpu.project, cpu.zone, cpu.resource_id)
WHERE cpu.a < 5 AND cpu.p < 5;
SELECT * FROM emu.same_rows('SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 9), round(p95_cpu::numeric, 9), monthly_cost, currency FROM finops_usage.underutilized_resources(''gcp_res'')',
                            'SELECT * FROM gcp_expected');
SELECT count(*) FILTER (WHERE monthly_cost IS NOT NULL) AS priced FROM gcp_expected e(i, t, r, a, p, monthly_cost);
-- and the generator's own net cost of the idle instance (batch-2)
SELECT round(split_part(l, E'\t', 3)::numeric * 30 / 14, 4) AS batch_2_monthly
FROM emu.gcp_cost('start=2026-06-01&end=2026-06-15&table=detailed&resource_name=batch-2') AS l;

-- the standard billing export has no resource names: no price, a NOTICE
SELECT emu.reset();
SELECT resource_id, resource_type, region, round(avg_cpu::numeric, 3) AS avg_cpu,
       round(p95_cpu::numeric, 3) AS p95_cpu, monthly_cost, currency
FROM finops_usage.underutilized_resources('gcp_emu');
SELECT split_part(l, ' ', 1) AS operation, count(*) FROM emu.requests() AS l GROUP BY 1 ORDER BY 1;
SET client_min_messages = warning;
SELECT * FROM emu.same_rows(
$$SELECT resource_id, round(avg_cpu::numeric, 9), round(p95_cpu::numeric, 9)
  FROM finops_usage.underutilized_resources('gcp_emu')$$,
$$SELECT resource_id, round((avg(value) * 100)::numeric, 9),
         round((percentile_cont(0.95) WITHIN GROUP (ORDER BY value) * 100)::numeric, 9)
  FROM gcp_metrics
  WHERE resource_type = 'gce_instance' AND metric_type = 'compute.googleapis.com/instance/cpu/utilization'
    AND ts >= '2026-06-01 00:00+00' AND ts < '2026-06-15 00:00+00'
  GROUP BY 1 HAVING avg(value) * 100 < 5 AND percentile_cont(0.95) WITHIN GROUP (ORDER BY value) * 100 < 5$$);
RESET client_min_messages;
-- what this file created goes: other files count the wrapper's tables
DROP SCHEMA gres CASCADE;
DROP SERVER gcp_res CASCADE;
