--
-- The result cache shared by every connection, and the stats view: a
-- repeated query costs no call, from this session or another one; another
-- identity, another request or an expired entry goes to the API; corrupt
-- entries are fetched again; the counters match what the API saw.
--
\i test/sql/common.sql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SET finops_usage.cache_ttl = 3600;
SELECT finops_usage.clear_cache() >= 0 AS cleared;
SELECT finops_usage.reset_stats();
SELECT emu.reset();

-- the answer with the cache off: what every cached answer must equal
SET finops_usage.cache_ttl = 0;
CREATE TEMP TABLE fresh AS
SELECT * FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) AS requests FROM emu.requests();
SET finops_usage.cache_ttl = 3600;

-- first run: the API is asked (and the answer kept); the second: it is not
SELECT emu.reset();
CREATE TEMP TABLE first_run AS
SELECT * FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) AS requests FROM emu.requests();
SELECT emu.reset();
CREATE TEMP TABLE second_run AS
SELECT * FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) AS requests FROM emu.requests();
SELECT * FROM emu.same_rows('TABLE fresh', 'TABLE first_run');
SELECT * FROM emu.same_rows('TABLE fresh', 'TABLE second_run');

-- EXPLAIN says the cache has the call; ANALYZE that it answered it
SELECT e FROM emu.explain($$SELECT * FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08'$$) AS e
WHERE btrim(e) LIKE 'Billable%';
SELECT e FROM emu.explain($$SELECT * FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-09'$$) AS e
WHERE btrim(e) LIKE 'Billable%';
SELECT * FROM emu.explain($$SELECT * FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08'$$,
                          'VERBOSE, ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF') AS e
WHERE btrim(e) ~ '^(Billable|Cache|Estimated)';

-- another connection gets the same rows with no request
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s options=''-c finops_usage.today=2026-06-15''',
                      current_setting('unix_socket_directories'), current_setting('port'),
                      current_database(), current_user));
SELECT emu.reset();
CREATE TEMP TABLE other_run AS
SELECT * FROM dblink('other', $$SELECT period_start, service, unblended_cost FROM aws_cost_by_service
                                WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08'$$)
  AS t(period_start date, service text, unblended_cost numeric);
SELECT count(*) AS requests FROM emu.requests();
SELECT * FROM emu.same_rows('SELECT period_start, service, unblended_cost FROM fresh', 'TABLE other_run');
SELECT dblink_disconnect('other');

-- other filters, columns or windows never share an entry
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08' AND service = 'Amazon Simple Storage Service';
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-05-02' AND period_start < '2026-05-08';
SELECT count(*), sum(blended_cost) > 0 AS has_cost FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) FROM aws_cost WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) FROM aws_cost_by_region WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) AS requests FROM emu.requests();

-- another identity (a user mapping with other keys) makes its own requests
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_cache_reader') THEN
    CREATE ROLE regress_cache_reader;
  END IF;
END $$;
GRANT USAGE ON FOREIGN SERVER aws_emu TO regress_cache_reader;
GRANT USAGE ON SCHEMA finops_usage TO regress_cache_reader;
GRANT SELECT ON aws_cost_by_service TO regress_cache_reader;
DROP USER MAPPING IF EXISTS FOR regress_cache_reader SERVER aws_emu;
CREATE USER MAPPING FOR regress_cache_reader SERVER aws_emu
  OPTIONS (access_key_id 'ASIAFINOPSEMULATOR02', secret_access_key 'emulator/Temp/Secret/Key+9876543210',
           session_token 'emulator-session-token');
SELECT emu.reset();
SET ROLE regress_cache_reader;
CREATE TEMP TABLE reader_run AS
SELECT * FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
RESET ROLE;
SELECT count(*) AS requests FROM emu.requests();
SELECT * FROM emu.same_rows('TABLE fresh', 'TABLE reader_run');
-- other keys in the same user mapping are another identity
ALTER USER MAPPING FOR regress_cache_reader SERVER aws_emu
  OPTIONS (SET access_key_id 'AKIAFINOPSEMULATOR01', SET secret_access_key 'emulator/Secret/Key/For/Tests+0123456789',
           DROP session_token);
SELECT emu.reset();
SET ROLE regress_cache_reader;
CREATE TEMP TABLE reader_run2 AS
SELECT * FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
RESET ROLE;
SELECT count(*) AS requests FROM emu.requests();
SELECT * FROM emu.same_rows('TABLE fresh', 'TABLE reader_run2');
-- and a user clears only its own entries: the next query of the first
-- identity is still served from the cache
SET ROLE regress_cache_reader;
SELECT finops_usage.clear_cache() AS removed_by_reader;
RESET ROLE;
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) AS requests FROM emu.requests();

-- TTL: with cache_ttl = 1, June (still estimated) is fetched again after
-- 2 s, May (final: Estimated false) is not, under cache_ttl_final
SET finops_usage.cache_ttl = 1;
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-06-01' AND period_start < '2026-06-04';
SELECT pg_sleep(2);
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-06-01' AND period_start < '2026-06-04';
SELECT count(*) AS requests_june FROM emu.requests();
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) AS requests_may FROM emu.requests();
-- an entry older than the reader's TTL is not used
SET finops_usage.cache_ttl_final = 1;
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08';
SELECT count(*) AS requests_may FROM emu.requests();
RESET finops_usage.cache_ttl_final;
SET finops_usage.cache_ttl = 3600;

-- a read-only transaction reads and fills the cache
SELECT emu.reset();
BEGIN READ ONLY;
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-04-01' AND period_start < '2026-04-03';
COMMIT;
SELECT count(*) AS requests FROM emu.requests();
SELECT emu.reset();
BEGIN READ ONLY;
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-04-01' AND period_start < '2026-04-03';
COMMIT;
SELECT count(*) AS requests FROM emu.requests();

-- corrupt entries are ignored, removed and fetched again: a byte changed,
-- a file cut in half, a file of garbage
SELECT finops_usage.clear_cache() > 0 AS cleared;
SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-03-02';
CREATE TEMP TABLE entry AS
SELECT 'finops_usage/cache/' || f AS path, pg_read_binary_file('finops_usage/cache/' || f) AS bytes
FROM pg_ls_dir('finops_usage/cache') AS f WHERE f NOT LIKE '%.%';
SELECT count(*) AS entries FROM entry;
-- every path, lock files included, fits pg_basebackup's tar headers
SELECT count(*) > 1 AS files, max(length('finops_usage/cache/' || f)) < 100 AS short_paths
FROM pg_ls_dir('finops_usage/cache') AS f;
CREATE FUNCTION pg_temp.write_entry(b bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE lo oid;
BEGIN
  lo := lo_from_bytea(0, b);
  PERFORM lo_export(lo, (SELECT path FROM entry));
  PERFORM lo_unlink(lo);
END $$;
SELECT pg_temp.write_entry(set_byte(bytes, length(bytes) - 3, get_byte(bytes, length(bytes) - 3) # 1)) FROM entry;
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-03-02';
SELECT count(*) AS requests FROM emu.requests();
SELECT pg_temp.write_entry(substr(bytes, 1, length(bytes) / 2)) FROM entry;
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-03-02';
SELECT count(*) AS requests FROM emu.requests();
SELECT pg_temp.write_entry(convert_to('garbage', 'UTF8')) FROM entry;
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-03-02';
SELECT count(*) AS requests FROM emu.requests();
-- and the entry written again is good
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-03-02';
SELECT count(*) AS requests FROM emu.requests();

-- six connections running the same query at once all get the right rows,
-- and the pages are fetched once for all
SELECT finops_usage.clear_cache() > 0 AS cleared;
SET finops_usage.cache_ttl = 0;
CREATE TEMP TABLE fresh_q1 AS
SELECT service, sum(unblended_cost) AS cost FROM aws_cost_by_service
WHERE period_start >= '2026-01-01' AND period_start < '2026-03-01' GROUP BY service;
SET finops_usage.cache_ttl = 3600;
SELECT emu.reset();
-- each call takes 200 ms: the six start before the first answer is back
SELECT emu.config('{"latency_ms": 200}');
SELECT dblink_connect('c' || i, format('host=%s port=%s dbname=%s user=%s options=''-c finops_usage.today=2026-06-15 -c finops_usage.aggregate_pushdown=off''',
                      current_setting('unix_socket_directories'), current_setting('port'),
                      current_database(), current_user))
