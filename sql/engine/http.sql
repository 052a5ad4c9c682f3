--
-- Faults: throttling, server errors, permanent errors, malformed or cut
-- responses, slow responses and statement_timeout.  The backend survives.
--
\i test/sql/common.sql
SELECT emu.reset();

-- throttling is retried with backoff
SELECT emu.fault('{"kind": "throttle", "count": 2}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT * FROM emu.requests();

-- HTTP 429 is a throttle whatever the body says
SELECT emu.reset();
SELECT emu.fault('{"kind": "error", "status": 429, "code": "TooManyRequests", "message": "slow down", "count": 2}');
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

-- ===================================================================
-- hostile pages: every odd shape is a clean ERROR, never a crash
-- ===================================================================
SELECT emu.reset();
SELECT emu.body('{"ResultsByTime":[[["x"]]]}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01","End":"2026-05-02"},"Total":[{"Amount":"1"}]}]}');
SELECT unblended_cost FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01","End":"2026-05-02"},"Total":{"UnblendedCost":{"Amount":12.5,"Unit":"USD"}}}]}');
SELECT unblended_cost FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01","End":"2026-05-02"},"Total":{"UnblendedCost":{"Amount":"12.5x","Unit":"USD"}}}]}');
SELECT unblended_cost FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01"},"Total":{}}]}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01xyz","End":"2026-05-02"},"Total":{}}]}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01","End":"2026-05-02"},"Groups":[{"Keys":[42],"Metrics":{}}]}]}');
SELECT service FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body(repeat('[', 40) || repeat(']', 40));
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body('{"ResultsByTime":[]} {"more":1}');
SELECT count(*) FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01","End":"2026-05-02"},"Groups":[{"Keys":["bad\u0000nul"],"Metrics":{}}]}]}');
SELECT service FROM aws_cost WHERE period_start = '2026-05-01';
SELECT emu.body_hex(convert_to('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01","End":"2026-05-02"},"Groups":[{"Keys":["', 'UTF8') || '\xc328'::bytea || convert_to('"],"Metrics":{}}]}]}', 'UTF8'));
SELECT service FROM aws_cost WHERE period_start = '2026-05-01';
SELECT 'backend alive' AS status;
-- escapes are undone: \u escapes, surrogate pairs, and \" in keys
SELECT emu.body('{"ResultsByTime":[{"TimePeriod":{"Start":"2026-05-01","End":"2026-05-02"},"Groups":[{"Keys":["Amazon \u00c9lastic \ud83d\ude80 \"quoted\" back\\slash"],"Metrics":{"UnblendedCost":{"Amount":"1.50","Unit":"USD"}}}],"Estimated":false}]}');
SELECT service, unblended_cost FROM aws_cost WHERE period_start = '2026-05-01';
-- CloudWatch values must be numbers
SELECT emu.body('{"MetricDataResults":[{"Id":"m0","Timestamps":[1781395200],"Values":["1.5"],"StatusCode":"Complete"}]}');
SELECT value FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:05+00';
SELECT emu.body('{"MetricDataResults":[{"Id":"m7","Timestamps":[1781395200],"Values":[1.5],"StatusCode":"Complete"}]}');
SELECT value FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:05+00';
SELECT emu.body('{"MetricDataResults":[{"Id":"m0","Timestamps":[1781395200,1781395260],"Values":[1.5],"StatusCode":"Complete"}]}');
SELECT value FROM aws_metrics WHERE resource_type = 'ec2' AND resource_id = 'i-0a1b2c3d4e5f60001'
  AND metric_name = 'CPUUtilization' AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 00:05+00';
SELECT 'backend alive' AS status;

-- provider messages never show credentials: a signature error may echo
-- the canonical request, with the session token in it
CREATE SERVER aws_tok FOREIGN DATA WRAPPER finops_usage OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_tok
  OPTIONS (access_key_id 'ASIAFINOPSEMULATOR02', secret_access_key 'emulator/Temp/Secret/Key+9876543210',
           session_token 'emulator-session-token');
CREATE FOREIGN TABLE tok_cost (period_start date, unblended_cost numeric) SERVER aws_tok OPTIONS (source 'aws_cost');
SELECT emu.fault('{"kind": "error", "status": 403, "code": "InvalidSignatureException", "message": "Signature mismatch for token emulator-session-token and key emulator/Temp/Secret/Key+9876543210. The Canonical String for this request should have been\n''POST\n/\n\nx-amz-security-token:emulator-session-token''"}');
SELECT * FROM tok_cost WHERE period_start = '2026-05-01';
DROP SERVER aws_tok CASCADE;
SELECT emu.reset();
