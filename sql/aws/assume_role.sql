--
-- AWS AssumeRole (src/aws/sts.c): role_arn, external_id, role_session_name
-- and duration on the user mapping; STS over the Query protocol (a signed
-- form POST to the regional endpoint, which the server's endpoint option
-- redirects), the credentials cached and refreshed before they expire.
--
\i test/sql/common.sql
DROP SERVER IF EXISTS aws_role CASCADE;
CREATE SERVER aws_role FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu', region 'eu-west-1');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_role
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01',
           secret_access_key 'emulator/Secret/Key/For/Tests+0123456789',
           role_arn 'arn:aws:iam::111111111111:role/finops-reader');
CREATE FOREIGN TABLE role_cost (period_start date, unblended_cost numeric)
  SERVER aws_role OPTIONS (source 'aws_cost');
CREATE FOREIGN TABLE role_metrics (region text, resource_type text, resource_id text, metric_name text,
                                   period int, ts timestamptz, value float8)
  SERVER aws_role OPTIONS (source 'aws_metrics');
-- the requests of the emulator's JSON log, for their headers
CREATE FUNCTION pg_temp.sent() RETURNS SETOF json LANGUAGE sql AS $$
  SELECT json_array_elements(string_agg(line, E'\n')::json)
  FROM emu.call('/_emulator/requests?format=json') AS line
$$;

-- EXPLAIN names the role and sends nothing, not even to STS
SELECT emu.reset();
SELECT * FROM emu.explain($$SELECT * FROM role_cost WHERE period_start = '2026-06-01'$$);
SELECT count(*) AS requests_sent FROM emu.requests();

-- the role is assumed once, before the data requests; its temporary
-- credentials (with their session token) sign them, and later scans too
SELECT period_start, round(unblended_cost, 2) FROM role_cost WHERE period_start = '2026-06-01';
SELECT period_start, round(unblended_cost, 2) FROM role_cost WHERE period_start = '2026-06-02';
SELECT line FROM emu.requests() AS line;
SELECT r->>'operation' AS operation, r->>'method' AS method, r->>'path' AS path,
       r->'headers'->>'content-type' AS content_type,
       substring(r->'headers'->>'authorization' FROM 'Credential=([A-Z0-9]{4})[A-Z0-9]+/[0-9]{8}/([a-z0-9-]+/[a-z]+)') AS key_kind,
       substring(r->'headers'->>'authorization' FROM 'Credential=[A-Z0-9]+/[0-9]{8}/([a-z0-9-]+/[a-z]+)/') AS scope,
       r->'headers'->>'x-amz-security-token' IS NOT NULL AS session_token
FROM pg_temp.sent() r;
-- the same data as with the keys themselves
SELECT * FROM emu.same_rows(
  $$SELECT period_start, unblended_cost FROM role_cost WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08'$$,
  $$SELECT period_start, unblended_cost FROM aws_cost WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08'$$);
-- CloudWatch in another region signs with the same role credentials
SELECT emu.reset();
SELECT count(*) AS points FROM role_metrics
WHERE region = 'us-east-1' AND resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND period = 300 AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 01:00+00';
SELECT split_part(line, ' ', 1) AS operation, split_part(line, ' ', 2) AS region FROM emu.requests() AS line;

-- credentials the API calls expired: assumed again once, the call repeated
SELECT emu.reset();
SELECT emu.call('/_emulator/sts/expire', '{}');
SELECT period_start, round(unblended_cost, 2) FROM role_cost WHERE period_start = '2026-06-03';
SELECT line FROM emu.requests() AS line;

-- credentials about to expire are assumed again before the data requests
-- (here they live 4 s: refreshed with less than half their life left)
SELECT emu.reset();
SELECT emu.config('{"sts_credential_seconds": 4}');
SELECT emu.call('/_emulator/sts/expire', '{}');
SELECT count(*) FROM role_cost WHERE period_start = '2026-06-04';
SELECT count(*) FROM role_cost WHERE period_start = '2026-06-04';
SELECT pg_sleep(2.5);
SELECT count(*) FROM role_cost WHERE period_start = '2026-06-04';
SELECT line FROM emu.requests() AS line;
SELECT emu.config('{"sts_credential_seconds": null}');

-- external_id, role_session_name and duration go into the call; a role
-- that needs an external id refuses without it: the error names the
-- role, never a secret
SELECT emu.reset();
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role
  OPTIONS (SET role_arn 'arn:aws:iam::222222222222:role/partner-billing');
SELECT * FROM role_cost WHERE period_start = '2026-06-01';
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role
  OPTIONS (ADD external_id 'northwind-ext-42', ADD role_session_name 'cost-report', ADD duration '7200');
SELECT period_start, round(unblended_cost, 2) FROM role_cost WHERE period_start = '2026-06-01';
SELECT line FROM emu.requests() AS line;
-- STS's own checks come back with its code and message
SELECT emu.reset();
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role
  OPTIONS (SET role_arn 'arn:aws:iam::111111111111:role/finops-reader');
SELECT * FROM role_cost WHERE period_start = '2026-06-01';
-- temporary base credentials: role chaining is capped at an hour (the
-- partner role would allow 12)
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role
  OPTIONS (SET role_arn 'arn:aws:iam::222222222222:role/partner-billing',
           SET access_key_id 'ASIAFINOPSEMULATOR02', SET secret_access_key 'emulator/Temp/Secret/Key+9876543210',
           ADD session_token 'emulator-session-token');
SELECT * FROM role_cost WHERE period_start = '2026-06-01';
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET duration '3600');
SELECT count(*) FROM role_cost WHERE period_start = '2026-06-01';
-- STS throttling is retried like any other throttle
SELECT emu.reset();
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET duration '900');
SELECT emu.fault('{"kind": "throttle", "count": 2, "target": "AssumeRole"}');
SELECT count(*) FROM role_cost WHERE period_start = '2026-06-01';
SELECT line FROM emu.requests() AS line;
-- wrong base keys: STS says so
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role
  OPTIONS (SET secret_access_key 'not-the-secret-at-all');
SELECT * FROM role_cost WHERE period_start = '2026-06-01';

-- option values are checked when the mapping is written
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET role_arn 'finops-reader');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET role_arn 'arn:aws:iam::1111:role/x');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET role_arn 'arn:aws-cn:iam::111111111111:role/x');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET duration '60');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET duration 'an hour');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET duration ' 3600');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET duration '+3600');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET role_session_name 'cost report');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role OPTIONS (SET external_id 'x');
-- and an option of AssumeRole without a role is an error, not ignored
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role
  OPTIONS (DROP role_arn, SET access_key_id 'AKIAFINOPSEMULATOR01',
           SET secret_access_key 'emulator/Secret/Key/For/Tests+0123456789', DROP session_token);
SELECT * FROM role_cost WHERE period_start = '2026-06-01';
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_role
  OPTIONS (DROP external_id, DROP role_session_name, DROP duration);
SELECT period_start, round(unblended_cost, 2) FROM role_cost WHERE period_start = '2026-06-01';

DROP SERVER aws_role CASCADE;
