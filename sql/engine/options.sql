--
-- Options: validation, hints, privileges, credentials, secrets
--
\i test/sql/common.sql

-- a server needs a provider, from a closed list
CREATE SERVER bad FOREIGN DATA WRAPPER finops_usage;
CREATE SERVER bad FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'oracle');
-- unknown options get the closest valid one as a hint
CREATE SERVER bad FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws', regoin 'eu-west-1');
CREATE SERVER bad FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws', access_key_id 'x');
CREATE SERVER bad FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws', endpoint 'file:///etc/passwd');
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_emu OPTIONS (ADD acces_key_id 'x');
CREATE FOREIGN DATA WRAPPER fu2 HANDLER finops_usage.finops_usage_handler
  VALIDATOR finops_usage.finops_usage_validator OPTIONS (provider 'aws');
-- table options: source must name a source
CREATE FOREIGN TABLE bad_src (period_start date) SERVER aws_emu OPTIONS (source 'aws_costs');
CREATE FOREIGN TABLE bad_src (period_start date) SERVER aws_emu OPTIONS (sorce 'aws_cost');

-- a table that names no source, and columns the source does not have
CREATE FOREIGN TABLE my_costs (period_start date) SERVER aws_emu;
SELECT * FROM my_costs;
DROP FOREIGN TABLE my_costs;
CREATE FOREIGN TABLE my_costs (period_start date, servce text) SERVER aws_emu OPTIONS (source 'aws_cost');
SELECT * FROM my_costs;
DROP FOREIGN TABLE my_costs;
CREATE FOREIGN TABLE my_costs (period_start date, unblended_cost float8) SERVER aws_emu OPTIONS (source 'aws_cost');
SELECT * FROM my_costs;
DROP FOREIGN TABLE my_costs;

-- non-superusers may not point the server elsewhere, read files,
-- or borrow the server's own credentials
CREATE ROLE fu_analyst;
GRANT USAGE ON FOREIGN DATA WRAPPER finops_usage TO fu_analyst;
GRANT CREATE ON SCHEMA public TO fu_analyst;
SET ROLE fu_analyst;
CREATE SERVER analyst_aws FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint 'http://127.0.0.1:1');
CREATE SERVER analyst_aws FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', ca_file '/etc/ssl/private/key.pem');
CREATE SERVER analyst_aws FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws');
CREATE USER MAPPING FOR fu_analyst SERVER analyst_aws
  OPTIONS (use_server_credentials 'true');
ALTER SERVER analyst_aws OPTIONS (ADD endpoint 'http://127.0.0.2:1');
-- without credentials a scan stops before any request
CREATE USER MAPPING FOR fu_analyst SERVER analyst_aws;
CREATE FOREIGN TABLE analyst_cost (period_start date, unblended_cost numeric)
  SERVER analyst_aws OPTIONS (source 'aws_cost');
SELECT * FROM analyst_cost WHERE period_start = '2026-06-01';
RESET ROLE;
DROP FOREIGN TABLE analyst_cost;
DROP USER MAPPING FOR fu_analyst SERVER analyst_aws;
DROP SERVER analyst_aws;
REVOKE ALL ON SCHEMA public FROM fu_analyst;
REVOKE ALL ON FOREIGN DATA WRAPPER finops_usage FROM fu_analyst;
DROP ROLE fu_analyst;

-- a superuser may allow the server's own credentials: here the file the
-- test harness gives the server in AWS_SHARED_CREDENTIALS_FILE
CREATE SERVER aws_ambient FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_ambient
  OPTIONS (use_server_credentials 'true');
CREATE FOREIGN TABLE ambient_cost (period_start date, unblended_cost numeric)
  SERVER aws_ambient OPTIONS (source 'aws_cost');
SELECT period_start, round(unblended_cost, 2) FROM ambient_cost WHERE period_start = '2026-06-01';
-- without that permission the same mapping has no credentials
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_ambient OPTIONS (SET use_server_credentials 'false');
SELECT * FROM ambient_cost WHERE period_start = '2026-06-01';
DROP SERVER aws_ambient CASCADE;

-- a wrong secret: the emulator checks the signature; no secret in the error
CREATE SERVER aws_wrong FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_wrong
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01', secret_access_key 'not-the-secret-9f8e7d');
CREATE FOREIGN TABLE wrong_cost (period_start date, unblended_cost numeric)
  SERVER aws_wrong OPTIONS (source 'aws_cost');
SELECT * FROM wrong_cost WHERE period_start = '2026-06-01';
-- an unknown access key
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_wrong
  OPTIONS (SET access_key_id 'AKIANOSUCHKEY0000000');
SELECT * FROM wrong_cost WHERE period_start = '2026-06-01';
DROP SERVER aws_wrong CASCADE;

-- temporary credentials: the session token is sent and signed
CREATE SERVER aws_temp FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_temp
  OPTIONS (access_key_id 'ASIAFINOPSEMULATOR02', secret_access_key 'emulator/Temp/Secret/Key+9876543210',
           session_token 'emulator-session-token');
CREATE FOREIGN TABLE temp_cost (period_start date, unblended_cost numeric)
  SERVER aws_temp OPTIONS (source 'aws_cost');
SELECT period_start, round(unblended_cost, 2) FROM temp_cost WHERE period_start = '2026-06-01';
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_temp OPTIONS (DROP session_token);
SELECT period_start, round(unblended_cost, 2) FROM temp_cost WHERE period_start = '2026-06-01';
DROP SERVER aws_temp CASCADE;

-- an endpoint with a path prefix keeps it, and is signed with it
\set emu_prefixed :emu/aws-proxy
CREATE SERVER aws_prefixed FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu_prefixed');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_prefixed
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01', secret_access_key 'emulator/Secret/Key/For/Tests+0123456789');
CREATE FOREIGN TABLE prefixed_cost (period_start date, unblended_cost numeric)
  SERVER aws_prefixed OPTIONS (source 'aws_cost');
SELECT emu.reset();
SELECT period_start, round(unblended_cost, 2) FROM prefixed_cost WHERE period_start = '2026-06-01';
SELECT json_array_elements(string_agg(line, E'\n')::json)->>'path' AS path
FROM emu.call('/_emulator/requests?format=json') AS line;
DROP SERVER aws_prefixed CASCADE;

-- EXPLAIN shows the request but never the credentials, and sends nothing
SELECT emu.reset();
SELECT * FROM emu.explain($$
SELECT period_start, unblended_cost FROM aws_cost WHERE period_start = '2026-06-01'$$);
SELECT count(*) AS requests_sent FROM emu.requests();
DO $$
DECLARE line text; leaked bool := false;
BEGIN
  FOR line IN EXPLAIN (VERBOSE, FORMAT JSON)
      SELECT * FROM aws_cost_by_service WHERE period_start = '2026-06-01'
  LOOP
    leaked := leaked OR line LIKE '%emulator/Secret%' OR line LIKE '%AKIAFINOPS%';
  END LOOP;
  RAISE NOTICE 'credentials in EXPLAIN: %', leaked;
END $$;
