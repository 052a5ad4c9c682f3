--
-- Objects every other test uses: the extension, a server pointing at the
-- emulator, a user mapping with the emulator's credentials, and helpers
-- that talk to the emulator's control API (its request log proves what
-- was pushed down).
--
CREATE EXTENSION finops_usage;

-- pin "today" and keep retries quick, for every later session
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET finops_usage.today = %L', current_database(), '2026-06-15');
  EXECUTE format('ALTER DATABASE %I SET finops_usage.retry_base_delay = %L', current_database(), '5ms');
  EXECUTE format('ALTER DATABASE %I SET finops_usage.retry_max_delay = %L', current_database(), '50ms');
END $$;

\getenv emu FU_EMULATOR_URL
CREATE SERVER aws_emu FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'aws', endpoint :'emu');
CREATE USER MAPPING FOR CURRENT_USER SERVER aws_emu
  OPTIONS (access_key_id 'AKIAFINOPSEMULATOR01',
           secret_access_key 'emulator/Secret/Key/For/Tests+0123456789');

-- emulator control: each test session sets fu_test.emu first
CREATE SCHEMA emu;
CREATE FUNCTION emu.call(path text, body text DEFAULT NULL)
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
CREATE FUNCTION emu.reset() RETURNS void LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/reset', '{}') $$;
CREATE FUNCTION emu.config(body text) RETURNS void LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/config', body) $$;
CREATE FUNCTION emu.fault(body text) RETURNS void LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/fault', body) $$;
CREATE FUNCTION emu.requests() RETURNS SETOF text LANGUAGE sql AS
  $$ SELECT emu.call('/_emulator/requests') $$;

-- EXPLAIN with the emulator's address (a random port) masked
CREATE FUNCTION emu.explain(query text, options text DEFAULT 'VERBOSE, COSTS OFF')
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (' || options || ') ' || query LOOP
    RETURN NEXT replace(line, current_setting('fu_test.emu'), '<emulator>');
  END LOOP;
END $$;
-- pushdown proof of a query: what EXPLAIN (VERBOSE) says will be sent, the
-- number of rows, and what the emulator received
CREATE FUNCTION emu.pushdown(query text)
RETURNS TABLE (step text, detail text) LANGUAGE plpgsql AS $$
DECLARE line text; n bigint := 0; r record;
BEGIN
  PERFORM emu.reset();
  FOR line IN SELECT * FROM emu.explain(query) LOOP
    line := btrim(line);
    IF line ~ '^(Request|Request \([^)]*\)|Filter|Time window|Window|Metric queries|Note):' THEN
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
CREATE FUNCTION emu.try(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE msg text; det text; st text;
BEGIN
  EXECUTE query;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, st = RETURNED_SQLSTATE;
  RETURN st || ': ' || msg || ' / ' || regexp_replace(det, '[0-9]+ ms', 'N ms', 'g');
END $$;

SET fu_test.emu TO :'emu';
SELECT emu.reset();
IMPORT FOREIGN SCHEMA aws FROM SERVER aws_emu INTO public;
\det
