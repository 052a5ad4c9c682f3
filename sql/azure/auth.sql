--
-- Azure credentials: the client-credentials flow, one token per audience
-- (ARM; the metrics data plane for getBatch), cached and renewed after a
-- 401; access_token; the server's AZURE_* variables; errors that name the
-- tenant and client, never the secret.
--
\i test/sql/azure.sql

SELECT emu.reset();
SELECT count(*) > 0 AS rows FROM azure_usage_by_service
WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-02' AND cost_type = 'Usage';
SELECT count(*) > 0 AS rows FROM azure_metrics
WHERE resource_id = ANY (ARRAY['/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1',
                               '/subscriptions/5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/api-1'])
  AND region = 'westeurope' AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 12:00+00';
SELECT count(*) > 0 AS rows FROM azure_usage_by_resource_group
WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-02' AND cost_type = 'Usage';
-- one token per audience, each for every later call
SELECT regexp_replace(line, '^(azure.token) .* scope=(\S+) .*$', '\1 \2') AS call, count(*)
FROM emu.requests() AS line WHERE line LIKE 'azure.token%' GROUP BY 1 ORDER BY 1;
SELECT split_part(line, ' ', 1) AS call, count(*)
FROM emu.requests() AS line WHERE line NOT LIKE 'azure.token%' GROUP BY 1 ORDER BY 1;
SELECT r->'headers'->>'authorization' ~ '^Bearer azure\.emu-[0-9]+-(arm|metrics)-' AS bearer, r->>'operation' AS op
FROM json_array_elements((SELECT string_agg(line, E'\n') FROM emu.call('/_emulator/requests?format=json') AS line)::json) r
WHERE r->>'operation' <> 'azure.token' GROUP BY 1, 2 ORDER BY 2;
SELECT count(*) FROM emu.requests() AS line WHERE line ~ 'northwind~Emulator';

-- Azure says the token is no longer valid: one new token, the call again
SELECT emu.reset();
SELECT emu.call('/_emulator/azure/expire', '{}');
SELECT count(*) > 0 AS rows FROM azure_usage_by_service
WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-02' AND cost_type = 'Usage';
SELECT split_part(line, ' ', 1) || coalesce(' ' || substring(line from '\[error=[^]]*\]'), '') AS call
FROM emu.requests() AS line;

-- a wrong secret, an unknown tenant or client: the error names tenant and
-- client, never the secret
CREATE SERVER azure_bad FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'azure', endpoint :'emu', subscription_id '5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61');
CREATE FOREIGN TABLE bad_usage (usage_date date, cost numeric)
  SERVER azure_bad OPTIONS (source 'azure_usage');
CREATE FUNCTION pg_temp.with_mapping(opts text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE msg text; det text; hint text;
BEGIN
  EXECUTE 'DROP USER MAPPING IF EXISTS FOR CURRENT_USER SERVER azure_bad';
  EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER azure_bad OPTIONS (%s)', opts);
  PERFORM count(*) FROM bad_usage WHERE usage_date >= '2026-06-01' AND usage_date < '2026-06-02';
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RETURN SQLSTATE || ': ' || msg || ' / ' || coalesce(det, '') || ' / ' || coalesce(hint, '');
END $$;
SELECT pg_temp.with_mapping($$tenant_id '4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47', client_id 'b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63', client_secret 'not-the-secret'$$);
SELECT pg_temp.with_mapping($$tenant_id '00000000-0000-0000-0000-000000000000', client_id 'b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63', client_secret 'northwind~Emulator.Secret-0123456789'$$);
SELECT pg_temp.with_mapping($$tenant_id '4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47', client_id 'b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b64', client_secret 'northwind~Emulator.Secret-0123456789'$$);
SELECT pg_temp.with_mapping($$tenant_id '4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47', client_id 'b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63'$$);
SELECT pg_temp.with_mapping($$tenant_id 'not-a-guid', client_id 'b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63', client_secret 'northwind~Emulator.Secret-0123456789'$$);
SELECT pg_temp.with_mapping($$access_token E'x\r\nX-Injected: 1'$$);
-- access_token: used as it is, for every audience; refused when bad
SELECT pg_temp.with_mapping($$access_token 'azure.northwind-emulator-demo'$$);
SELECT pg_temp.with_mapping($$access_token 'azure.revoked'$$);
-- nothing at all; the server's own AZURE_* (test/lib.sh sets them)
SELECT pg_temp.with_mapping($$use_server_credentials 'false'$$);
SELECT pg_temp.with_mapping($$use_server_credentials 'true'$$);
SELECT l FROM emu.explain($$SELECT * FROM bad_usage WHERE usage_date >= '2026-06-01'$$) AS l WHERE l ~ 'Credentials';
DROP SERVER azure_bad CASCADE;
