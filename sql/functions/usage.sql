--
-- resource_usage() and usage_summary(): metrics of a resource, and a
-- window's cost with its CPU, completeness and confidence.  Expected
-- numbers come from the emulator's generator or from plain queries of
-- the foreign tables, not from the functions' SQL.
--
\i test/sql/common.sql
\i test/sql/azure.sql

-- resource_usage: an EC2 instance's default metrics over a day, as the
-- table gives them
CREATE TEMP TABLE vm AS
  SELECT resource_id FROM aws_metrics
  WHERE resource_type = 'ec2' AND metric_name = 'CPUUtilization' AND region = 'us-east-1'
    AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00'
  ORDER BY 1 LIMIT 1;
SELECT count(*) AS instances FROM vm;
SELECT metric_name, unit, points FROM finops_usage.resource_usage('aws_emu', 'ec2', (SELECT resource_id FROM vm),
                                                                  '2026-06-14 00:00+00', '2026-06-15 00:00+00');
SELECT * FROM emu.same_rows(
  $$SELECT metric_name, unit, points, round(avg::numeric, 6), round(min::numeric, 6), round(max::numeric, 6), round(p95::numeric, 6)
    FROM finops_usage.resource_usage('aws_emu', 'ec2', (SELECT resource_id FROM vm), '2026-06-14 00:00+00', '2026-06-15 00:00+00')$$,
  $$SELECT metric_name, unit, count(*), round(avg(value)::numeric, 6), round(min(value)::numeric, 6), round(max(value)::numeric, 6),
           round((percentile_cont(0.95) WITHIN GROUP (ORDER BY value))::numeric, 6)
    FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = (SELECT resource_id FROM vm)
      AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-15 00:00+00' GROUP BY 1, 2$$);
-- only the metrics asked for, and only they are requested
SELECT emu.reset();
SELECT metric_name, points FROM finops_usage.resource_usage('aws_emu', 'ec2', (SELECT resource_id FROM vm),
                                                            '2026-06-14 00:00+00', '2026-06-14 06:00+00', '{CPUUtilization}');
SELECT count(*) AS calls, bool_and(l LIKE '%CPUUtilization%') AS cpu_only,
       bool_and(l NOT LIKE '%NetworkIn%') AS no_network
FROM emu.requests() AS l;
-- Azure: the same for a VM
SELECT metric_name, unit, points
FROM finops_usage.resource_usage('azure_emu', 'virtual_machine',
       '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1',
       '2026-06-14 00:00+00', '2026-06-15 00:00+00');
SELECT emu.try($$SELECT * FROM finops_usage.resource_usage('aws_emu', 'ec2', 'i-1', '2026-06-15', '2026-06-14')$$);

-- usage_summary over May 2026 (final) and the first half of June (still
-- estimated): totals, services and days from the generator
CREATE TEMP TABLE exp_may AS
  SELECT f1::date AS day, f3 AS service, f4::numeric AS cost
  FROM emu.expect('start=2026-05-01&end=2026-06-01&granularity=DAILY&group=SERVICE&metric=UnblendedCost');
SELECT s.total_cost = (SELECT sum(cost) FROM exp_may) AS total_matches,
       s.services = (SELECT count(DISTINCT service) FROM exp_may WHERE cost <> 0) AS services_match,
       s.daily_average = round((SELECT sum(cost) FROM exp_may) / 31, 4) AS average_matches,
       s.currency, s.resources, s.avg_cpu, s.estimated_share, s.completeness, s.confidence
FROM finops_usage.usage_summary('aws_emu', '2026-05-01', '2026-06-01') s;
SELECT estimated_share, completeness, confidence
FROM finops_usage.usage_summary('aws_emu', '2026-06-01', '2026-06-15');
-- a window reaching past today: the days to come are not missing
SELECT completeness FROM finops_usage.usage_summary('aws_emu', '2026-05-25', '2026-07-01');
-- with CPU: the instances of a type, or some of them, as the metrics table gives them
CREATE TEMP TABLE exp_cpu AS
  SELECT count(DISTINCT resource_id) AS n, avg(value) AS a,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY value) AS p
  FROM aws_metrics WHERE resource_type = 'ec2' AND metric_name = 'CPUUtilization'
    AND ts >= '2026-06-13 00:00+00' AND ts < '2026-06-15 00:00+00';
SELECT n > 10 AS many FROM exp_cpu;
SELECT s.resources = e.n AS resources_match, abs(s.avg_cpu - e.a) < 1e-9 AS avg_matches,
       abs(s.p95_cpu - e.p) < 1e-9 AS p95_matches
FROM finops_usage.usage_summary('aws_emu', '2026-06-13', '2026-06-15', 'ec2') s, exp_cpu e;
SELECT resources FROM finops_usage.usage_summary('aws_emu', '2026-06-13', '2026-06-15', 'ec2',
                                                  ARRAY[(SELECT resource_id FROM vm)]);
-- Azure in EUR, CPU of two VMs
SELECT currency, services > 0 AS has_services, resources, avg_cpu > 0 AS has_cpu, confidence
FROM finops_usage.usage_summary('azure_emu', '2026-05-01', '2026-06-01', 'virtual_machine',
       ARRAY['/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1',
             '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-2']);
-- a type without a CPU metric says so
SELECT resources, avg_cpu FROM finops_usage.usage_summary('aws_emu', '2026-06-13', '2026-06-15', 's3');
SELECT emu.reset();