FROM generate_series(1, 6) AS i;
SELECT dblink_send_query('c' || i, $$SELECT service, sum(unblended_cost) FROM aws_cost_by_service
                                     WHERE period_start >= '2026-01-01' AND period_start < '2026-03-01' GROUP BY service$$)
FROM generate_series(1, 6) AS i;
CREATE TEMP TABLE six AS
SELECT i, t.* FROM generate_series(1, 6) AS i,
  LATERAL dblink_get_result('c' || i) AS t(service text, cost numeric);
SELECT i, count(*) AS rows,
       (SELECT count(*) FROM (SELECT service, cost FROM six s WHERE s.i = g.i
                              EXCEPT ALL TABLE fresh_q1) d) AS wrong,
       (SELECT count(*) FROM (TABLE fresh_q1 EXCEPT ALL
                              SELECT service, cost FROM six s WHERE s.i = g.i) d) AS missing
FROM six g GROUP BY i ORDER BY i;
-- and the API saw each page once: the others waited for it
SELECT count(*) AS requests FROM emu.requests();
SELECT dblink_disconnect('c' || i) FROM generate_series(1, 6) AS i;

-- two scans of one backend asking the same pages (an InitPlan, a cursor
-- left open) neither wait for each other nor lose a claim
SELECT finops_usage.clear_cache() > 0 AS cleared;
SET statement_timeout = '20s';
SELECT count(*) AS above_average FROM aws_cost_by_usage_type
WHERE period_start >= '2026-02-01' AND period_start < '2026-03-01'
  AND unblended_cost > (SELECT avg(unblended_cost) FROM aws_cost_by_usage_type
                        WHERE period_start >= '2026-02-01' AND period_start < '2026-03-01');
