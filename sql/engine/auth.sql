--
-- The credential layer (auth.c), through the test provider: a bearer
-- token from an OAuth client-credentials endpoint, obtained before the
-- data requests, cached per backend, refreshed before it expires, renewed
-- once when the API says it expired, and forgotten when the server or the
-- user mapping changes.  (AWS AssumeRole: aws/assume_role.)
--
\i test/sql/common.sql
LOAD 'finops_usage';
LOAD 'fu_test_provider';
DROP SERVER IF EXISTS test_auth CASCADE;
CREATE SERVER test_auth FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'test', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER test_auth
  OPTIONS (client_id 'test-client', client_secret 'test-secret');
CREATE FOREIGN TABLE auth_items (page int, n int, style text, total int, size int)
  SERVER test_auth OPTIONS (source 'test_items');

-- the requests the emulator received since the last call of this
-- (an emulator reset forgets its tokens, so this test resets it once)
CREATE TEMP TABLE seen (n int);
INSERT INTO seen VALUES (0);
CREATE FUNCTION pg_temp.sent_since() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE before int := (SELECT n FROM seen);
BEGIN
  UPDATE seen SET n = (SELECT count(*) FROM emu.requests());
  RETURN QUERY SELECT line FROM (SELECT line, row_number() OVER () AS i
                                 FROM emu.requests() AS line) l WHERE i > before;
END $$;

-- EXPLAIN names the method and sends nothing, not even for the token
SELECT emu.reset();
SELECT * FROM emu.explain($$SELECT * FROM auth_items WHERE total = 2$$);
SELECT * FROM pg_temp.sent_since();

-- one token, obtained before the data requests, for every request of the
-- scan and of later scans
SELECT count(*) FROM auth_items WHERE total = 5 AND size = 1;
SELECT count(*) FROM auth_items WHERE total = 3 AND size = 1;
SELECT split_part(line, ' ', 1) AS operation, count(*)
FROM pg_temp.sent_since() AS line GROUP BY 1 ORDER BY 1;
SELECT line FROM emu.requests() AS line LIMIT 2;
-- it travels in the Authorization header only (the log keeps its start)
SELECT DISTINCT (r->'headers'->>'authorization') ~ '^Bearer test-t…$' AS bearer
FROM json_array_elements((SELECT string_agg(line, E'\n') FROM emu.call('/_emulator/requests?format=json') AS line)::json) r
WHERE r->>'operation' = 'TestItems';

-- the API says the token expired: refreshed once, the request sent again
SELECT emu.call('/_emulator/test/expire', '{}');
SELECT count(*) FROM auth_items WHERE total = 3 AND size = 10;
SELECT * FROM pg_temp.sent_since();
-- when the fresh token is refused as well, the error says so (no loop)
SELECT emu.call('/_emulator/test/expire', '{}');
SELECT emu.fault('{"kind": "error", "status": 401, "code": "token_expired", "message": "still expired", "target": "TestItems"}');
SELECT count(*) FROM auth_items WHERE total = 3 AND size = 10;
SELECT * FROM pg_temp.sent_since();

-- a token about to expire is refreshed before the data requests: one of
-- an hour with less than five minutes left; a short-lived one with less
-- than half its life left (here 4 s)
SELECT emu.config('{"test_token_ttl": 4}');
SELECT emu.call('/_emulator/test/expire', '{}');
SELECT count(*) FROM auth_items WHERE total = 2 AND size = 10;
SELECT * FROM pg_temp.sent_since();
SELECT count(*) FROM auth_items WHERE total = 2 AND size = 10;
SELECT pg_sleep(2.5);
SELECT count(*) FROM auth_items WHERE total = 2 AND size = 10;
SELECT * FROM pg_temp.sent_since();
SELECT emu.config('{"test_token_ttl": 3600}');

-- a changed user mapping is used at once: the cached token is dropped
ALTER USER MAPPING FOR CURRENT_USER SERVER test_auth OPTIONS (SET client_secret 'wrong-secret');
SELECT count(*) FROM auth_items WHERE total = 2 AND size = 10;
ALTER USER MAPPING FOR CURRENT_USER SERVER test_auth OPTIONS (SET client_secret 'test-secret');
SELECT count(*) FROM auth_items WHERE total = 2 AND size = 10;
SELECT * FROM pg_temp.sent_since();
-- so is a changed server
ALTER SERVER test_auth OPTIONS (SET endpoint 'http://127.0.0.1:9');
SET finops_usage.max_retries = 0;
SELECT emu.try($$SELECT count(*) FROM auth_items WHERE total = 2$$);
RESET finops_usage.max_retries;
ALTER SERVER test_auth OPTIONS (SET endpoint :'emu');
SELECT count(*) FROM auth_items WHERE total = 2 AND size = 10;
SELECT * FROM pg_temp.sent_since();

-- options of another provider are refused when the mapping is used
ALTER USER MAPPING FOR CURRENT_USER SERVER test_auth OPTIONS (ADD access_key_id 'AKIAX');
SELECT count(*) FROM auth_items;
ALTER USER MAPPING FOR CURRENT_USER SERVER test_auth OPTIONS (DROP access_key_id);
-- and an AWS mapping with the test provider's options likewise
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_emu OPTIONS (ADD client_id 'x');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
ALTER USER MAPPING FOR CURRENT_USER SERVER aws_emu OPTIONS (DROP client_id);

DROP SERVER test_auth CASCADE;
