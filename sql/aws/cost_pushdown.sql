--
-- Pushdown: every qual form, proven twice: by EXPLAIN (VERBOSE) and by the
-- request the emulator received (its log re-serialises the JSON body with
-- sorted keys).
--
\i test/sql/common.sql

-- ===================================================================
-- time quals → TimePeriod (End exclusive)
-- ===================================================================
-- =
SELECT * FROM emu.pushdown($$
SELECT * FROM aws_cost_by_service WHERE period_start = '2026-05-01'$$);
SELECT period_start, period_end, round(unblended_cost, 2) FROM aws_cost WHERE period_start = '2026-05-01';

-- >= and <
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start >= '2026-05-01' AND period_start < '2026-05-04'$$);

-- > and <=
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start > '2026-05-01' AND period_start <= '2026-05-04'$$);
SELECT min(period_start), max(period_start), count(*) FROM aws_cost
WHERE period_start > '2026-05-01' AND period_start <= '2026-05-04';

-- BETWEEN (both bounds included)
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start BETWEEN '2026-05-01' AND '2026-05-03'$$);

-- commuted operands
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE '2026-05-03' > period_start AND '2026-05-01' <= period_start$$);

-- period_end: the bucket [2026-05-01, 2026-05-02) ends on 2026-05-02
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_end = '2026-05-02'$$);
SELECT period_start, period_end FROM aws_cost WHERE period_end = '2026-05-02';
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_end > '2026-05-01' AND period_end <= '2026-05-03'$$);
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_end >= '2026-05-02' AND period_end < '2026-05-04'$$);
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_end BETWEEN '2026-05-02' AND '2026-05-03'$$);

-- bounds on both columns: the tightest wins
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost
WHERE period_start >= '2026-04-28' AND period_end <= '2026-05-03' AND period_start > '2026-04-29'$$);
SELECT min(period_start), max(period_end), count(*) FROM aws_cost
WHERE period_start >= '2026-04-28' AND period_end <= '2026-05-03' AND period_start > '2026-04-29';

-- only a lower bound: the end defaults to tomorrow (finops_usage.today = 2026-06-15)
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start >= '2026-06-10'$$);
-- only an upper bound: the start defaults to 12 months back
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start < '2026-01-01'$$);
-- no time qual: 12 months back to tomorrow
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost$$);

-- the session TimeZone does not move date windows
SET TimeZone = 'Pacific/Kiritimati';
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start >= '2026-05-01' AND period_start < '2026-05-04'$$);
SET TimeZone = 'America/Los_Angeles';
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start >= '2026-05-01' AND period_start < '2026-05-04'$$);
RESET TimeZone;

-- timestamptz and timestamp comparisons widen the window by a day and are rechecked
SET TimeZone = 'America/New_York';
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost
WHERE period_start >= timestamptz '2026-05-02 00:00:00+00' AND period_start < timestamptz '2026-05-04 00:00:00+00'$$);
SELECT period_start FROM aws_cost
WHERE period_start >= timestamptz '2026-05-02 00:00:00+00' AND period_start < timestamptz '2026-05-04 00:00:00+00';
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start > timestamp '2026-05-02 12:00'
  AND period_end <= timestamp '2026-05-05 00:00'$$);
RESET TimeZone;

-- contradictory, NULL or future bounds: no request at all
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start > '2026-05-05' AND period_start < '2026-05-03'$$);
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start = NULL::date$$);
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start > '2026-07-01'$$);

-- MONTHLY: whole months only
SELECT emu.reset();
SELECT period_start, period_end, granularity FROM aws_cost
WHERE granularity = 'MONTHLY' AND period_start >= '2026-01-15' AND period_start < '2026-04-10';
SELECT * FROM emu.requests();
SELECT emu.reset();
SELECT period_start, period_end FROM aws_cost
WHERE granularity = 'MONTHLY' AND period_end <= '2026-03-31' AND period_end >= '2026-02-28';
SELECT * FROM emu.requests();
SELECT granularity FROM aws_cost WHERE granularity = 'HOURLY';

