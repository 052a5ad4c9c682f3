--
-- COMMENTs on the tables IMPORT FOREIGN SCHEMA creates: what each table and
-- column means, its unit, which conditions push down, its closed set of
-- values.
--
\i test/sql/common.sql
\i test/sql/azure.sql
\i test/sql/gcp.sql
CREATE SCHEMA doc_aws;
CREATE SCHEMA doc_gcp;
CREATE SCHEMA doc_azure;
IMPORT FOREIGN SCHEMA aws FROM SERVER aws_emu INTO doc_aws;
IMPORT FOREIGN SCHEMA gcp FROM SERVER gcp_emu INTO doc_gcp;
IMPORT FOREIGN SCHEMA azure FROM SERVER azure_emu INTO doc_azure;
CREATE VIEW doc_columns AS
SELECT c.relnamespace::regnamespace AS schema, c.relname AS table_name, a.attnum, a.attname AS column_name,
       col_description(c.oid, a.attnum) AS comment
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace IN ('doc_aws'::regnamespace, 'doc_gcp'::regnamespace, 'doc_azure'::regnamespace);
-- every table and column is commented, with its meaning before what the
-- engine adds (a column without a text of its provider would start with it)
SELECT schema, count(DISTINCT table_name) AS tables, count(*) AS columns,
       count(*) FILTER (WHERE comment IS NOT NULL
                          AND comment !~ '^(Pushed down|Conditions on it)') AS explained
FROM doc_columns GROUP BY 1 ORDER BY 1;
SELECT schema, table_name, column_name, comment FROM doc_columns
WHERE comment IS NULL OR comment ~ '^(Pushed down|Conditions on it)';
SELECT c.relnamespace::regnamespace AS schema, c.relname, obj_description(c.oid, 'pg_class')
FROM pg_class c
WHERE c.relnamespace IN ('doc_aws'::regnamespace, 'doc_gcp'::regnamespace, 'doc_azure'::regnamespace)
ORDER BY 1, 2;
-- a table's columns
SELECT column_name, comment FROM doc_columns
WHERE schema = 'doc_aws'::regnamespace AND table_name = 'aws_cost' ORDER BY attnum;
SELECT column_name, comment FROM doc_columns
WHERE schema = 'doc_aws'::regnamespace AND table_name = 'aws_metrics' ORDER BY attnum;
-- the same FOCUS column pushes down on one provider and not on another
SELECT schema, table_name, comment FROM doc_columns
WHERE column_name IN ('regionid', 'chargeperiodstart', 'chargecategory') ORDER BY column_name, schema;
-- LIMIT TO imports are commented too; a table made by hand is not, until
-- its owner asks
CREATE SCHEMA doc_more;
IMPORT FOREIGN SCHEMA aws LIMIT TO (aws_cost_by_service) FROM SERVER aws_emu INTO doc_more;
CREATE FOREIGN TABLE doc_more.mine (period_start date, service text, unblended_cost numeric, note text)
  SERVER aws_emu OPTIONS (source 'aws_cost');
SELECT c.relname, a.attname, col_description(c.oid, a.attnum) IS NOT NULL AS commented
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
WHERE c.relnamespace = 'doc_more'::regnamespace ORDER BY 1, a.attnum;
SELECT finops_usage._comment_table('doc_more.mine');
SELECT a.attname, col_description(a.attrelid, a.attnum)
FROM pg_attribute a WHERE a.attrelid = 'doc_more.mine'::regclass AND a.attnum > 0 ORDER BY a.attnum;
-- only the owner may; other tables are left alone
CREATE TABLE doc_more.plain (a int);
SELECT finops_usage._comment_table('doc_more.plain');
CREATE ROLE doc_other;
GRANT USAGE ON SCHEMA doc_more, finops_usage TO doc_other;
SET ROLE doc_other;
SELECT finops_usage._comment_table('doc_more.mine');
RESET ROLE;
DROP SCHEMA doc_aws, doc_gcp, doc_azure, doc_more CASCADE;
REVOKE USAGE ON SCHEMA finops_usage FROM doc_other;
DROP ROLE doc_other;
