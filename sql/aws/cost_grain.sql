--
-- The grain of Cost Explorer tables (SPEC §3.1): a table that declares at
-- most two dimensions is always grouped by all of them, so count(*), a
-- view and a materialized view see the rows SELECT * sees; only the wide
-- aws_cost, with more dimensions than the API can group by, has a
-- query-shaped grain.
--
\i test/sql/common.sql

-- the generator's rows: a week by region (it leaves out zero amounts)
CREATE TEMP TABLE exp_week AS
  SELECT f1::date AS period_start, f3 AS region, f4::numeric AS unblended_cost
  FROM emu.expect('start=2026-05-01&end=2026-05-08&granularity=DAILY&group=REGION&metric=UnblendedCost');
SELECT count(*) AS expected_rows, count(DISTINCT region) AS regions FROM exp_week;

-- count(*) reads no column, and still counts day x region: the request
-- groups by the table's dimension
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_region WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT line FROM emu.requests() AS line;
-- a view, a materialized view, one column or all: the same rows
CREATE VIEW week_by_region AS
  SELECT * FROM aws_cost_by_region WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
CREATE MATERIALIZED VIEW week_by_region_mv AS SELECT * FROM week_by_region;
SELECT (SELECT count(*) FROM week_by_region) AS view_rows,
       (SELECT count(*) FROM week_by_region_mv) AS matview_rows,
       (SELECT count(*) FROM (SELECT period_start FROM week_by_region) s) AS one_column,
       (SELECT count(DISTINCT (period_start, region)) FROM week_by_region) AS day_region_pairs;
-- and they are the generator's, to the last decimal
SELECT * FROM emu.same_rows(
  'SELECT period_start, region, unblended_cost FROM week_by_region_mv WHERE unblended_cost <> 0',
  'TABLE exp_week');
-- aggregates that read no dimension agree with them
SELECT round(avg(unblended_cost), 8) = (SELECT round(avg(unblended_cost), 8) FROM week_by_region_mv) AS same_avg,
       max(unblended_cost) = (SELECT max(unblended_cost) FROM exp_week) AS same_max
FROM week_by_region;
DROP MATERIALIZED VIEW week_by_region_mv;
DROP VIEW week_by_region;

-- the other narrow tables: one row per day and value (the API also
-- returns the groups whose amount is zero)
SELECT count(*) FILTER (WHERE unblended_cost <> 0) =
       (SELECT count(*) FROM emu.expect('start=2026-05-01&end=2026-05-02&granularity=DAILY&group=SERVICE'))
         AS by_service,
       (SELECT count(*) FILTER (WHERE unblended_cost <> 0) FROM aws_cost_by_account WHERE period_start = '2026-05-01') =
       (SELECT count(*) FROM emu.expect('start=2026-05-01&end=2026-05-02&granularity=DAILY&group=LINKED_ACCOUNT'))
         AS by_account,
       (SELECT count(*) FILTER (WHERE unblended_cost <> 0) FROM aws_cost_by_usage_type WHERE period_start = '2026-05-01') =
       (SELECT count(*) FROM emu.expect('start=2026-05-01&end=2026-05-02&granularity=DAILY&group=USAGE_TYPE'))
         AS by_usage_type,
       count(*) AS services
FROM aws_cost_by_service WHERE period_start = '2026-05-01';
-- a dimension fixed by "=" needs no grouping: one row per day, its value filled in
SELECT * FROM emu.pushdown($$
SELECT * FROM aws_cost_by_service WHERE service = 'AWS Lambda'
  AND period_start >= '2026-05-01' AND period_start < '2026-05-04'$$);
SELECT count(*), min(service), max(service) FROM aws_cost_by_service WHERE service = 'AWS Lambda'
  AND period_start >= '2026-05-01' AND period_start < '2026-05-04';
-- an IN list keeps the grouping
SELECT count(*) FROM aws_cost_by_service WHERE service IN ('AWS Lambda', 'Amazon DynamoDB')
  AND period_start >= '2026-05-01' AND period_start < '2026-05-04';

-- a table of one's own with two dimensions is grouped by both
CREATE FOREIGN TABLE cost_by_account_region
  (period_start date, linked_account text, region text, unblended_cost numeric)
  SERVER aws_emu OPTIONS (source 'aws_cost');
SELECT * FROM emu.pushdown($$
SELECT count(*) FROM cost_by_account_region WHERE period_start = '2026-05-01'$$);
SELECT count(*) = count(DISTINCT (linked_account, region)) AS one_row_per_pair
FROM cost_by_account_region WHERE period_start = '2026-05-01';
DROP FOREIGN TABLE cost_by_account_region;

-- the wide aws_cost is the documented exception: a row is one period x
-- the dimensions the query reads, at most two of them
SELECT count(*) AS days FROM aws_cost
WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(region) AS day_region_rows FROM aws_cost
WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT * FROM aws_cost WHERE period_start = '2026-05-01';
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01' AND service || region || usage_type <> '';
