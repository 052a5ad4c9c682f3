--
-- gcp_cost over the BigQuery billing export (jobs.query): the SQL and its
-- parameters for each column's conditions, only the columns read, the
-- partition bound, results against the emulator's own sums, credits and
-- net cost, aggregate pushdown, paging, polling, faults and errors.
--
\i test/sql/gcp.sql

-- the statement a scan sends: its SQL, and its parameters
CREATE FUNCTION pg_temp.sent() RETURNS TABLE (sql text, params text) LANGUAGE sql AS $$
  SELECT b->>'query',
         (SELECT string_agg(p->>'name' || ' ' || (p->'parameterType')::text || ' ' ||
                            coalesce(p->'parameterValue'->>'value', (p->'parameterValue'->'arrayValues')::text), '; ')
          FROM json_array_elements(b->'queryParameters') p)
  FROM (SELECT (r->>'body')::json AS b
        FROM json_array_elements((SELECT string_agg(line, E'\n')
             FROM emu.call('/_emulator/requests?format=json') AS line)::json) r
        WHERE r->>'operation' = 'bigquery.jobs.query') s
$$;
CREATE FUNCTION pg_temp.run(query text) RETURNS TABLE (sql text, params text) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM emu.reset();
  EXECUTE query;
  RETURN QUERY SELECT * FROM pg_temp.sent();
END $$;

