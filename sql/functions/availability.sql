--
-- availability(): one row per server the user has a mapping for, checked
-- with one free call (STS GetCallerIdentity, or a token request); a broken
-- server is a row saying why, never an error.
--
\i test/sql/common.sql
\i test/sql/azure.sql
\i test/sql/gcp.sql
-- unreachable, and wrongly keyed
CREATE SERVER avail_down FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws', endpoint 'http://127.0.0.1:9');
CREATE USER MAPPING FOR CURRENT_USER SERVER avail_down
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01', secret_access_key 'emulator/Secret/Key/For/Tests+0123456789');
CREATE SERVER avail_badkey FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER avail_badkey
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01', secret_access_key 'wrong/secret/key');
-- no user mapping: no row
CREATE SERVER avail_nomap FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws', endpoint :'emu');

SELECT emu.reset();
SELECT server, provider, available, identity,
       regexp_replace(detail, '[0-9]+ ms', 'N ms') AS detail
FROM finops_usage.availability()
WHERE server IN ('aws_emu', 'azure_emu', 'gcp_emu', 'avail_down', 'avail_badkey', 'avail_nomap')
ORDER BY server;
-- free calls only: GetCallerIdentity and token requests (other files'
-- servers of this database are checked too)
SELECT count(*) FILTER (WHERE l LIKE 'GetCallerIdentity%') >= 2 AS identity_calls,
       count(*) FILTER (WHERE l LIKE 'azure.token%') >= 1 AS azure_token,
       count(*) FILTER (WHERE l LIKE 'oauth2.token%') >= 1 AS google_token,
       count(*) FILTER (WHERE l !~ '^(GetCallerIdentity|azure\.token|oauth2\.token|test\.token|AssumeRole)') AS other_calls
FROM emu.requests() AS l;
-- no secret in any detail
SELECT count(*) AS secrets_shown FROM finops_usage.availability()
WHERE detail LIKE '%wrong/secret/key%' OR detail LIKE '%emulator/Secret%' OR detail LIKE '%Emulator.Secret%';

DROP SERVER avail_down CASCADE;
DROP SERVER avail_badkey CASCADE;
DROP SERVER avail_nomap;
SELECT emu.reset();
