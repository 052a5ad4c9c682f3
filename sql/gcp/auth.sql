--
-- GCP credentials: the service-account JWT-bearer flow (RS256, checked by
-- the emulator against the key's certificate), one token for many scans,
-- a refresh when Google answers 401, access_token, the server's own
-- GOOGLE_APPLICATION_CREDENTIALS, and the errors of each.
--
\i test/sql/gcp.sql

-- the JSON request log: the assertion's header and claims (the emulator
-- keeps no signature)
CREATE FUNCTION pg_temp.jwt_part(body text, n int) RETURNS json LANGUAGE sql AS $$
  SELECT convert_from(decode(rpad(translate(p, '-_', '+/'),
                                  (length(p) + 3) / 4 * 4, '='), 'base64'), 'UTF8')::json
  FROM split_part(split_part(body, 'assertion=', 2), '.', n) AS p
$$;
CREATE FUNCTION pg_temp.token_requests() RETURNS SETOF json LANGUAGE sql AS $$
  SELECT r FROM json_array_elements((SELECT string_agg(line, E'\n')
    FROM emu.call('/_emulator/requests?format=json') AS line)::json) r
  WHERE r->>'operation' = 'oauth2.token'
$$;

-- this session's first scans: one token request, then the data requests
SELECT emu.reset();
SELECT count(*) FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND resource_id = '5858899134637695161' AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00';
SELECT count(*) FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND resource_id = '1187178284809700523' AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00';
SELECT split_part(line, ' ', 1) AS operation, count(*)
FROM emu.requests() AS line GROUP BY 1 ORDER BY 1;
-- the assertion: RS256 with the key's id, the key's client_email, the
-- key's token_uri as audience (the request went to the endpoint), one hour
SELECT pg_temp.jwt_part(t->>'body', 1) AS header FROM pg_temp.token_requests() t;
SELECT c->>'iss' AS iss, c->>'aud' AS aud, c->>'scope' AS scope,
       (c->>'exp')::bigint - (c->>'iat')::bigint AS lifetime,
       abs((c->>'iat')::bigint - extract(epoch FROM now())::bigint) < 300 AS iat_now
FROM pg_temp.token_requests() t, pg_temp.jwt_part(t->>'body', 2) AS c;
SELECT t->>'path' AS path, t->>'status' AS status FROM pg_temp.token_requests() t;
-- the token is a bearer token of the data requests, and never in EXPLAIN
SELECT count(*) FROM emu.explain($$SELECT * FROM gcp_metrics WHERE metric_type = 'x'$$) l
WHERE l ~ 'ya29|Bearer|PRIVATE';
SELECT l FROM emu.explain($$SELECT * FROM gcp_metrics WHERE metric_type = 'x'$$) l
WHERE l ~ 'Credentials';

-- Google says the token is no longer valid: one new token, the request again
SELECT emu.reset();
SELECT emu.call('/_emulator/gcp/expire', '{}');
SELECT count(*) FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND resource_id = '5858899134637695161' AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00';
SELECT regexp_replace(line, ' filter=.*?( \[|$)', ' ...\1') FROM emu.requests() AS line;

-- a token endpoint that throttles is asked again
SELECT emu.reset();
SELECT emu.call('/_emulator/gcp/expire', '{}');
SELECT emu.fault('{"kind": "http503", "target": "oauth2.token", "count": 1}');
SELECT count(*) > 0 AS rows FROM gcp_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'
  AND resource_id = '5858899134637695161' AND ts >= '2026-06-14 10:00+00' AND ts < '2026-06-14 11:00+00';
SELECT split_part(line, ' ', 1) AS operation, count(*)
FROM emu.requests() AS line GROUP BY 1 ORDER BY 1;

-- keys the token endpoint refuses, and keys that cannot sign
CREATE SERVER gcp_bad FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'gcp', endpoint :'emu', project_id 'northwind-prod');
CREATE FOREIGN TABLE bad_metrics (metric_type text, ts timestamptz, value float8)
  SERVER gcp_bad OPTIONS (source 'gcp_metrics');
