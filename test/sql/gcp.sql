\set ECHO none
--
-- What every GCP regression test starts with (\i test/sql/gcp.sql): the
-- common setup, and a server "gcp_emu" for the emulator's Google Cloud
-- (project northwind-prod, the billing export table) whose user mapping
-- holds the service-account key of ../shared/fixtures/gcp-auth (the
-- emulator checks its JWTs with the key's certificate), and the imported
-- tables gcp_metrics and gcp_cost.  Silent and idempotent.
--
\i test/sql/common.sql
\set ECHO none
\o /dev/null
SET client_min_messages = warning;
\set gcp_key `cat ../shared/fixtures/gcp-auth/service_account.json`
SELECT set_config('fu_test.gcp_key', :'gcp_key', false);
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_foreign_server WHERE srvname = 'gcp_emu') THEN
    EXECUTE format('CREATE SERVER gcp_emu FOREIGN DATA WRAPPER finops_usage OPTIONS (provider %L, endpoint %L, project_id %L, billing_table %L)',
                   'gcp', current_setting('fu_test.emu'), 'northwind-prod',
                   'northwind-billing.billing_export.gcp_billing_export_v1_01AB23_CD45EF_6789AB');
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER gcp_emu OPTIONS (service_account_key %L)',
                   current_setting('fu_test.gcp_key'));
  END IF;
  IF to_regclass('public.gcp_metrics') IS NULL THEN
    IMPORT FOREIGN SCHEMA gcp FROM SERVER gcp_emu INTO public;
  END IF;
END $$;
-- the emulator's own Monitoring points (not through the API code)
CREATE OR REPLACE FUNCTION emu.gcp_points(query text)
RETURNS TABLE (resource_id text, ts timestamptz, value float8) LANGUAGE sql AS $$
  SELECT split_part(l, E'\t', 1), split_part(l, E'\t', 2)::timestamptz, split_part(l, E'\t', 3)::float8
  FROM emu.call('/_emulator/expect/gcp_metrics?' || query) AS l
$$;
-- the emulator's own billing totals (not through the SQL evaluator)
CREATE OR REPLACE FUNCTION emu.gcp_cost(query text)
RETURNS SETOF text LANGUAGE sql AS $$
  SELECT l FROM emu.call('/_emulator/expect/gcp_cost?' || query) AS l
$$;
RESET client_min_messages;
SET TimeZone = 'UTC';
\o
\set ECHO all
