--
-- The request and paging API (request.c), through a provider built
-- outside the extension (test/engine/fu_test_provider.c) over the
-- emulator's provider-neutral test service: a token in the query string,
-- in the body, next links (only to the origin of the request), polling an
-- asynchronous job, and the delays a provider reads from its answers.
--
\i test/sql/common.sql
LOAD 'finops_usage';
LOAD 'fu_test_provider';
DROP SERVER IF EXISTS test_req CASCADE;
CREATE SERVER test_req FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'test', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER test_req
  OPTIONS (client_id 'test-client', client_secret 'test-secret');
DROP SCHEMA IF EXISTS req CASCADE;
CREATE SCHEMA req;
IMPORT FOREIGN SCHEMA test FROM SERVER test_req INTO req;
\d req.test_items
-- the data requests the emulator received, tokens masked (an emulator
-- reset forgets its tokens: the first call after one gets a 401 and a new
-- token, which engine/auth tests; those lines are left out here)
CREATE FUNCTION req.sent() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT regexp_replace(regexp_replace(line, 'pageToken=[^&]*', 'pageToken=<token>'),
                        '"pageToken":"[^"]*"', '"pageToken":"<token>"')
  FROM emu.requests() AS line
  WHERE line NOT LIKE 'TestToken%' AND line NOT LIKE '%[error=invalid_token]'
$$;

-- ===================================================================
-- paging styles: every item once, on the page the provider said
-- ===================================================================
-- a token in the query string (percent-encoded: tokens hold + / =)
SELECT emu.reset();
SELECT * FROM emu.explain($$SELECT * FROM req.test_items WHERE style = 'query' AND total = 5 AND size = 2$$);
SELECT page, n FROM req.test_items WHERE style = 'query' AND total = 5 AND size = 2;
SELECT * FROM req.sent();
-- a token in the body: the same body plus the token
SELECT emu.reset();
SELECT page, n FROM req.test_items WHERE style = 'body' AND total = 5 AND size = 2;
SELECT * FROM req.sent();
-- next links, followed to the end
SELECT emu.reset();
SELECT page, n FROM req.test_items WHERE style = 'link' AND total = 5 AND size = 2;
SELECT * FROM req.sent();
-- a link to another host, port or scheme is an ERROR: credentials never
-- go where a response says
SELECT regexp_replace(emu.try(format('SELECT * FROM req.test_items WHERE style = %L AND total = 5 AND size = 2', s)),
                      ':[0-9]+/', ':<port>/', 'g') AS refused
FROM unnest(ARRAY['link_host', 'link_port', 'link_scheme']) s;
-- an empty result is one page
SELECT count(*) FROM req.test_items WHERE style = 'query' AND total = 0;

-- ===================================================================
-- an asynchronous job: polled until complete (polls are not billed),
-- then paged
-- ===================================================================
SELECT emu.reset();
SELECT * FROM emu.explain($$
SELECT page, n FROM req.test_items WHERE style = 'job' AND total = 5 AND size = 2 AND polls = 3$$,
  'ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF');
SELECT * FROM req.sent();
SELECT page, n FROM req.test_items WHERE style = 'job' AND total = 3 AND size = 2 AND polls = 1;
-- a job that never completes is bounded by statement_timeout (and cancel)
SET statement_timeout = '300ms';
SELECT count(*) FROM req.test_items WHERE style = 'job' AND total = 3 AND size = 2 AND polls = -1;
RESET statement_timeout;
SELECT 'backend alive' AS status;

-- ===================================================================
-- retries: the provider classifies answers and names the delay
-- ===================================================================
-- throttled twice, then fine
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "count": 2, "target": "TestItems"}');
SELECT count(*) FROM req.test_items WHERE style = 'query' AND total = 3 AND size = 10;
SELECT * FROM req.sent();
-- a Retry-After is honoured (up to finops_usage.retry_max_delay)
SET finops_usage.retry_max_delay = '5s';
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "count": 1, "target": "TestItems", "headers": {"Retry-After": "1"}}');
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM req.test_items WHERE style = 'query' AND total = 3 AND size = 10;
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '1 second' AS waited_retry_after;
-- so is the provider's own header (milliseconds here)
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "count": 1, "target": "TestItems", "headers": {"x-test-retry-after-ms": "700"}}');
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM req.test_items WHERE style = 'query' AND total = 3 AND size = 10;
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '700 milliseconds' AS waited_provider_delay;
-- so is an HTTP date (far ahead here: capped at retry_max_delay, 800 ms;
-- the backoff alone would wait 0)
SET finops_usage.retry_base_delay = 0;
SET finops_usage.retry_max_delay = '800ms';
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "count": 1, "target": "TestItems", "headers": {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}}');
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM req.test_items WHERE style = 'query' AND total = 3 AND size = 10;
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '800 milliseconds' AS waited_retry_after_date;
RESET finops_usage.retry_base_delay;
-- and capped by retry_max_delay
SET finops_usage.retry_max_delay = '50ms';
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "count": 1, "target": "TestItems", "headers": {"Retry-After": "3600"}}');
SELECT count(*) FROM req.test_items WHERE style = 'query' AND total = 3 AND size = 10;
-- a failure the provider calls permanent is not retried
SELECT emu.reset();
SELECT emu.fault('{"kind": "error", "count": 1, "target": "TestItems"}');
SELECT count(*) FROM req.test_items WHERE style = 'query' AND total = 3 AND size = 10;
SELECT * FROM req.sent();
-- a page the provider cannot read
SELECT emu.fault('{"kind": "malformed", "target": "TestItems"}');
SELECT count(*) FROM req.test_items WHERE style = 'query' AND total = 3 AND size = 10;
SELECT 'backend alive' AS status;

DROP SCHEMA req CASCADE;
DROP SERVER test_req CASCADE;
