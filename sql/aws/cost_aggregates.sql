--
-- Aggregate pushdown on aws_cost: sum of metrics grouped by dimensions (and
-- by date_trunc('month', period_start)) over whole months is one MONTHLY
-- request, where the daily rows would take a page per ~500 rows (other
-- windows: the daily rows, added up by the scan); the answers equal the
-- local aggregation's, and nothing else is pushed.
--
\i test/sql/common.sql

-- the answer of a query with aggregate pushdown off, kept for comparison
CREATE FUNCTION pg_temp.local_answer(name text, query text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL finops_usage.aggregate_pushdown = off;
  EXECUTE format('CREATE TEMP TABLE %I AS %s', name, query);
END $$;
-- the foreign scan's rows (what was transferred and parsed), and the
-- requests (pages) the emulator received
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
  SELECT count(*) INTO requests FROM emu.requests();
  RETURN NEXT;
END $$;

-- a quarter of cost by service: one MONTHLY request
SELECT * FROM emu.pushdown($$
  SELECT service, sum(unblended_cost) FROM aws_cost_by_service
  WHERE period_start >= '2026-03-01' AND period_start < '2026-06-01'
  GROUP BY service $$);
SELECT pg_temp.local_answer('q1', $$
  SELECT service, sum(unblended_cost) AS s FROM aws_cost_by_service
  WHERE period_start >= '2026-03-01' AND period_start < '2026-06-01'
  GROUP BY service $$);
SELECT * FROM emu.same_rows($$
  SELECT service, sum(unblended_cost) FROM aws_cost_by_service
  WHERE period_start >= '2026-03-01' AND period_start < '2026-06-01'
  GROUP BY service $$, 'TABLE q1');
-- rows parsed and pages requested, pushed and not
SELECT * FROM pg_temp.transfer($$
  SELECT service, sum(unblended_cost) FROM aws_cost_by_service
  WHERE period_start >= '2026-03-01' AND period_start < '2026-06-01'
  GROUP BY service $$);
SET finops_usage.aggregate_pushdown = off;
SELECT * FROM pg_temp.transfer($$
  SELECT service, sum(unblended_cost) FROM aws_cost_by_service
  WHERE period_start >= '2026-03-01' AND period_start < '2026-06-01'
  GROUP BY service $$);
RESET finops_usage.aggregate_pushdown;

-- by month, two metrics, a filter; HAVING, ORDER BY and LIMIT stay local
SELECT * FROM emu.pushdown($$
  SELECT date_trunc('month', period_start) AS month, region,
         sum(net_unblended_cost) AS net, sum(usage_quantity) AS usage
  FROM aws_cost_by_region
  WHERE period_start >= '2026-01-01' AND period_start < '2026-07-01'
    AND region IN ('us-east-1', 'eu-west-1')
  GROUP BY 1, 2 $$);
SELECT pg_temp.local_answer('q2', $$
  SELECT date_trunc('month', period_start) AS month, region,
         sum(net_unblended_cost) AS net, sum(usage_quantity) AS usage
  FROM aws_cost_by_region
  WHERE period_start >= '2026-01-01' AND period_start < '2026-07-01'
    AND region IN ('us-east-1', 'eu-west-1')
  GROUP BY 1, 2 $$);
SELECT * FROM emu.same_rows($$
  SELECT date_trunc('month', period_start) AS month, region,
         sum(net_unblended_cost) AS net, sum(usage_quantity) AS usage
  FROM aws_cost_by_region
  WHERE period_start >= '2026-01-01' AND period_start < '2026-07-01'
    AND region IN ('us-east-1', 'eu-west-1')
  GROUP BY 1, 2 $$, 'TABLE q2');
SELECT date_trunc('month', period_start)::date AS month, region,
       round(sum(net_unblended_cost), 2) AS net
FROM aws_cost_by_region
WHERE period_start >= '2026-01-01' AND period_start < '2026-07-01'
  AND region IN ('us-east-1', 'eu-west-1')
GROUP BY 1, 2 HAVING sum(net_unblended_cost) > 1000
ORDER BY net DESC LIMIT 3;
SELECT month::date, region, round(net, 2) FROM q2 WHERE net > 1000
ORDER BY net DESC LIMIT 3;

-- a total over the wide table: the Total of each month, added up
SELECT * FROM emu.pushdown($$
  SELECT sum(unblended_cost) AS u, sum(amortized_cost) AS a FROM aws_cost
  WHERE period_start >= '2026-04-01' AND period_start < '2026-06-01' $$);
SELECT pg_temp.local_answer('q3', $$
  SELECT sum(unblended_cost) AS u, sum(amortized_cost) AS a FROM aws_cost
  WHERE period_start >= '2026-04-01' AND period_start < '2026-06-01' $$);
SELECT * FROM emu.same_rows($$
  SELECT sum(unblended_cost) AS u, sum(amortized_cost) AS a FROM aws_cost
  WHERE period_start >= '2026-04-01' AND period_start < '2026-06-01' $$, 'TABLE q3');
-- a window with no data asks nothing and still answers one row
SELECT * FROM emu.pushdown($$
  SELECT sum(unblended_cost) FROM aws_cost_by_service
  WHERE period_start >= '2027-01-01' AND period_start < '2027-03-01' $$);
SELECT sum(unblended_cost) IS NULL AS null_sum FROM aws_cost_by_service
WHERE period_start >= '2027-01-01' AND period_start < '2027-03-01';

-- a window of part of a month: the daily rows, added up by the scan
SELECT * FROM emu.pushdown($$
  SELECT date_trunc('month', period_start) AS month, service, sum(unblended_cost)
  FROM aws_cost_by_service
  WHERE period_start >= '2026-04-20' AND period_start <= '2026-05-10'
  GROUP BY 1, 2 $$);
SELECT pg_temp.local_answer('q4', $$
  SELECT date_trunc('month', period_start) AS month, service, sum(unblended_cost) AS s
  FROM aws_cost_by_service
  WHERE period_start >= '2026-04-20' AND period_start <= '2026-05-10'
  GROUP BY 1, 2 $$);
SELECT * FROM emu.same_rows($$
  SELECT date_trunc('month', period_start) AS month, service, sum(unblended_cost)
  FROM aws_cost_by_service
  WHERE period_start >= '2026-04-20' AND period_start <= '2026-05-10'
  GROUP BY 1, 2 $$, 'TABLE q4');
-- windows known when the scan starts (current_date, a parameter) are
-- whole months or not then
CREATE FUNCTION pg_temp.by_service(a date, b date) RETURNS TABLE (service text, s numeric)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT c.service, sum(c.unblended_cost) FROM aws_cost_by_service c
    WHERE c.period_start >= a AND c.period_start < b GROUP BY c.service;
END $$;
SET plan_cache_mode = force_generic_plan;
SELECT emu.reset();
SELECT * FROM emu.same_rows($$ SELECT * FROM pg_temp.by_service('2026-03-01', '2026-06-01') $$, 'TABLE q1');
SELECT count(*) FROM pg_temp.by_service('2026-03-02', '2026-06-01');
SELECT regexp_replace(line, '"GroupBy.*', '') FROM emu.requests() AS line;
RESET plan_cache_mode;

-- never pushed: counts, averages, minimums and maximums of daily rows, a
-- granularity, a grouping the API lacks, a local condition
SELECT q, (SELECT count(*) FROM emu.explain(q) l WHERE l ~ 'Aggregation pushed down') AS pushed
FROM (VALUES
  ($$SELECT service, count(*) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-06-01' GROUP BY 1$$),
  ($$SELECT service, avg(unblended_cost) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-06-01' GROUP BY 1$$),
  ($$SELECT service, max(unblended_cost) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-06-01' GROUP BY 1$$),
  ($$SELECT service, sum(unblended_cost) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-06-01' AND granularity = 'DAILY' GROUP BY 1$$),
  ($$SELECT period_start, sum(unblended_cost) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-06-01' GROUP BY 1$$),
  ($$SELECT service, sum(unblended_cost) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-06-01' AND unblended_cost > 1 GROUP BY 1$$),
  ($$SELECT service, sum(unblended_cost + 1) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-06-01' GROUP BY 1$$)
) AS v(q);
-- the local answer of a count is the daily rows'
SELECT count(*) FROM aws_cost_by_service
WHERE period_start >= '2026-05-01' AND period_start < '2026-06-01';
