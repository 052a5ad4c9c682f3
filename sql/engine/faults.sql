--
-- The fault matrix: for each fault the server can serve, the error class
-- and text, the attempts made, that the query ends in bounded time, that
-- the next query of the session works, and that no secret is in the
-- message.
--
\i test/sql/common.sql
-- short back-off: the attempts are what is checked here, not the delays
SET finops_usage.retry_base_delay = 10;
SET finops_usage.retry_max_delay = 50;

CREATE FUNCTION pg_temp.fault(f text, OUT fault text, OUT outcome text, OUT attempts bigint,
                              OUT bounded boolean, OUT next_works boolean, OUT secret_shown boolean)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
  PERFORM emu.reset();
  PERFORM emu.fault(f);
  fault := concat_ws(' ', f::json->>'kind', f::json->>'status', 'x' || (f::json->>'count'), f::json->>'headers',
                     left(f::json->>'body', 30));
  t0 := clock_timestamp();
  outcome := regexp_replace(emu.try($q$SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-06-01'$q$),
                            '[0-9]+ (ms|milliseconds|times|bytes|kB|attempts|out of)', 'N \1', 'g');
  bounded := clock_timestamp() - t0 < interval '10 s';
  SELECT count(*) INTO attempts FROM emu.requests();
  secret_shown := outcome LIKE '%emulator/Secret/Key%';
  PERFORM emu.reset();
  next_works := emu.try($q$SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-06-01'$q$) = 'ok';
END $$;

SELECT r.* FROM (VALUES
  ('{"kind": "throttle", "target": "GetCostAndUsage", "count": 1}'),
  ('{"kind": "throttle", "target": "GetCostAndUsage", "count": 100}'),
  ('{"kind": "throttle", "target": "GetCostAndUsage", "count": 100, "headers": {"Retry-After": "0"}}'),
  ('{"kind": "throttle", "target": "GetCostAndUsage", "count": 1, "status": 429}'),
  ('{"kind": "throttle", "target": "GetCostAndUsage", "count": 100, "status": 429, "headers": {"Retry-After": "0"}}'),
  ('{"kind": "http500", "target": "GetCostAndUsage", "count": 1}'),
  ('{"kind": "http503", "target": "GetCostAndUsage", "count": 100}'),
  ('{"kind": "error", "target": "GetCostAndUsage", "count": 100}'),
  ('{"kind": "cut", "target": "GetCostAndUsage", "count": 100}'),
  ('{"kind": "truncated", "target": "GetCostAndUsage", "count": 1}'),
  ('{"kind": "drop", "target": "GetCostAndUsage", "count": 100}'),
  ('{"kind": "wrong_shape", "target": "GetCostAndUsage", "count": 1}'),
  ('{"kind": "malformed", "body": "<html><body>Bad gateway</body></html>"}'),
  ('{"kind": "malformed", "body": "{\"ResultsByTime\": [{\"TimePeriod\": {\"Start\": \"2026-06-01\", \"End\": \"2026-06-02\"}, \"Groups\": [{\"Keys\": [\"x\"], \"Metrics\": {\"UnblendedCost\": {\"Amount\": 12, \"Unit\": \"USD\"}}}]}]}"}'),
  ('{"kind": "malformed", "body": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}'),
  ('{"kind": "malformed", "body": ""}')
) AS v(f), LATERAL pg_temp.fault(f) AS r;
-- a silent server: the attempt times out, and retries stop within the budget
SET finops_usage.request_timeout = '300ms';
SET finops_usage.retry_budget = '1s';
SELECT fault, outcome, attempts BETWEEN 2 AND 6 AS attempts_2_to_6, bounded, next_works, secret_shown
FROM pg_temp.fault('{"kind": "slow", "target": "GetCostAndUsage", "count": 100, "delay": 5}');
-- a server that sends one byte every 0.3 s: the same bound
SELECT fault, outcome, attempts BETWEEN 2 AND 6 AS attempts_2_to_6, bounded, next_works, secret_shown
FROM pg_temp.fault('{"kind": "drip", "target": "GetCostAndUsage", "count": 100, "interval": 0.3}');
RESET finops_usage.request_timeout;
RESET finops_usage.retry_budget;
-- bodies over finops_usage.max_response_size, compressed (a gzip bomb of
-- 64 MB in 64 kB) or not: one attempt, no retry
SET finops_usage.max_response_size = 1024;
SELECT r.* FROM (VALUES
  ('{"kind": "gzip_bomb", "target": "GetCostAndUsage", "count": 100}'),
  ('{"kind": "huge", "target": "GetCostAndUsage", "count": 100}')
) AS v(f), LATERAL pg_temp.fault(f) AS r;
RESET finops_usage.max_response_size;
-- a NextPageToken that never changes: the second page is the last asked
SELECT * FROM pg_temp.fault('{"kind": "token_loop", "target": "GetCostAndUsage", "count": 100}');
-- invalid UTF-8 in an error message
SELECT emu.reset();
SELECT emu.body_hex(convert_to('{"__type": "ValidationException", "message": "bad ', 'UTF8') || '\xfffe'::bytea || convert_to('"}', 'UTF8'));
SELECT emu.try($$SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-06-01'$$);
SELECT emu.reset();
