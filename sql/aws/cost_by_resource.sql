--
-- aws_cost_by_resource: Cost Explorer GetCostAndUsageWithResources.  One
-- row per period, resource and region (GroupBy RESOURCE_ID and REGION);
-- service, linked_account and usage_type are filters the rows carry; the
-- last 14 days only (finops_usage.today = 2026-06-15: from 2026-06-01 on).
--
\i test/sql/common.sql

-- the imported table
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'aws_cost_by_resource' ORDER BY ordinal_position;

-- ===================================================================
-- rows
-- ===================================================================
SELECT period_start, period_end, granularity, resource_id, region, service,
       linked_account, usage_type, round(unblended_cost, 4) AS unblended,
       currency, estimated
FROM aws_cost_by_resource
WHERE period_start = '2026-06-10'
  AND resource_id IN ('i-0a1b2c3d4e5f60001', 'i-0a1b2c3d4e5f60031', 'i-0a1b2c3d4e5f61001')
ORDER BY resource_id;

-- the grain does not depend on the columns read
SELECT (SELECT count(*) FROM aws_cost_by_resource WHERE period_start >= '2026-06-08') AS count_star,
       (SELECT count(*) FROM (SELECT * FROM aws_cost_by_resource WHERE period_start >= '2026-06-08') s) AS select_star,
       (SELECT count(resource_id) FROM aws_cost_by_resource WHERE period_start >= '2026-06-08') AS count_resource;

-- the resources of a day add up to GetCostAndUsage's EC2 compute cost, every
-- metric, day by day (in both directions, and not empty)
SELECT * FROM emu.same_rows(
$$SELECT period_start, sum(unblended_cost), sum(amortized_cost), sum(usage_quantity)
  FROM aws_cost_by_resource WHERE period_start >= '2026-06-01' GROUP BY 1$$,
$$SELECT period_start, unblended_cost, amortized_cost, usage_quantity
  FROM aws_cost WHERE service = 'Amazon Elastic Compute Cloud - Compute'
   AND period_start >= '2026-06-01'$$);

-- a resource's cost, one account's, one usage type's
SELECT linked_account, count(DISTINCT resource_id) AS resources, round(sum(unblended_cost), 4) AS cost
FROM aws_cost_by_resource
WHERE period_start >= '2026-06-08' AND period_start < '2026-06-15'
  AND linked_account IN ('111111111111', '444444444444')
GROUP BY 1 ORDER BY 1;
SELECT usage_type, region, count(*), round(sum(usage_quantity), 3) AS hours, usage_unit
FROM aws_cost_by_resource
WHERE period_start = '2026-06-12' AND usage_type = 'BoxUsage:t3.micro'
GROUP BY 1, 2, 5;

-- ===================================================================
-- pushdown: what the emulator received
-- ===================================================================
-- no qual: the last 14 days, the EC2 compute service the API requires
SELECT * FROM emu.pushdown($$
SELECT resource_id, unblended_cost FROM aws_cost_by_resource$$);
-- a window, resource and region leaves
SELECT * FROM emu.pushdown($$
SELECT resource_id, amortized_cost, currency FROM aws_cost_by_resource
WHERE period_start >= '2026-06-10' AND period_start < '2026-06-12'
  AND resource_id IN ('i-0a1b2c3d4e5f60001', 'i-0a1b2c3d4e5f60002') AND region = 'us-east-1'$$);
-- service, linked_account and usage_type: one request per combination
SELECT * FROM emu.pushdown($$
SELECT resource_id, service, linked_account, usage_quantity, usage_unit FROM aws_cost_by_resource
WHERE period_start = '2026-06-12' AND linked_account IN ('111111111111', '444444444444')
  AND service = 'Amazon Elastic Compute Cloud - Compute' AND usage_type = 'BoxUsage:t3.micro'$$);
-- a period_end qual is rechecked
SELECT * FROM emu.pushdown($$
SELECT period_start, period_end FROM aws_cost_by_resource
WHERE period_end = '2026-06-14' AND resource_id = 'i-0a1b2c3d4e5f60001'$$);

-- ===================================================================
-- errors
-- ===================================================================
-- older than 14 days: an ERROR before anything is sent
SELECT emu.reset();
SELECT emu.try($$SELECT count(*) FROM aws_cost_by_resource WHERE period_start >= '2026-05-01'$$);
SELECT count(*) FROM aws_cost_by_resource WHERE period_start = '2026-05-31';
SELECT count(*) FROM emu.requests();
-- 2026-06-01 is the oldest day
SELECT count(*) > 0 FROM aws_cost_by_resource WHERE period_start = '2026-06-01';
-- granularity is a closed set
SELECT * FROM aws_cost_by_resource WHERE granularity = 'MONTHLY';
SELECT count(*) FROM aws_cost_by_resource WHERE granularity = 'daily';
-- HOURLY: the request's TimePeriod has hours; this account has not opted in
SELECT * FROM emu.explain($$SELECT * FROM aws_cost_by_resource
WHERE granularity = 'HOURLY' AND period_start = '2026-06-14'$$);
SELECT emu.try($$SELECT * FROM aws_cost_by_resource
WHERE granularity = 'HOURLY' AND period_start = '2026-06-14'$$);
-- Cost Explorer's own limit, when the two "today"s disagree
SET finops_usage.today = '2026-06-05';
SELECT emu.try($$SELECT * FROM aws_cost_by_resource WHERE period_start = '2026-05-25'$$);
RESET finops_usage.today;
SET finops_usage.today = '2026-06-15';