CREATE FUNCTION pg_temp.with_key(key text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER gcp_bad OPTIONS (service_account_key %L)', key);
  RETURN emu.try($q$SELECT count(*) FROM bad_metrics WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'$q$);
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE FUNCTION pg_temp.drop_mapping() RETURNS void LANGUAGE sql AS
  $$ DROP USER MAPPING IF EXISTS FOR CURRENT_USER SERVER gcp_bad $$;
-- another key id: the signature does not verify
SELECT pg_temp.with_key(jsonb_set(current_setting('fu_test.gcp_key')::jsonb, '{private_key_id}', '"2"')::text);
SELECT pg_temp.drop_mapping();
-- a service account Google does not know
SELECT pg_temp.with_key(jsonb_set(current_setting('fu_test.gcp_key')::jsonb, '{client_email}', '"nobody@example.com"')::text);
SELECT pg_temp.drop_mapping();
-- a private key that is not one
SELECT pg_temp.with_key(jsonb_set(current_setting('fu_test.gcp_key')::jsonb, '{private_key}',
  '"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"')::text);
SELECT pg_temp.drop_mapping();
-- a token_uri elsewhere is not contacted without an endpoint
ALTER SERVER gcp_bad OPTIONS (DROP endpoint);
SELECT pg_temp.with_key(jsonb_set(current_setting('fu_test.gcp_key')::jsonb, '{token_uri}', '"https://attacker.example/token"')::text);
SELECT pg_temp.drop_mapping();
ALTER SERVER gcp_bad OPTIONS (ADD endpoint :'emu');
-- keys that are not service-account keys are refused when set
SELECT pg_temp.with_key('{"type": "authorized_user", "client_id": "x"}');
SELECT pg_temp.with_key('not json');
SELECT pg_temp.with_key('{"type": "service_account", "client_email": "a@b.c"}');

-- access_token: the token as it is; one Google refuses is an error
CREATE USER MAPPING FOR CURRENT_USER SERVER gcp_bad OPTIONS (access_token 'ya29.northwind-emulator-demo');
SELECT count(*) > 0 AS rows FROM bad_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization' AND ts >= '2026-06-14 10:00+00';
SELECT l FROM emu.explain($$SELECT * FROM bad_metrics WHERE metric_type = 'x'$$) l WHERE l ~ 'Credentials';
ALTER USER MAPPING FOR CURRENT_USER SERVER gcp_bad OPTIONS (SET access_token 'ya29.revoked');
SELECT emu.try($$SELECT count(*) FROM bad_metrics WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'$$);
SELECT emu.try($$ALTER USER MAPPING FOR CURRENT_USER SERVER gcp_bad OPTIONS (SET access_token E'ya29.x\r\nX-Injected: 1')$$);
SELECT emu.try($$ALTER USER MAPPING FOR CURRENT_USER SERVER gcp_bad OPTIONS (ADD service_account_key '{}')$$);
SELECT pg_temp.drop_mapping();

-- no credentials at all, and the server's own (GOOGLE_APPLICATION_CREDENTIALS
-- of the database server, which test/lib.sh points at the fixture key)
CREATE USER MAPPING FOR CURRENT_USER SERVER gcp_bad;
SELECT emu.try($$SELECT count(*) FROM bad_metrics WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization'$$);
ALTER USER MAPPING FOR CURRENT_USER SERVER gcp_bad OPTIONS (ADD use_server_credentials 'true');
SELECT count(*) > 0 AS rows FROM bad_metrics
WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization' AND ts >= '2026-06-14 10:00+00';
SELECT l FROM emu.explain($$SELECT * FROM bad_metrics WHERE metric_type = 'x'$$) l WHERE l ~ 'Credentials';
SELECT pg_temp.drop_mapping();
DROP SERVER gcp_bad CASCADE;
