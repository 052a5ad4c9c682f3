--
-- azure_usage over Cost Management Query: what each column's conditions
-- send (timePeriod, type, granularity, In filters, grouping), results
-- against the emulator's own sums, nextLink paging, 429 with Cost
-- Management's retry-after headers, aggregate pushdown, errors.
--
\i test/sql/azure.sql

-- the body of the calls a query sends (JSON log: sorted, canonical)
CREATE FUNCTION pg_temp.sent() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT substring(line from '\{.*$') FROM emu.requests() AS line
  WHERE line LIKE 'costmanagement.query%'
$$;

-- a narrow table: grouped by its dimension; every metric (two calls:
-- at most two aggregations per call, added up by key)
SELECT * FROM emu.pushdown($$
  SELECT * FROM azure_usage_by_service
  WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-08' $$);
-- the wide table: grouped by what the query reads; "=" filters and fills,
-- IN filters, the cost type, granularity None (no date), a tag
SELECT * FROM emu.pushdown($$
  SELECT resource_group, sum(cost) FROM azure_usage
  WHERE usage_date BETWEEN '2026-06-01' AND '2026-06-07' AND cost_type = 'AmortizedCost'
    AND subscription_id = '5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61'
    AND resource_location IN ('westeurope', 'northeurope') AND meter_category = 'Virtual Machines'
    AND charge_type = 'Usage' AND granularity = 'None'
  GROUP BY 1 $$);
SELECT * FROM emu.pushdown($$
  SELECT usage_date, tag_value, round(sum(cost), 2) FROM azure_usage
  WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-03' AND tag_key = 'team'
    AND tag_value IN ('platform', 'data') AND service_name = 'Storage'
  GROUP BY 1, 2 $$);
-- resource ids and types: Cost Management compares them without case and
-- answers them in lower case: filtered, grouped and rechecked
SELECT * FROM emu.pushdown($$
  SELECT resource_id, round(sum(cost), 2) FROM azure_usage
  WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-02'
    AND resource_type = 'microsoft.compute/virtualmachines'
    AND resource_id IN ('/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourcegroups/rg-web/providers/microsoft.compute/virtualmachines/web-1',
                        '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-2')
  GROUP BY 1 $$);

-- the rows are the emulator's sums, both ways, daily and in total
SELECT * FROM emu.same_rows($$
  SELECT usage_date, service_name, cost, cost_usd, usage_quantity, currency FROM azure_usage_by_service
  WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-08' $$, $$
  SELECT to_date(split_part(l, E'\t', 1), 'YYYY-MM-DD'), split_part(l, E'\t', 2),
         split_part(l, E'\t', 3)::numeric, split_part(l, E'\t', 4)::numeric,
         split_part(l, E'\t', 5)::numeric, split_part(l, E'\t', 6)
  FROM emu.azure_usage('start=2026-06-01&end=2026-06-08&type=ActualCost&group=ServiceName&daily=1'
                       || '&SubscriptionId=5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61') AS l $$);
SELECT * FROM emu.same_rows($$
  SELECT resource_group, cost, cost_usd FROM azure_usage_by_resource_group
  WHERE usage_date >= '2026-05-01' AND usage_date < '2026-06-01' AND granularity = 'None'
    AND cost_type = 'AmortizedCost' $$, $$
  SELECT nullif(split_part(l, E'\t', 1), ''), split_part(l, E'\t', 2)::numeric, split_part(l, E'\t', 3)::numeric
  FROM emu.azure_usage('start=2026-05-01&end=2026-06-01&type=AmortizedCost&group=ResourceGroupName'
                       || '&SubscriptionId=5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61') AS l $$);
-- amortized and actual cost differ by the reservation's purchase, not in total
SELECT (SELECT sum(cost) FROM azure_usage_by_subscription WHERE usage_date >= '2026-05-01' AND usage_date < '2026-06-01')
     = (SELECT sum(cost) FROM azure_usage_by_subscription WHERE usage_date >= '2026-05-01' AND usage_date < '2026-06-01'
        AND cost_type = 'AmortizedCost') AS same_total,
       (SELECT count(*) FROM azure_usage WHERE usage_date >= '2026-05-01' AND usage_date < '2026-06-01'
        AND charge_type = 'Purchase') AS purchases;

-- nextLink paging: the same body POSTed to each link, the same rows
SELECT emu.reset();
SELECT emu.config('{"azure_page_size": 10}');
SELECT count(*), sum(cost) FROM azure_usage_by_service
WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-08' AND cost_type = 'Usage';
SELECT regexp_replace(line, ' \{.*', '') FROM emu.requests() AS line WHERE line LIKE 'costmanagement%';
SELECT count(DISTINCT b) AS bodies FROM pg_temp.sent() b;
-- a nextLink to another host is refused
SELECT emu.reset();
SELECT emu.body('{"properties": {"nextLink": "https://evil.example/q?$skiptoken=x", "columns": [{"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"}, {"name": "ServiceName", "type": "String"}, {"name": "Currency", "type": "String"}], "rows": [[1.5, 20260601, "Storage", "EUR"]]}}');
SELECT emu.try($$SELECT count(*) FROM azure_usage_by_service WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-02' AND cost_type = 'Usage'$$);

-- throttled: retried after the longest of the retry-after headers
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "target": "costmanagement.query", "retry_after": {"qpu": 1, "tenant": 2}}');
SET finops_usage.retry_max_delay = '5s';
SELECT count(*) > 0 AS rows FROM azure_usage_by_service WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-02' AND cost_type = 'Usage';
RESET finops_usage.retry_max_delay;
SELECT (r->>'status') AS status,
       round(((lead((r->>'time')::numeric) OVER (ORDER BY (r->>'seq')::int) - (r->>'time')::numeric)))::int AS seconds_to_next
FROM json_array_elements((SELECT string_agg(line, E'\n') FROM emu.call('/_emulator/requests?format=json') AS line)::json) r
WHERE r->>'operation' = 'costmanagement.query' ORDER BY (r->>'seq')::int;

-- cost and usage_quantity read together (one call, two aggregations): both
-- filled, cost as when read alone
SELECT count(*) AS rows, count(cost) AS with_cost, count(usage_quantity) AS with_quantity,
       sum(cost) = (SELECT sum(cost) FROM azure_usage WHERE usage_date >= '2026-05-01' AND usage_date < '2026-05-04')
         AS same_cost
FROM azure_usage WHERE usage_date >= '2026-05-01' AND usage_date < '2026-05-04';

-- aggregate pushdown: Cost Management adds up; the same answer as locally
CREATE FUNCTION pg_temp.local_answer(name text, query text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL finops_usage.aggregate_pushdown = off;
  EXECUTE format('CREATE TEMP TABLE %I AS %s', name, query);
END $$;
SELECT * FROM emu.pushdown($$
  SELECT service_name, resource_location, sum(cost), sum(usage_quantity) FROM azure_usage
  WHERE usage_date >= '2026-05-01' AND usage_date < '2026-06-01' GROUP BY 1, 2 $$);
SELECT pg_temp.local_answer('agg1', $$
  SELECT service_name, resource_location, sum(cost) AS c, sum(usage_quantity) AS q FROM azure_usage
  WHERE usage_date >= '2026-05-01' AND usage_date < '2026-06-01' GROUP BY 1, 2 $$);
SELECT * FROM emu.same_rows($$
  SELECT service_name, resource_location, sum(cost), sum(usage_quantity) FROM azure_usage
  WHERE usage_date >= '2026-05-01' AND usage_date < '2026-06-01' GROUP BY 1, 2 $$, 'TABLE agg1');
SELECT * FROM emu.pushdown($$
  SELECT date_trunc('month', usage_date) AS month, sum(cost_usd) FROM azure_usage_by_service
  WHERE usage_date >= '2026-03-01' AND usage_date < '2026-06-01' GROUP BY 1 $$);
SELECT pg_temp.local_answer('agg2', $$
  SELECT date_trunc('month', usage_date) AS month, sum(cost_usd) AS s FROM azure_usage_by_service
  WHERE usage_date >= '2026-03-01' AND usage_date < '2026-06-01' GROUP BY 1 $$);
SELECT * FROM emu.same_rows($$
  SELECT date_trunc('month', usage_date) AS month, sum(cost_usd) FROM azure_usage_by_service
  WHERE usage_date >= '2026-03-01' AND usage_date < '2026-06-01' GROUP BY 1 $$, 'TABLE agg2');
-- never pushed: count, avg, a tag, a local condition
SELECT q, (SELECT count(*) FROM emu.explain(q) l WHERE l ~ 'Aggregation pushed down') AS pushed
FROM (VALUES
  ($$SELECT service_name, count(*) FROM azure_usage_by_service WHERE usage_date >= '2026-05-01' GROUP BY 1$$),
  ($$SELECT service_name, avg(cost) FROM azure_usage_by_service WHERE usage_date >= '2026-05-01' GROUP BY 1$$),
  ($$SELECT tag_value, sum(cost) FROM azure_usage WHERE tag_key = 'env' AND usage_date >= '2026-05-01' GROUP BY 1$$),
  ($$SELECT service_name, sum(cost) FROM azure_usage_by_service WHERE usage_date >= '2026-05-01' AND cost > 1 GROUP BY 1$$),
  ($$SELECT date_trunc('month', usage_date), usage_date, sum(cost) FROM azure_usage_by_service WHERE usage_date >= '2026-05-01' GROUP BY 1, 2$$)
) AS v(q);

-- errors before any call
SELECT emu.try($$SELECT count(*) FROM azure_usage_by_service WHERE cost_type = 'Actual'$$);
SELECT emu.try($$SELECT count(*) FROM azure_usage WHERE service_name = 'x' AND resource_group = 'y' AND resource_location IN ('a', 'b') AND meter_category IN ('c', 'd') AND charge_type IN ('e', 'f') GROUP BY resource_location, meter_category, charge_type$$);
SELECT emu.try($$SELECT count(*) FROM azure_usage WHERE tag_value = 'prod'$$);
SELECT emu.try($$SELECT count(*) FROM azure_usage_by_service WHERE granularity = 'None' AND usage_date >= '2024-01-01'$$);
