\set ECHO none
--
-- What every regression test file starts with (\i test/sql/common.sql):
-- the extension, a server pointing at the emulator with a user mapping of
-- the emulator's credentials, the imported AWS tables, "today" pinned,
-- quick retries, and helpers that talk to the emulator's control API (its
-- request log proves what was pushed down).  Idempotent: each file can run
-- alone or after the others.  Silent: nothing here reaches the output.
--
\o /dev/null
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS finops_usage;

SET finops_usage.today = '2026-06-15';
SET finops_usage.retry_base_delay = '5ms';
SET finops_usage.retry_max_delay = '50ms';
-- the result cache is tested in engine/cache; elsewhere each query goes to the
-- emulator, whose log proves what was sent
SET finops_usage.cache_ttl = 0;
SET datestyle TO ISO;
\getenv emu FU_EMULATOR_URL
SET fu_test.emu TO :'emu';

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_foreign_server WHERE srvname = 'aws_emu') THEN
    EXECUTE format('CREATE SERVER aws_emu FOREIGN DATA WRAPPER finops_usage OPTIONS (provider %L, endpoint %L)',
                   'aws', current_setting('fu_test.emu'));
    CREATE USER MAPPING FOR CURRENT_USER SERVER aws_emu
      OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01',
               secret_access_key 'emulator/Secret/Key/For/Tests+0123456789');
  END IF;
  IF to_regclass('public.aws_cost') IS NULL THEN
    IMPORT FOREIGN SCHEMA aws FROM SERVER aws_emu INTO public;
  END IF;
END $$;

-- emulator control: the session's fu_test.emu is its address
CREATE SCHEMA IF NOT EXISTS emu;
CREATE OR REPLACE FUNCTION emu.call(path text, body text DEFAULT NULL)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  url text := current_setting('fu_test.emu') || path;
  cmd text;
BEGIN
  cmd := 'curl -sS ';
  IF body IS NOT NULL THEN
    cmd := cmd || '-X POST --data-binary ''' || replace(body, '''', '''\''''') || ''' ';
  END IF;
  cmd := cmd || '''' || url || '''';
  IF to_regclass('pg_temp.emu_out') IS NULL THEN
    CREATE TEMP TABLE emu_out (line text);
  END IF;
  TRUNCATE emu_out;
  EXECUTE format('COPY emu_out FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')', cmd);
  RETURN QUERY SELECT line FROM emu_out;
END $$;
-- a POST whose body is too long for a command line: through a file
CREATE OR REPLACE FUNCTION emu.post_big(path text, body text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE f text := '/tmp/fu_emu_body_' || pg_backend_pid();
BEGIN
  EXECUTE format('COPY (SELECT %L) TO %L WITH (FORMAT csv, DELIMITER E''\x02'', QUOTE E''\x01'')', body, f);
  PERFORM emu.call_file(path, f);
END $$;
CREATE OR REPLACE FUNCTION emu.call_file(path text, f text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF to_regclass('pg_temp.emu_out') IS NULL THEN
    CREATE TEMP TABLE emu_out (line text);
  END IF;
  EXECUTE format('COPY emu_out FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')',
                 format('curl -sS -X POST --data-binary @%s %s; rm -f %s', f,
                        current_setting('fu_test.emu') || path, f));
END $$;
CREATE OR REPLACE FUNCTION emu.reset() RETURNS void LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/reset', '{}') $$;
CREATE OR REPLACE FUNCTION emu.config(body text) RETURNS void LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/config', body) $$;
CREATE OR REPLACE FUNCTION emu.fault(body text) RETURNS void LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/fault', body) $$;
-- (a BigQuery requestId is random: masked)
CREATE OR REPLACE FUNCTION emu.requests() RETURNS SETOF text LANGUAGE sql AS
  $$ SELECT regexp_replace(l, '"requestId":"[0-9a-f]+"', '"requestId":"<id>"')
     FROM emu.call('/_emulator/requests') AS l $$;
-- a page body the next request gets instead of the real answer
CREATE OR REPLACE FUNCTION emu.body(b text) RETURNS void LANGUAGE sql AS
  $$ SELECT emu.fault(json_build_object('kind', 'malformed', 'body', b)::text) $$;
CREATE OR REPLACE FUNCTION emu.body_hex(b bytea) RETURNS void LANGUAGE sql AS
  $$ SELECT emu.fault(json_build_object('kind', 'malformed', 'body_hex', encode(b, 'hex'))::text) $$;

-- the generator's own Cost Explorer results (not through the API code)
CREATE OR REPLACE FUNCTION emu.expect(query text)
RETURNS TABLE (f1 text, f2 text, f3 text, f4 text, f5 text) LANGUAGE sql AS $$
  SELECT split_part(l, E'\t', 1), split_part(l, E'\t', 2), split_part(l, E'\t', 3),
         split_part(l, E'\t', 4), split_part(l, E'\t', 5)
  FROM emu.call('/_emulator/expect/aws_cost?' || query) AS l
$$;
-- EXPLAIN with the emulator's address (a random port) masked
CREATE OR REPLACE FUNCTION emu.explain(query text, options text DEFAULT 'VERBOSE, COSTS OFF')
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (' || options || ') ' || query LOOP
    RETURN NEXT regexp_replace(replace(line, current_setting('fu_test.emu'), '<emulator>'),
                               '"requestId":"[0-9a-f]+"', '"requestId":"<id>"');
  END LOOP;
END $$;
-- pushdown proof of a query: what EXPLAIN (VERBOSE) says will be sent, the
-- number of rows, and what the emulator received
CREATE OR REPLACE FUNCTION emu.pushdown(query text)
RETURNS TABLE (step text, detail text) LANGUAGE plpgsql AS $$
DECLARE line text; n bigint := 0; r record;
BEGIN
  PERFORM emu.reset();
  FOR line IN SELECT * FROM emu.explain(query) LOOP
    line := btrim(line);
    IF line ~ '^(Request|Request \([^)]*\)|Filter|Time window|Window|Metric queries|Note|Aggregation pushed down):' THEN
      step := 'explain'; detail := line; RETURN NEXT;
    END IF;
  END LOOP;
  FOR r IN EXECUTE query LOOP
    n := n + 1;
  END LOOP;
  step := 'rows'; detail := n::text; RETURN NEXT;
  -- concurrent requests arrive in any order
  FOR line IN SELECT q.l FROM emu.requests() AS q(l) ORDER BY q.l LOOP
    step := 'sent'; detail := line; RETURN NEXT;
  END LOOP;
END $$;
-- run a statement, report its error with numbers that vary (ports, ms) masked
CREATE OR REPLACE FUNCTION emu.try(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE msg text; det text; st text;
BEGIN
  EXECUTE query;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, st = RETURNED_SQLSTATE;
  RETURN st || ': ' || msg || ' / ' ||
         regexp_replace(replace(det, current_setting('fu_test.emu'), '<emulator>'),
                        '[0-9]+ ms', 'N ms', 'g');
END $$;
-- two queries give the same rows, in both directions, and some
CREATE OR REPLACE FUNCTION emu.same_rows(a text, b text)
RETURNS TABLE (rows bigint, only_in_first bigint, only_in_second bigint)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('SELECT (SELECT count(*) FROM (%s) x), '
                 '(SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) d), '
                 '(SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) d)', a, a, b, b, a)
    INTO rows, only_in_first, only_in_second;
  RETURN NEXT;
END $$;

SELECT emu.reset();
RESET client_min_messages;
\o
\set ECHO all
