--
-- IMPORT FOREIGN SCHEMA and narrow tables
--
\i test/sql/common.sql

CREATE SCHEMA imp1;
IMPORT FOREIGN SCHEMA aws LIMIT TO (aws_cost_by_region, aws_cost) FROM SERVER aws_emu INTO imp1;
\det imp1.*
CREATE SCHEMA imp2;
IMPORT FOREIGN SCHEMA aws EXCEPT (aws_cost) FROM SERVER aws_emu INTO imp2;
\det imp2.*
\d imp2.aws_cost_by_account
IMPORT FOREIGN SCHEMA gcp FROM SERVER aws_emu INTO imp2;
-- a provider this build does not have is refused where it is named, not
-- accepted to create nothing later
CREATE SERVER ali_emu FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'alibaba');
-- LIMIT TO and EXCEPT name tables of the provider
IMPORT FOREIGN SCHEMA aws LIMIT TO (aws_costs) FROM SERVER aws_emu INTO imp2;
IMPORT FOREIGN SCHEMA aws EXCEPT (aws_metric) FROM SERVER aws_emu INTO imp2;
IMPORT FOREIGN SCHEMA aws FROM SERVER aws_emu INTO imp2 OPTIONS (import_default 'true');
DROP SCHEMA imp1 CASCADE;
DROP SCHEMA imp2 CASCADE;

-- SELECT * works on the narrow tables
SELECT emu.reset();
SELECT * FROM aws_cost_by_region WHERE period_start = '2026-05-01' ORDER BY region;
SELECT * FROM emu.requests();
SELECT count(*), count(DISTINCT linked_account) FROM aws_cost_by_account
WHERE period_start = '2026-05-01';
-- and on aws_cost it explains itself
SELECT * FROM aws_cost WHERE period_start = '2026-05-01';

-- a hand-written table may declare any subset, in any order
CREATE FOREIGN TABLE my_costs (unblended_cost numeric, service text, period_start date)
  SERVER aws_emu OPTIONS (source 'aws_cost');
SELECT service, round(unblended_cost, 2) FROM my_costs
WHERE period_start = '2026-05-01' AND service IN ('AWS Lambda', 'Amazon DynamoDB') ORDER BY 1;
DROP FOREIGN TABLE my_costs;
