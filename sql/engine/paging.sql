--
-- Paging, the billable-call cap and rescans
--
\i test/sql/common.sql

-- a small page size: NextPageToken is followed to the end
SELECT emu.reset();
SELECT emu.config('{"page_size": 40}');
CREATE TEMP TABLE paged AS
  SELECT period_start, usage_type, unblended_cost FROM aws_cost
  WHERE period_start >= '2026-03-01' AND period_start < '2026-04-01';
SELECT count(*) AS rows, count(DISTINCT period_start) AS days FROM paged;
SELECT count(*) AS requests,
       count(*) FILTER (WHERE line LIKE '%"NextPageToken":"<token>"%') AS with_token
FROM emu.requests() AS line;
-- every page repeats the identical request plus the token
SELECT DISTINCT replace(line, ',"NextPageToken":"<token>"', '') FROM emu.requests() AS line;
-- one big page gives the same rows
SELECT emu.config('{"page_size": 100000}');
SELECT count(*) FROM (
  (SELECT period_start, usage_type, unblended_cost FROM aws_cost
   WHERE period_start >= '2026-03-01' AND period_start < '2026-04-01'
   EXCEPT ALL TABLE paged)
  UNION ALL
  (TABLE paged EXCEPT ALL
   SELECT period_start, usage_type, unblended_cost FROM aws_cost
   WHERE period_start >= '2026-03-01' AND period_start < '2026-04-01')) d;

-- EXPLAIN ANALYZE counts the calls made
SELECT emu.config('{"page_size": 500}');
SELECT * FROM emu.explain($$
SELECT usage_type FROM aws_cost WHERE period_start >= '2026-03-01' AND period_start < '2026-03-15'$$,
  'ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF');

-- the cap stops a scan before the call that would exceed it
SELECT emu.reset();
SELECT emu.config('{"page_size": 40}');
SET finops_usage.max_billable_calls = 3;
SELECT count(DISTINCT usage_type) FROM aws_cost WHERE period_start >= '2026-03-01' AND period_start < '2026-04-01';
SELECT count(*) AS requests_sent FROM emu.requests();
SELECT emu.reset();
SELECT emu.config('{"page_size": 40}');
SET finops_usage.max_billable_calls = 0;
SELECT count(DISTINCT usage_type) > 0 AS unlimited FROM aws_cost
WHERE period_start >= '2026-03-01' AND period_start < '2026-04-01';
SELECT count(*) AS requests_sent FROM emu.requests();
RESET finops_usage.max_billable_calls;

-- rescans with unchanged parameters do not fetch again
SELECT emu.reset();
SELECT emu.config('{"page_size": 10}');
SELECT * FROM emu.explain($$
SELECT g, (SELECT count(DISTINCT service) FROM aws_cost WHERE period_start = '2026-05-01' AND g > 0)
FROM generate_series(1, 4) g$$, 'COSTS OFF');
SELECT g, (SELECT count(DISTINCT service) FROM aws_cost WHERE period_start = '2026-05-01' AND g > 0)
FROM generate_series(1, 4) g;
SELECT count(*) AS requests FROM emu.requests();
-- a rewindable rescan (inner side of a semi-join) replays stored rows and
-- fetches the rest only if more are asked for
SELECT emu.reset();
SELECT emu.config('{"page_size": 5}');
SET enable_material = off;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
CREATE FUNCTION small_set() RETURNS SETOF int ROWS 1 LANGUAGE sql AS 'SELECT generate_series(1, 3)';
SELECT * FROM emu.explain($$
SELECT x FROM small_set() x WHERE EXISTS (SELECT 1 FROM aws_cost c
  WHERE c.period_start = '2026-05-01' AND c.service IS NOT NULL AND x > 0)$$, 'COSTS OFF');
SELECT x FROM small_set() x WHERE EXISTS (SELECT 1 FROM aws_cost c
  WHERE c.period_start = '2026-05-01' AND c.service IS NOT NULL AND x > 0);
SELECT count(*) AS requests FROM emu.requests();
RESET enable_material;
RESET enable_hashjoin;
RESET enable_mergejoin;

-- the billable-call cap counts every rescan of the scan
SELECT emu.reset();
SET finops_usage.max_billable_calls = 2;
SELECT d, (SELECT count(*) FROM aws_cost WHERE period_start = d)
FROM (VALUES (date '2026-05-01'), (date '2026-05-02'), (date '2026-05-03')) v(d);
RESET finops_usage.max_billable_calls;
SELECT count(*) AS requests FROM emu.requests();

-- a rescan with new parameter values fetches for those values
SELECT emu.reset();
SELECT d, (SELECT count(*) FROM aws_cost WHERE period_start = d)
FROM (VALUES (date '2026-05-01'), (date '2026-05-02'), (date '2026-05-03')) v(d);
SELECT * FROM emu.requests();
SELECT emu.reset();

-- a rewindable rescan whose stored rows went to disk
SET work_mem = '64kB';
SET enable_material = off;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_hashagg = off;
CREATE TEMP TABLE picks AS
  SELECT period_start, usage_type FROM aws_cost
  WHERE period_start >= '2026-03-01' AND period_start < '2026-04-01'
  ORDER BY md5(period_start::text || usage_type) LIMIT 40;
SELECT emu.reset();
SELECT count(*) FROM picks p WHERE EXISTS (
  SELECT 1 FROM aws_cost c WHERE c.period_start >= '2026-03-01' AND c.period_start < '2026-04-01'
    AND c.period_start = p.period_start AND c.usage_type = p.usage_type);
SELECT count(*) AS requests FROM emu.requests();
RESET work_mem;
RESET enable_material;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_hashagg;
SELECT emu.reset();