-- the window and the partition bound; only the columns read
SELECT * FROM pg_temp.run($$
  SELECT usage_start_time, service, cost FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-02' $$);
-- every text column, =, IN, <>, NOT IN; the end time; a date and a
-- timestamp compared as PostgreSQL compares them (TimeZone UTC here)
SELECT * FROM pg_temp.run($$
  SELECT count(*) FROM gcp_cost
  WHERE usage_start_time > date '2026-06-01' AND usage_end_time <= timestamp '2026-06-03 00:00'
    AND invoice_month = '202606' AND billing_account_id = '01AB23-CD45EF-6789AB'
    AND project_id IN ('northwind-prod', 'northwind-ml') AND project_name <> 'x'
    AND service NOT IN ('Support', 'Cloud Logging') AND service_id <> '2062-016F-44A2'
    AND sku <> 'y' AND sku_id NOT IN ('z') AND region = 'us-central1' AND zone <> 'us-central1-b'
    AND cost_type = 'regular' AND currency = 'USD' AND usage_unit <> 'requests' $$);
-- and EXPLAIN (VERBOSE) shows that request before it is sent
SELECT regexp_replace(l, '"queryParameters".*', '...') FROM emu.explain($$
  SELECT count(*) FROM gcp_cost
  WHERE usage_start_time > date '2026-06-01' AND usage_end_time <= timestamp '2026-06-03 00:00'
    AND invoice_month = '202606' AND billing_account_id = '01AB23-CD45EF-6789AB'
    AND project_id IN ('northwind-prod', 'northwind-ml') AND project_name <> 'x'
    AND service NOT IN ('Support', 'Cloud Logging') AND service_id <> '2062-016F-44A2'
    AND sku <> 'y' AND sku_id NOT IN ('z') AND region = 'us-central1' AND zone <> 'us-central1-b'
    AND cost_type = 'regular' AND currency = 'USD' AND usage_unit <> 'requests' $$) AS l
WHERE l ~ 'Request|Relations|Aggregation';
-- the same conditions, evaluated locally on every row, give the same rows
CREATE TEMP TABLE june AS
  SELECT * FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04';
SELECT * FROM emu.same_rows($$
  SELECT usage_start_time, sku_id, project_id, zone, cost FROM gcp_cost
  WHERE usage_start_time > date '2026-06-01' AND usage_end_time <= timestamp '2026-06-03 00:00'
    AND invoice_month = '202606' AND billing_account_id = '01AB23-CD45EF-6789AB'
    AND project_id IN ('northwind-prod', 'northwind-ml') AND project_name <> 'x'
    AND service NOT IN ('Support', 'Cloud Logging') AND service_id <> '2062-016F-44A2'
    AND sku <> 'y' AND sku_id NOT IN ('z') AND region = 'us-central1' AND zone <> 'us-central1-b'
    AND cost_type = 'regular' AND currency = 'USD' AND usage_unit <> 'requests' $$, $$
  SELECT usage_start_time, sku_id, project_id, zone, cost FROM june
  WHERE usage_start_time > date '2026-06-01' AND usage_end_time <= timestamp '2026-06-03 00:00'
    AND invoice_month = '202606' AND billing_account_id = '01AB23-CD45EF-6789AB'
    AND project_id IN ('northwind-prod', 'northwind-ml') AND project_name <> 'x'
    AND service NOT IN ('Support', 'Cloud Logging') AND service_id <> '2062-016F-44A2'
    AND sku <> 'y' AND sku_id NOT IN ('z') AND region = 'us-central1' AND zone <> 'us-central1-b'
    AND cost_type = 'regular' AND currency = 'USD' AND usage_unit <> 'requests' $$);
-- a date past the timestamps bounds nothing (as PostgreSQL compares it)
SELECT * FROM pg_temp.run($$
  SELECT count(*) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-02'
    AND usage_end_time < date '300000-01-01' $$);
-- a value is a parameter, never SQL: quotes, backslashes and @
SELECT * FROM pg_temp.run($$
  SELECT count(*) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-02'
    AND service = $q$Compute' OR 1=1 --\"@p0$q$ $$);
SELECT count(*) FROM gcp_cost
WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-02'
  AND service = $q$Compute' OR 1=1 --\"@p0$q$;
-- NOT IN with a NULL matches nothing: nothing is asked
SELECT * FROM emu.pushdown($$SELECT count(*) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND project_id NOT IN ('a', NULL) $$);
-- account-level rows have no project: <> and NOT IN leave them out, as in SQL
SELECT count(*) FILTER (WHERE project_id IS NULL) AS no_project,
       count(*) FILTER (WHERE project_id <> 'northwind-prod') AS not_prod
FROM june;
SELECT count(*) FROM gcp_cost
WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04' AND project_id <> 'northwind-prod';

-- the results are the emulator's own sums, by service, both ways
SELECT * FROM emu.same_rows($$
  SELECT service, sum(cost), sum(credits), sum(net_cost), sum(usage_amount), count(*)
  FROM june GROUP BY service $$, $$
  SELECT split_part(l, E'\t', 1), split_part(l, E'\t', 2)::numeric, split_part(l, E'\t', 3)::numeric,
         split_part(l, E'\t', 4)::numeric, split_part(l, E'\t', 5)::numeric, split_part(l, E'\t', 6)::bigint
  FROM emu.gcp_cost('start=2026-06-01&end=2026-06-04&group=service') AS l $$);
-- credits are negative and reduce net_cost, row by row
SELECT count(*) AS rows, count(*) FILTER (WHERE credits < 0) AS with_credits,
       count(*) FILTER (WHERE credits > 0) AS positive_credits,
       count(*) FILTER (WHERE net_cost <> cost + credits) AS net_not_cost_plus_credits,
       sum(net_cost) < sum(cost) AS credits_reduce
FROM june;
-- labels as an object
SELECT labels, count(*) FROM june WHERE service = 'Compute Engine' GROUP BY 1 ORDER BY 1;

-- aggregate pushdown: the same answer, a handful of rows instead of
-- thousands, one request instead of pages
CREATE FUNCTION pg_temp.local_answer(name text, query text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL finops_usage.aggregate_pushdown = off;
  EXECUTE format('CREATE TEMP TABLE %I AS %s', name, query);
END $$;
CREATE FUNCTION pg_temp.transfer(query text)
RETURNS TABLE (pushed boolean, scan_rows text, requests bigint) LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  PERFORM emu.reset();
  pushed := false;
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
    IF line ~ 'Aggregation pushed down' THEN pushed := true; END IF;
    IF line ~ 'Foreign Scan' THEN scan_rows := substring(line from 'rows=([0-9]+)'); END IF;
  END LOOP;
  SELECT count(*) INTO requests FROM emu.requests() l WHERE l LIKE 'bigquery%';
  RETURN NEXT;
END $$;
SELECT * FROM pg_temp.run($$
  SELECT project_id, service, sum(net_cost), count(*), count(zone), avg(cost),
         min(usage_start_time), max(cost), min(credits)
  FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-08'
  GROUP BY 1, 2 $$);
SELECT pg_temp.local_answer('agg_local', $$
  SELECT project_id, service, sum(net_cost) AS net, count(*) AS n, count(zone) AS zones, avg(cost) AS avg_cost,
         min(usage_start_time) AS first, max(cost) AS top, min(credits) AS min_credits
  FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-08'
  GROUP BY 1, 2 $$);
SELECT * FROM emu.same_rows($$
  SELECT project_id, service, sum(net_cost), count(*), count(zone), avg(cost),
         min(usage_start_time), max(cost), min(credits)
  FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-08'
  GROUP BY 1, 2 $$, 'TABLE agg_local');
SELECT * FROM pg_temp.transfer($$
  SELECT service, sum(net_cost) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-08' GROUP BY 1 $$);
SET finops_usage.aggregate_pushdown = off;
SELECT * FROM pg_temp.transfer($$
  SELECT service, sum(net_cost) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-08' GROUP BY 1 $$);
RESET finops_usage.aggregate_pushdown;
-- the UTC day of a time is grouped inside BigQuery (DATE(ts) is the UTC
-- date): the functions' daily cost is one query, not every hourly row
SELECT * FROM pg_temp.run($$
  SELECT (usage_start_time AT TIME ZONE 'UTC')::date AS day, service, sum(net_cost) AS net, sum(usage_amount) AS qty
  FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04'
  GROUP BY 1, 2 $$);
SELECT pg_temp.local_answer('day_local', $$
  SELECT (usage_start_time AT TIME ZONE 'UTC')::date AS day, service, sum(net_cost) AS net, sum(usage_amount) AS qty
  FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04'
  GROUP BY 1, 2 $$);
SELECT * FROM emu.same_rows($$
  SELECT (usage_start_time AT TIME ZONE 'UTC')::date AS day, service, sum(net_cost) AS net, sum(usage_amount) AS qty
  FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04'
  GROUP BY 1, 2 $$, 'TABLE day_local');
SELECT * FROM pg_temp.transfer($$
  SELECT (usage_start_time AT TIME ZONE 'UTC')::date, sum(net_cost) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-08' GROUP BY 1 $$);
-- list prices and pricing units: cost_at_list, pricing_quantity and
-- pricing_unit as the export has them, a condition on the pricing unit
SELECT * FROM pg_temp.run($$
  SELECT cost_at_list, pricing_quantity, pricing_unit FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-02'
    AND pricing_unit IN ('hour', 'gibibyte hour') $$);
SELECT * FROM pg_temp.run($$
  SELECT service, pricing_unit, sum(cost_at_list), sum(pricing_quantity), max(cost_at_list), avg(pricing_quantity)
  FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04' GROUP BY 1, 2 $$);
-- sums of cost_at_list per service: pushed down, the same as added here,
-- and as the emulator's own sums
SELECT * FROM pg_temp.transfer($$
  SELECT service, sum(cost_at_list), sum(pricing_quantity) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04' GROUP BY 1 $$);
SELECT pg_temp.local_answer('list_local', $$
  SELECT service, sum(cost_at_list) AS list, sum(pricing_quantity) AS qty, count(*) AS n FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04' GROUP BY 1 $$);
SELECT * FROM emu.same_rows($$
  SELECT service, sum(cost_at_list), sum(pricing_quantity), count(*) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-04' GROUP BY 1 $$, 'TABLE list_local');
SELECT * FROM emu.same_rows('TABLE list_local', $$
  SELECT split_part(l, E'\t', 1), split_part(l, E'\t', 7)::numeric, split_part(l, E'\t', 8)::numeric,
         split_part(l, E'\t', 6)::bigint
  FROM emu.gcp_cost('start=2026-06-01&end=2026-06-04&group=service&sums=cost_at_list,pricing_quantity') AS l $$);
-- list prices are above cost where Northwind's contract prices the usage
-- (Compute Engine, BigQuery), equal elsewhere; never below
SELECT service, sum(cost_at_list) > sum(cost) AS contract_priced,
       count(*) FILTER (WHERE cost_at_list < cost) AS below_cost
FROM june GROUP BY 1 ORDER BY 1;
-- the pricing unit of each usage unit, and how many usage units make one;
-- tax rows have neither, Support's monthly fee is 1 of no unit
SELECT usage_unit, pricing_unit, round(sum(usage_amount) / NULLIF(sum(pricing_quantity), 0)) AS per_pricing_unit,
       count(*) FILTER (WHERE pricing_quantity IS NULL) AS no_quantity
FROM june GROUP BY 1, 2 ORDER BY 1, 2;
-- HAVING, ORDER BY, LIMIT and expressions stay local
SELECT service, round(sum(net_cost) / count(*), 4) AS per_row
FROM gcp_cost
WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-08'
GROUP BY 1 HAVING sum(cost) > 100 ORDER BY 2 DESC LIMIT 3;
SELECT service, round(net / n, 4) FROM (SELECT service, sum(net) AS net, sum(n) AS n, sum(top) FROM agg_local GROUP BY 1) s
WHERE service IN (SELECT service FROM june) AND (SELECT sum(cost) FROM gcp_cost g
  WHERE g.service = s.service AND usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-08') > 100
ORDER BY 2 DESC LIMIT 3;
-- no group: one row, even when nothing matches
SELECT * FROM emu.pushdown($$
  SELECT count(*), sum(cost) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-01 01:00' AND service = 'none' $$);
SELECT count(*), sum(cost) FROM gcp_cost
WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-01 01:00' AND service = 'none';
-- not pushed: min and max of text, a local condition, an expression, a
-- collation whose equality is not the bytes'
CREATE COLLATION pg_temp.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
SELECT q, (SELECT count(*) FROM emu.explain(q) l WHERE l ~ 'Aggregation pushed down') AS pushed
FROM (VALUES
  ($$SELECT service, max(sku) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' GROUP BY 1$$),
  ($$SELECT (usage_start_time AT TIME ZONE 'America/New_York')::date, sum(cost) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' GROUP BY 1$$),
  ($$SELECT usage_start_time::date, sum(cost) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' GROUP BY 1$$),
  ($$SELECT service, sum(cost) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND cost > 1 GROUP BY 1$$),
  ($$SELECT service, sum(cost * 2) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' GROUP BY 1$$),
  ($$SELECT labels, sum(cost) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' GROUP BY 1$$),
  ($$SELECT service, count(DISTINCT sku) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' GROUP BY 1$$),
  ($$SELECT service, sum(cost) FILTER (WHERE zone IS NULL) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' GROUP BY 1$$),
  ($$SELECT service COLLATE pg_temp.ci, sum(cost) FROM gcp_cost WHERE usage_start_time >= '2026-06-01' GROUP BY 1$$)
) AS v(q);

-- a job that is not complete at once is polled; result pages are followed
SELECT emu.reset();
SELECT emu.config('{"bq_incomplete_polls": 2, "page_size": 200}');
SET finops_usage.aggregate_pushdown = off;
SELECT count(*), sum(cost) FROM gcp_cost
WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-02';
RESET finops_usage.aggregate_pushdown;
SELECT count(*), sum(cost) FROM june WHERE usage_start_time < '2026-06-02';
SELECT regexp_replace(line, '(queries/)job_[A-Za-z0-9_-]+|\{.*', '\1<job>') AS request
FROM emu.requests() AS line WHERE line LIKE 'bigquery%';
-- totalBytesProcessed, lower with a later partition bound
SELECT emu.reset();
SELECT line ~ 'bytes processed: [1-9]' AS bytes_shown,
       substring(line from 'processed: ([0-9]+)')::bigint AS bytes
FROM emu.explain($$SELECT sum(cost) FROM gcp_cost WHERE usage_start_time >= '2026-06-01'$$,
                 'ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF') AS line
WHERE line ~ 'bytes processed'
UNION ALL
SELECT line ~ 'bytes processed: [1-9]', substring(line from 'processed: ([0-9]+)')::bigint
FROM emu.explain($$SELECT sum(cost) FROM gcp_cost WHERE usage_start_time >= '2026-06-10'$$,
                 'ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF') AS line
WHERE line ~ 'bytes processed';

-- faults: 403 rateLimitExceeded and 429 RESOURCE_EXHAUSTED are retried; a
-- permanent 400 shows Google's message
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "target": "bigquery.jobs.query", "count": 1}');
SELECT emu.fault('{"kind": "throttle", "target": "bigquery.jobs.query", "count": 1, "status": 429}');
SELECT count(*) > 0 FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-02';
SELECT regexp_replace(line, ' \{.*\}', '') FROM emu.requests() AS line WHERE line LIKE 'bigquery%';
SELECT emu.fault('{"kind": "error", "target": "bigquery.jobs.query", "code": 400, "status": "INVALID_ARGUMENT", "reason": "invalidQuery", "message": "Unrecognized name: foo at [1:8]"}');
SELECT emu.try($$SELECT count(*) FROM gcp_cost WHERE usage_start_time >= '2026-06-01'$$);
-- a job that never completes is polled until statement_timeout stops it
SELECT emu.reset();
SELECT emu.config('{"bq_incomplete_polls": -1}');
CREATE FUNCTION pg_temp.cancel_after() RETURNS text LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  PERFORM count(*) FROM gcp_cost WHERE usage_start_time >= '2026-06-01';
  RETURN 'completed';
EXCEPTION WHEN query_canceled THEN
  RETURN 'canceled: ' || SQLERRM || ', within 2 s: ' || (clock_timestamp() - t0 < interval '2 s');
END $$;
SET statement_timeout = '1s';
SELECT pg_temp.cancel_after();
RESET statement_timeout;
SELECT count(*) > 2 AS polled FROM emu.requests() AS line WHERE line LIKE 'bigquery.jobs.getQueryResults%';
SELECT emu.reset();

-- errors before any request
SELECT emu.try($$SELECT count(*) FROM gcp_cost WHERE cost_type = 'Regular'$$);
CREATE SERVER gcp_nobill FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'gcp', endpoint :'emu', project_id 'northwind-prod');
CREATE USER MAPPING FOR CURRENT_USER SERVER gcp_nobill OPTIONS (access_token 'ya29.northwind-emulator-demo');
CREATE FOREIGN TABLE nobill (usage_start_time timestamptz, cost numeric)
  SERVER gcp_nobill OPTIONS (source 'gcp_cost');
SELECT emu.try($$SELECT count(*) FROM nobill$$);
SELECT emu.try($$ALTER SERVER gcp_nobill OPTIONS (ADD billing_table 'a.b')$$);
SELECT emu.try($$ALTER SERVER gcp_nobill OPTIONS (ADD billing_table 'p-1.d.t`; DROP TABLE x; --')$$);
DROP SERVER gcp_nobill CASCADE;
