\set ECHO none
--
-- What every Azure regression test starts with (\i test/sql/azure.sql): the
-- common setup, and a server "azure_emu" for the emulator's Azure
-- (Northwind's production subscription) whose user mapping holds the
-- emulator's Entra ID application (tenant, client id, client secret), and
-- the imported tables azure_usage (and its narrow tables) and
-- azure_metrics.  Silent and idempotent.
--
\i test/sql/common.sql
\set ECHO none
\o /dev/null
SET client_min_messages = warning;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_foreign_server WHERE srvname = 'azure_emu') THEN
    EXECUTE format('CREATE SERVER azure_emu FOREIGN DATA WRAPPER finops_usage OPTIONS (provider %L, endpoint %L, subscription_id %L, scope %L)',
                   'azure', current_setting('fu_test.emu'), '5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61',
                   '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61');
    CREATE USER MAPPING FOR CURRENT_USER SERVER azure_emu
      OPTIONS (tenant_id '4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47',
               client_id 'b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63',
               client_secret 'northwind~Emulator.Secret-0123456789');
  END IF;
  IF to_regclass('public.azure_usage') IS NULL THEN
    IMPORT FOREIGN SCHEMA azure FROM SERVER azure_emu INTO public;
  END IF;
END $$;
-- the emulator's own Cost Management sums (not through the API code)
CREATE OR REPLACE FUNCTION emu.azure_usage(query text)
RETURNS SETOF text LANGUAGE sql AS $$
  SELECT l FROM emu.call('/_emulator/expect/azure_usage?' || query) AS l
$$;
RESET client_min_messages;
SET TimeZone = 'UTC';
\o
\set ECHO all
