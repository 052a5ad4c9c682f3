--
-- Results equal the emulator's own data: the expectations come from its
-- generator (/_emulator/expect), not from this extension's output.
--
\i test/sql/common.sql


-- totals by service over a quarter (daily data summed by PostgreSQL)
CREATE TEMP TABLE exp_service AS
  SELECT f1 AS service, f2::numeric AS cost
  FROM emu.expect('start=2026-01-01&end=2026-04-01&granularity=DAILY&group=SERVICE&metric=UnblendedCost&sum=1');
SELECT count(*) > 5 AS has_services FROM exp_service;
CREATE TEMP TABLE got_service AS
  SELECT service, sum(unblended_cost) AS cost FROM aws_cost
  WHERE period_start >= '2026-01-01' AND period_start < '2026-04-01'
  GROUP BY service;
-- the same rows, to the last decimal
SELECT * FROM emu.same_rows('TABLE got_service', 'TABLE exp_service');

-- totals by month (MONTHLY granularity) over a year
CREATE TEMP TABLE exp_month AS
  SELECT f1::date AS month, f2::date AS month_end, f3::numeric AS cost
  FROM emu.expect('start=2025-06-01&end=2026-06-01&granularity=MONTHLY&metric=UnblendedCost');
CREATE TEMP TABLE got_month AS
  SELECT period_start AS month, period_end AS month_end, unblended_cost AS cost FROM aws_cost
  WHERE granularity = 'MONTHLY' AND period_start >= '2025-06-01' AND period_start < '2026-06-01';
SELECT * FROM emu.same_rows('TABLE got_month', 'TABLE exp_month');

-- DAILY rows summed by month equal the MONTHLY rows
SELECT * FROM emu.same_rows($$
SELECT date_trunc('month', period_start)::date AS month, sum(unblended_cost) AS cost
FROM aws_cost WHERE period_start >= '2025-06-01' AND period_start < '2026-06-01'
GROUP BY 1$$, 'SELECT month, cost FROM got_month');

-- two dimensions, several metrics
CREATE TEMP TABLE exp_acct_region AS
  SELECT f1 AS linked_account, f2 AS region, f3::numeric AS cost
  FROM emu.expect('start=2026-05-01&end=2026-05-15&granularity=DAILY&group=LINKED_ACCOUNT,REGION&metric=AmortizedCost&sum=1');
SELECT * FROM emu.same_rows($$
SELECT linked_account, region, sum(amortized_cost) FROM aws_cost
WHERE period_start >= '2026-05-01' AND period_start < '2026-05-15' GROUP BY 1, 2$$,
  'TABLE exp_acct_region');
SELECT count(*) > 4 AS has_pairs FROM exp_acct_region;

-- tag values, with untagged cost as NULL
CREATE TEMP TABLE exp_team AS
  SELECT nullif(f1, '\N') AS team, f2::numeric AS cost
  FROM emu.expect('start=2026-05-01&end=2026-06-01&granularity=DAILY&group=TAG:team&metric=UnblendedCost&sum=1');
SELECT team, cost = (SELECT sum(unblended_cost) FROM aws_cost
                     WHERE tag_key = 'team' AND tag_value IS NOT DISTINCT FROM e.team
                       AND period_start >= '2026-05-01' AND period_start < '2026-06-01') AS equal
FROM exp_team e ORDER BY team NULLS LAST;
-- and no team the generator does not know
SELECT * FROM emu.same_rows($$
SELECT tag_value, sum(unblended_cost) FROM aws_cost
WHERE tag_key = 'team' AND period_start >= '2026-05-01' AND period_start < '2026-06-01'
GROUP BY 1 HAVING sum(unblended_cost) <> 0$$, 'TABLE exp_team');

-- the open month is estimated, closed ones are not
SELECT period_start, estimated FROM aws_cost
WHERE granularity = 'MONTHLY' AND period_start >= '2026-04-01' ORDER BY 1;
-- units
SELECT DISTINCT currency FROM aws_cost WHERE period_start = '2026-05-01';
SELECT usage_type, usage_unit FROM aws_cost
WHERE period_start = '2026-05-01' AND service = 'AWS Lambda' ORDER BY 1;
