--
-- Hardening: no line break from an option or a page reaches a header or a
-- request line; a page token seen before is a loop; an amount is a finite
-- decimal; provider text in messages is cut; what cannot succeed is not
-- retried; retries end with a time budget; no password in EXPLAIN, no
-- session token in the emulator's log.
--
\i test/sql/common.sql

-- header injection through one's own user mapping: refused when set
CREATE SERVER aws_hard FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws', endpoint :'emu');
SELECT emu.try($$CREATE USER MAPPING FOR CURRENT_USER SERVER aws_hard OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01', secret_access_key 'x', session_token E'tok\r\n\r\nGET /smuggled HTTP/1.1\r\n')$$);
SELECT emu.try($$CREATE USER MAPPING FOR CURRENT_USER SERVER aws_hard OPTIONS (access_key_id E'AKIA\nX', secret_access_key 'x')$$);

-- a session token is not in the emulator's log in clear
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_hard
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01', secret_access_key 'emulator/Secret/Key/For/Tests+0123456789',
           session_token 'FwoGZXIvYXdzEXAMPLESESSIONTOKENVALUE0123456789');
CREATE FOREIGN TABLE hard_cost (period_start date, service text, unblended_cost numeric)
  SERVER aws_hard OPTIONS (source 'aws_cost');
SELECT emu.reset();
SELECT emu.try($$SELECT count(*) FROM hard_cost WHERE period_start = '2026-06-01'$$) IS NOT NULL AS asked;
SELECT count(*) AS in_clear FROM emu.call('/_emulator/requests?format=json') AS l
WHERE l ~ 'EXAMPLESESSIONTOKENVALUE';

-- an endpoint's password is not shown by EXPLAIN
ALTER SERVER aws_hard OPTIONS (SET endpoint 'http://user:s3cret@127.0.0.1:9/');
SELECT l FROM emu.explain($$SELECT * FROM hard_cost WHERE period_start = '2026-06-01'$$) AS l
WHERE l ~ 'Request';
DROP SERVER aws_hard CASCADE;

-- a page token seen before, the last or one of a cycle, is a loop
SELECT emu.reset();
SELECT emu.body('{"ResultsByTime": [], "NextPageToken": "A"}');
SELECT emu.body('{"ResultsByTime": [], "NextPageToken": "B"}');
SELECT emu.body('{"ResultsByTime": [], "NextPageToken": "A"}');
SET finops_usage.max_billable_calls = 0;
SELECT emu.try($$SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-06-01' AND period_start < '2026-06-03'$$);
RESET finops_usage.max_billable_calls;
SELECT count(*) AS requests FROM emu.requests();

-- an amount is a finite decimal string: anything else is an error naming
-- the column, the value cut
CREATE FUNCTION pg_temp.amount(a text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM emu.reset();
  PERFORM emu.post_big('/_emulator/fault', json_build_object('kind', 'malformed', 'body',
    '{"ResultsByTime": [{"TimePeriod": {"Start": "2026-06-01", "End": "2026-06-02"}, "Total": {}, "Groups": [{"Keys": ["AWS Lambda"], "Metrics": {"UnblendedCost": {"Amount": ' || a || ', "Unit": "USD"}}}], "Estimated": false}]}')::text);
  RETURN left(emu.try($q$SELECT sum(unblended_cost) FROM aws_cost_by_service WHERE period_start = '2026-06-01' AND granularity = 'DAILY' HAVING count(*) > 0$q$), 300);
END $$;
SELECT pg_temp.amount('"NaN"');
SELECT pg_temp.amount('"Infinity"');
SELECT pg_temp.amount('"-Infinity"');
SELECT pg_temp.amount('{"x": 1}');
SELECT pg_temp.amount('[1]');
CREATE FUNCTION pg_temp.amount_message_length(a text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_temp.amount(a);
  PERFORM emu.post_big('/_emulator/fault', json_build_object('kind', 'malformed', 'body',
    '{"ResultsByTime": [{"TimePeriod": {"Start": "2026-06-01", "End": "2026-06-02"}, "Total": {}, "Groups": [{"Keys": ["AWS Lambda"], "Metrics": {"UnblendedCost": {"Amount": ' || a || ', "Unit": "USD"}}}], "Estimated": false}]}')::text);
  RETURN length(emu.try($q$SELECT sum(unblended_cost) FROM aws_cost_by_service WHERE period_start = '2026-06-01' AND granularity = 'DAILY' HAVING count(*) > 0$q$));
END $$;
SELECT pg_temp.amount_message_length('"' || repeat('9', 1000000) || '"') < 1000 AS short_message;
SELECT pg_temp.amount('"12.50"');

-- provider text is cut in messages (a 10 MB error message)
SELECT emu.reset();
SELECT emu.post_big('/_emulator/fault', json_build_object('kind', 'error', 'target', 'GetCostAndUsage', 'code', 'ValidationException',
                                   'message', repeat('x', 10000000))::text);
SELECT length(emu.try($$SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-06-01'$$)) < 1000 AS short,
       emu.try($$SELECT 1$$) = 'ok' AS session_works;

-- response headers too large for libcurl: not retried
SELECT emu.reset();
SELECT emu.post_big('/_emulator/fault', json_build_object('kind', 'error', 'target', 'GetCostAndUsage', 'code', 'ValidationException',
                                   'headers', json_build_object('X-Padding', repeat('p', 300000)))::text);
SELECT regexp_replace(emu.try($$SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-06-01'$$), '[0-9]+', 'N', 'g');
SELECT count(*) AS attempts FROM emu.requests();

-- retries end with their time budget, whatever max_retries says
SELECT emu.reset();
SELECT emu.fault('{"kind": "http503", "target": "GetCostAndUsage", "count": 1000}');
SET finops_usage.max_retries = 100;
SET finops_usage.retry_budget = '300ms';
SELECT regexp_replace(emu.try($$SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-06-01'$$), '[0-9]+ (times|ms)', 'N \1', 'g');
RESET finops_usage.max_retries;
RESET finops_usage.retry_budget;
SELECT count(*) BETWEEN 2 AND 40 AS bounded_attempts FROM emu.requests();
SELECT emu.reset();

-- a backend waiting on the network says so in pg_stat_activity
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SELECT emu.reset();
SELECT emu.fault('{"kind": "slow", "target": "GetCostAndUsage", "delay": 2}');
SELECT dblink_connect('waiter', format('host=%s port=%s dbname=%s user=%s',
                      current_setting('unix_socket_directories'), current_setting('port'),
                      current_database(), current_user));
SELECT dblink_exec('waiter', format('SET fu_test.emu TO %L', current_setting('fu_test.emu')));
SELECT dblink_exec('waiter', 'SET finops_usage.today = ''2026-06-15''');
SELECT dblink_exec('waiter', 'SET finops_usage.cache_ttl = 0');
SELECT dblink_send_query('waiter', $$SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-06-01'$$);
SELECT pg_sleep(0.7);
SELECT wait_event_type, wait_event FROM pg_stat_activity
WHERE query LIKE 'SELECT count(*) FROM aws_cost_by_service%' AND pid <> pg_backend_pid();
SELECT * FROM dblink_get_result('waiter') AS t(n bigint);
SELECT dblink_disconnect('waiter');
SELECT emu.reset();