-- the same with requests in flight together (a region each): the outer
-- scan still holds the second region's claim when the InitPlan asks for it
SELECT finops_usage.clear_cache() > 0 AS cleared;
SELECT count(*) > 0 AS above_average FROM aws_metrics
WHERE region IN ('us-east-1', 'eu-west-1') AND resource_type = 'ec2' AND metric_name = 'CPUUtilization'
  AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 02:00+00'
  AND value > (SELECT avg(value) FROM aws_metrics
               WHERE region IN ('us-east-1', 'eu-west-1') AND resource_type = 'ec2'
                 AND metric_name = 'CPUUtilization'
                 AND ts >= '2026-06-14 00:00+00' AND ts < '2026-06-14 02:00+00');
SELECT finops_usage.clear_cache() > 0 AS cleared;
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM aws_cost_by_usage_type
  WHERE period_start >= '2026-02-01' AND period_start < '2026-03-01';
SAVEPOINT s;
FETCH 1 FROM c;
ROLLBACK TO s;
MOVE FORWARD ALL IN c;
SELECT count(*) FROM aws_cost_by_usage_type WHERE period_start >= '2026-02-01' AND period_start < '2026-03-01';
COMMIT;
RESET statement_timeout;

-- a full cache evicts the least recently used entries and stays within
-- finops_usage.cache_size
SELECT finops_usage.clear_cache() > 0 AS cleared;
SET finops_usage.cache_size = '1MB';
SELECT emu.reset();
SELECT count(*) FROM aws_cost WHERE period_start >= '2025-06-01' AND period_start < '2026-06-01'
  AND usage_type IS NOT NULL AND service IS NOT NULL;
SELECT count(*) > 1 AS several_entries,
       count(*) < (SELECT count(*) FROM emu.requests()) AS some_evicted,
       sum((pg_stat_file('finops_usage/cache/' || f)).size) <= 1024 * 1024 AS within_size
FROM pg_ls_dir('finops_usage/cache') AS f WHERE f NOT LIKE '%.%';
RESET finops_usage.cache_size;

-- stats: calls and spend are what the API saw, hits and misses counted
SELECT finops_usage.clear_cache() >= 0 AS cleared;
SELECT finops_usage.reset_stats();
SELECT emu.reset();
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-02-01' AND period_start < '2026-03-01';
SELECT count(*) FROM aws_cost_by_usage_type WHERE period_start >= '2026-02-01' AND period_start < '2026-03-01';
SELECT count(*) FROM aws_cost_by_service WHERE period_start >= '2026-02-01' AND period_start < '2026-03-01';
CREATE TEMP TABLE seen AS SELECT count(*) AS n FROM emu.requests();
SELECT n > 2 AS several_pages FROM seen;
SELECT s.calls = seen.n AS calls_match, s.pages = seen.n AS pages_match,
       s.est_cost_usd = 0.01 * seen.n AS cost_matches, s.cache_hits, s.cache_misses,
       s.errors, s.retries, s.bytes > 0 AS has_bytes, s.provider
FROM finops_usage.stats s, seen WHERE s.server = 'aws_emu';
-- a throttled call is counted as a call, a retry and throttled
SELECT emu.reset();
SELECT emu.fault('{"kind": "throttle", "target": "GetCostAndUsage", "count": 1}');
SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-02-10';
SELECT s.calls - seen.n AS more_calls, s.retries, s.throttled, s.errors
FROM finops_usage.stats s, seen WHERE s.server = 'aws_emu';
-- and an error as an error
SELECT emu.fault('{"kind": "error", "target": "GetCostAndUsage", "count": 1}');
SELECT emu.try($$SELECT count(*) FROM aws_cost_by_service WHERE period_start = '2026-02-11'$$) LIKE 'HV000%' AS failed;
SELECT s.errors FROM finops_usage.stats s WHERE s.server = 'aws_emu';
SELECT finops_usage.reset_stats();
SELECT calls, pages, cache_hits, est_cost_usd, since > now() - interval '1 minute' AS recent
FROM finops_usage.stats WHERE server = 'aws_emu';
-- resetting is for superusers (and whom they grant it)
SET ROLE regress_cache_reader;
SELECT has_function_privilege('finops_usage.reset_stats()', 'EXECUTE') AS reader_may_reset;
RESET ROLE;

-- clean up
DROP TABLE reader_run, reader_run2;
REVOKE ALL ON aws_cost_by_service FROM regress_cache_reader;
REVOKE ALL ON SCHEMA finops_usage FROM regress_cache_reader;
DROP USER MAPPING FOR regress_cache_reader SERVER aws_emu;
REVOKE ALL ON FOREIGN SERVER aws_emu FROM regress_cache_reader;
DROP ROLE regress_cache_reader;
SELECT finops_usage.clear_cache() >= 0 AS cleared;
SELECT emu.reset();
