--
-- Faults: throttling, server errors, permanent errors, malformed or cut
-- responses, slow responses and statement_timeout.  The backend survives.
--
\getenv emu FU_EMULATOR_URL
SET fu_test.emu TO :'emu';
SET datestyle TO ISO;
SELECT emu.reset();

-- throttling is retried with backoff
SELECT emu.fault('{"kind": "throttle", "count": 2}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT * FROM emu.requests();

-- 5xx are transient
SELECT emu.reset();
SELECT emu.fault('{"kind": "http503", "count": 1}');
SELECT emu.fault('{"kind": "http500", "count": 1}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT count(*) AS requests FROM emu.requests();

-- when retries run out, the last error is reported
SELECT emu.reset();
SET finops_usage.max_retries = 2;
SELECT emu.fault('{"kind": "throttle", "count": 5}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT count(*) AS requests FROM emu.requests();
RESET finops_usage.max_retries;

-- a permanent error is not retried; code and message in DETAIL
SELECT emu.reset();
SELECT emu.fault('{"kind": "error", "status": 400, "code": "AccessDeniedException", "message": "User: arn:aws:iam::111111111111:user/analyst is not authorized to perform: ce:GetCostAndUsage"}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT count(*) AS requests FROM emu.requests();
-- the API's own validation errors come through the same way
SELECT count(*) FROM aws_cost WHERE period_start = '2025-03-05';

-- malformed, truncated and wrongly shaped bodies
SELECT emu.reset();
SELECT emu.fault('{"kind": "malformed"}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.fault('{"kind": "truncated"}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.fault('{"kind": "wrong_shape"}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT 'backend alive' AS status;

-- a connection cut mid-body is retried; cut every time, it fails cleanly
SELECT emu.reset();
SELECT emu.fault('{"kind": "cut", "count": 1}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SET finops_usage.max_retries = 1;
SELECT emu.fault('{"kind": "cut", "count": 2}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
RESET finops_usage.max_retries;

-- statement_timeout stops a hung request
SELECT emu.reset();
SELECT emu.fault('{"kind": "slow", "delay": 30}');
SET statement_timeout = '300ms';
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
RESET statement_timeout;
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';

-- nothing listens there: a connection error after the retries
CREATE SERVER aws_nowhere FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint 'http://127.0.0.1:9');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_nowhere
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01', secret_access_key 'x');
CREATE FOREIGN TABLE nowhere_cost (period_start date, unblended_cost numeric)
  SERVER aws_nowhere OPTIONS (source 'aws_cost');
SET finops_usage.max_retries = 1;
SELECT emu.try($$SELECT * FROM nowhere_cost WHERE period_start = '2026-05-01'$$);
RESET finops_usage.max_retries;
DROP SERVER aws_nowhere CASCADE;

-- a response larger than the cap
SELECT emu.config('{"page_size": 100000}');
SET finops_usage.max_response_size = '64kB';
SELECT count(DISTINCT usage_type) FROM aws_cost WHERE period_start >= '2026-01-01' AND period_start < '2026-04-01';
RESET finops_usage.max_response_size;
SELECT emu.reset();