-- run-time values are bound when the scan starts
PREPARE by_day(date) AS
  SELECT count(*) FROM aws_cost WHERE period_start >= $1 AND period_start < $1 + 2;
SELECT emu.reset();
SELECT * FROM emu.explain($$EXECUTE by_day('2026-03-01')$$);
EXECUTE by_day('2026-03-01');
SET plan_cache_mode = force_generic_plan;
EXECUTE by_day('2026-03-10');
RESET plan_cache_mode;
SELECT * FROM emu.requests();
DEALLOCATE by_day;

-- ===================================================================
-- dimension quals → Filter, referenced dimensions → GroupBy
-- ===================================================================
-- = fixes the dimension: filtered, filled from the qual, not grouped
SELECT emu.reset();
SELECT * FROM emu.explain($$
SELECT service, sum(unblended_cost) FROM aws_cost
WHERE service = 'AWS Lambda' AND period_start >= '2026-05-01' AND period_start < '2026-05-08'
GROUP BY service$$);
SELECT service, round(sum(unblended_cost), 4) FROM aws_cost
WHERE service = 'AWS Lambda' AND period_start >= '2026-05-01' AND period_start < '2026-05-08'
GROUP BY service;
SELECT * FROM emu.requests();

-- IN and NOT IN, <> and = together: one And of leaves, Not for exclusions
SELECT emu.reset();
SELECT service, region, round(sum(unblended_cost), 4) FROM aws_cost
WHERE service IN ('AWS Lambda', 'Amazon DynamoDB') AND region <> 'eu-west-1'
  AND record_type NOT IN ('Tax', 'Credit') AND linked_account = '111111111111'
  AND period_start = '2026-05-01'
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT * FROM emu.requests();

-- a dimension only filtered is not grouped; one in the output is
SELECT emu.reset();
SELECT usage_type, round(sum(usage_quantity), 2), min(usage_unit) FROM aws_cost
WHERE service = 'Amazon Simple Storage Service' AND region IN ('us-east-1', 'us-west-2')
  AND period_start = '2026-05-01'
GROUP BY 1 ORDER BY 1;
SELECT * FROM emu.requests();

-- every dimension column maps to its Cost Explorer key
SELECT emu.reset();
SELECT count(*) FROM aws_cost
WHERE period_start = '2026-05-01' AND linked_account = '1' AND service = '2' AND region = '3'
  AND usage_type = '4' AND operation = '5' AND instance_type = '6' AND record_type = '7';
SELECT * FROM emu.requests();

-- two free dimensions are fine; three are refused with a hint
SELECT emu.reset();
SELECT count(*) FROM (SELECT DISTINCT linked_account, region FROM aws_cost WHERE period_start = '2026-05-01') s;
SELECT * FROM emu.requests();
SELECT linked_account, region, service FROM aws_cost WHERE period_start = '2026-05-01';
-- the narrow tables are for SELECT *
SELECT * FROM aws_cost WHERE period_start = '2026-05-01';

-- conditions the API cannot express stay local (and need the column)
SELECT emu.reset();
SELECT * FROM emu.explain($$
SELECT service FROM aws_cost WHERE service LIKE 'Amazon S%' AND period_start = '2026-05-01'$$);
SELECT service FROM aws_cost WHERE service LIKE 'Amazon S%' AND period_start = '2026-05-01';
SELECT * FROM emu.requests();
SELECT emu.reset();
SELECT count(*) FROM aws_cost WHERE lower(region) = 'us-east-1' AND period_start = '2026-05-01';
SELECT * FROM emu.requests();

-- NULL and empty lists
SELECT emu.reset();
SELECT count(*) FROM aws_cost WHERE service = NULL AND period_start = '2026-05-01';
SELECT count(*) FROM aws_cost WHERE service IN (NULL) AND period_start = '2026-05-01';
SELECT count(*) FROM aws_cost WHERE service NOT IN ('AWS Lambda', NULL) AND period_start = '2026-05-01';
SELECT count(*) AS requests FROM emu.requests();
SELECT emu.reset();
SELECT count(*) FROM aws_cost WHERE service = ANY ('{AWS Lambda,NULL}'::text[]) AND period_start = '2026-05-01';
SELECT * FROM emu.requests();

