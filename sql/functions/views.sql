--
-- metrics_view(): one view over the metrics tables of every cloud; its
-- conditions still reach each provider's request.
--
\i test/sql/common.sql
\i test/sql/azure.sql
\i test/sql/gcp.sql
SELECT finops_usage.metrics_view('all_metrics');
-- each cloud's CPU of one resource, through the one view
SELECT provider, metric_name, count(*) AS points, round(avg(value)::numeric, 4) > 0 AS has_values
FROM all_metrics
WHERE server IN ('aws_emu', 'azure_emu', 'gcp_emu')
  AND ((provider = 'aws' AND resource_type = 'ec2' AND metric_name = 'CPUUtilization' AND region = 'us-east-1')
    OR (provider = 'azure' AND resource_type = 'virtual_machine' AND metric_name = 'Percentage CPU'
        AND resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1')
    OR (provider = 'gcp' AND resource_type = 'gce_instance' AND metric_name = 'compute.googleapis.com/instance/cpu/utilization'))
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00'
GROUP BY 1, 2 ORDER BY 1;
-- a condition on one provider scans only its table, with the condition pushed
SELECT emu.reset();
SELECT count(*) > 0 AS some FROM all_metrics
WHERE provider = 'azure' AND server = 'azure_emu' AND resource_type = 'virtual_machine' AND metric_name = 'Percentage CPU'
  AND resource_id = '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00';
SELECT regexp_replace(l, ' (api-version|timespan)=.*', '') AS request FROM emu.requests() AS l
WHERE l NOT LIKE '%token%' ORDER BY 1;
-- the same rows as the provider's own table
SELECT * FROM emu.same_rows(
  $$SELECT resource_id, ts, value FROM all_metrics WHERE provider = 'aws' AND server = 'aws_emu' AND resource_type = 'ec2'
      AND metric_name = 'CPUUtilization' AND region = 'us-east-1'
      AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:10+00'$$,
  $$SELECT resource_id, ts, value FROM aws_metrics WHERE resource_type = 'ec2'
      AND metric_name = 'CPUUtilization' AND region = 'us-east-1'
      AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:10+00'$$);
-- GCP's region is the zone its resource labels give
SELECT count(*) > 0 AS some, bool_and(region = resource_labels ->> 'zone') AS zone_is_region
FROM all_metrics a JOIN gcp_metrics g USING (resource_id, ts)
WHERE a.provider = 'gcp' AND a.resource_type = 'gce_instance' AND g.resource_type = 'gce_instance'
  AND a.metric_name = 'compute.googleapis.com/instance/cpu/utilization'
  AND g.metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND a.ts >= '2026-06-14 00:00+00' AND a.ts < '2026-06-14 00:10+00'
  AND g.ts >= '2026-06-14 00:00+00' AND g.ts < '2026-06-14 00:10+00';
-- a schema-qualified name; without any metrics table, an error
CREATE SCHEMA views_test;
SELECT finops_usage.metrics_view('views_test.m');
SELECT (length(definition) - length(replace(definition, 'UNION ALL', ''))) / 9 + 1 >= 3 AS three_clouds
FROM pg_views WHERE schemaname = 'views_test' AND viewname = 'm';
DROP SCHEMA views_test CASCADE;
DROP VIEW all_metrics;
BEGIN;
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT ftrelid::regclass FROM pg_foreign_table, unnest(ftoptions) AS o
           WHERE o LIKE 'source=%\_metrics' LOOP
    EXECUTE format('DROP FOREIGN TABLE %s', t);
  END LOOP;
END $$;
SELECT finops_usage.metrics_view();
ROLLBACK;
SELECT emu.reset();