-- hostile values stay values: JSON-escaped, never structure
SELECT emu.reset();
SELECT count(*) FROM aws_cost
WHERE period_start = '2026-05-01'
  AND service IN ('x"}],"GroupBy":[{"Type":"TAG","Key":"env"}],"y":["', E'back\\slash', E'tab\there', 'Amazon Élastic ☁');
SELECT * FROM emu.requests();

-- ===================================================================
-- tags
-- ===================================================================
SELECT emu.reset();
SELECT tag_key, tag_value, round(sum(unblended_cost), 2) FROM aws_cost
WHERE tag_key = 'env' AND period_start = '2026-05-01'
GROUP BY 1, 2 ORDER BY 2 NULLS LAST;
SELECT * FROM emu.requests();
SELECT emu.reset();
SELECT tag_value, round(sum(unblended_cost), 2) FROM aws_cost
WHERE tag_key = 'team' AND tag_value IN ('ml', 'data') AND service = 'Amazon Elastic Compute Cloud - Compute'
  AND period_start = '2026-05-01'
GROUP BY 1 ORDER BY 1;
SELECT * FROM emu.requests();
SELECT tag_value FROM aws_cost WHERE period_start = '2026-05-01';
SELECT tag_key FROM aws_cost WHERE period_start = '2026-05-01';

-- ===================================================================
-- metrics: only the referenced ones are requested
-- ===================================================================
SELECT emu.reset();
SELECT round(sum(usage_quantity), 2) FROM aws_cost
WHERE period_start = '2026-05-01' AND usage_type = 'TimedStorage-ByteHrs';
SELECT round(sum(amortized_cost), 4), round(sum(net_unblended_cost), 4), min(currency) FROM aws_cost
WHERE period_start = '2026-05-01';
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT * FROM emu.requests();

-- ===================================================================
-- values known only at run time: subqueries and outer references
-- ===================================================================
SELECT * FROM emu.pushdown($$
SELECT service FROM aws_cost WHERE period_start = (SELECT date '2026-05-02')
  AND service = (SELECT 'AWS Lambda')$$);
SELECT emu.reset();
SELECT s, (SELECT round(sum(unblended_cost), 2) FROM aws_cost a
           WHERE a.service = v.s AND period_start >= '2026-05-01' AND period_start < '2026-05-03')
FROM (VALUES ('AWS Lambda'), ('Tax')) v(s);
SELECT * FROM emu.requests();
-- a changing parameter that only feeds a local filter sends nothing new
SELECT emu.reset();
SELECT g, (SELECT count(*) FROM aws_cost WHERE period_start >= '2026-05-01'
           AND period_start < '2026-05-04' AND unblended_cost > g * 1000)
FROM generate_series(1, 3) g;
SELECT count(*) AS requests FROM emu.requests();

-- infinite bounds bound nothing: the defaults apply
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start >= '-infinity' AND period_start < '2025-07-01'$$);
SELECT * FROM emu.pushdown($$
SELECT period_start FROM aws_cost WHERE period_start > '2026-06-13' AND period_end <= 'infinity'$$);

-- granularity: =, IN, <> and NOT IN pick one granularity
SELECT * FROM emu.pushdown($$
SELECT granularity FROM aws_cost WHERE granularity IN ('MONTHLY') AND period_start >= '2026-04-01'$$);
SELECT * FROM emu.pushdown($$
SELECT granularity FROM aws_cost WHERE granularity <> 'DAILY' AND period_start >= '2026-04-01'$$);
SELECT * FROM emu.pushdown($$
SELECT granularity FROM aws_cost WHERE granularity NOT IN ('MONTHLY') AND period_start >= '2026-06-13'$$);
SELECT * FROM emu.pushdown($$
SELECT granularity FROM aws_cost WHERE granularity = 'WEEKLY'$$);
SELECT granularity FROM aws_cost WHERE granularity IN ('DAILY', 'MONTHLY');
