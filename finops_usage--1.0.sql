/* finops_usage--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION finops_usage" to load this file. \quit

CREATE FUNCTION finops_usage_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION finops_usage_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER finops_usage
  HANDLER finops_usage_handler
  VALIDATOR finops_usage_validator;

COMMENT ON FOREIGN DATA WRAPPER finops_usage IS
  'cloud cost and usage APIs (AWS Cost Explorer, ...) as foreign tables';

-- The result cache, shared by every connection (see src/cache.c)
CREATE FUNCTION clear_cache()
RETURNS bigint
AS 'MODULE_PATHNAME', 'finops_usage_clear_cache'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION clear_cache() IS
  'empties the result cache (a non-superuser: the entries of its own user mappings) and returns the entries removed';

-- API spend, counted across connections (see src/stats.c)
CREATE FUNCTION _stats_rows(OUT serverid oid, OUT calls bigint, OUT pages bigint,
                            OUT bytes bigint, OUT retries bigint, OUT throttled bigint,
                            OUT errors bigint, OUT cache_hits bigint, OUT cache_misses bigint,
                            OUT cost_pico bigint, OUT since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'finops_usage_stats_rows'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION _reset_server_stats(oid)
RETURNS void
AS 'MODULE_PATHNAME', 'finops_usage_reset_server_stats'
LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION _reset_server_stats(oid) FROM PUBLIC;

CREATE VIEW stats AS
SELECT s.srvname AS server,
       (SELECT split_part(o, '=', 2) FROM unnest(s.srvoptions) AS o
        WHERE o LIKE 'provider=%') AS provider,
       coalesce(r.calls, 0) AS calls,
       coalesce(r.pages, 0) AS pages,
       coalesce(r.bytes, 0) AS bytes,
       coalesce(r.retries, 0) AS retries,
       coalesce(r.throttled, 0) AS throttled,
       coalesce(r.errors, 0) AS errors,
       coalesce(r.cache_hits, 0) AS cache_hits,
       coalesce(r.cache_misses, 0) AS cache_misses,
       round(coalesce(r.cost_pico, 0) / 1e12, 6) AS est_cost_usd,
       coalesce(r.since, pg_postmaster_start_time()) AS since
FROM pg_foreign_server s
JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw AND w.fdwname = 'finops_usage'
LEFT JOIN _stats_rows() r ON r.serverid = s.oid;
COMMENT ON VIEW stats IS
  'API calls, pages, bytes, retries, errors, cache hits and estimated spend (list prices) per server, across connections, since the cluster started or reset_stats()';

CREATE FUNCTION reset_stats()
RETURNS void
LANGUAGE sql VOLATILE
AS $$
  SELECT finops_usage._reset_server_stats(s.oid)
  FROM pg_foreign_server s
  JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw AND w.fdwname = 'finops_usage';
$$;
REVOKE ALL ON FUNCTION reset_stats() FROM PUBLIC;
COMMENT ON FUNCTION reset_stats() IS
  'sets every counter of finops_usage.stats to zero, from now';

-- ---------------------------------------------------------------------
-- FinOps functions over a server's foreign tables (they push down, use
-- the result cache and count against the spend guard like any query)
-- ---------------------------------------------------------------------

-- "today" as the extension sees it: finops_usage.today, else the UTC date
CREATE FUNCTION _today()
RETURNS date
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(nullif(current_setting('finops_usage.today', true), '')::date,
                  (now() AT TIME ZONE 'UTC')::date)
$$;

-- The server's provider, and the foreign table of its cost or metrics
-- source the caller may read (the one named as the source, by preference)
CREATE FUNCTION _source_relation(server name, kind text, OUT rel regclass, OUT provider text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  src text;
BEGIN
  SELECT split_part(o, '=', 2) INTO provider
  FROM pg_foreign_server s
  JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw AND w.fdwname = 'finops_usage',
       unnest(s.srvoptions) AS o
  WHERE s.srvname = server AND o LIKE 'provider=%';
  IF provider IS NULL THEN
    RAISE EXCEPTION 'server "%" is not a finops_usage server', server
      USING ERRCODE = 'undefined_object',
            HINT = 'SELECT srvname FROM pg_foreign_server lists the servers.';
  END IF;
  src := CASE kind
           WHEN 'cost' THEN CASE provider WHEN 'aws' THEN 'aws_cost' WHEN 'gcp' THEN 'gcp_cost'
                                          WHEN 'azure' THEN 'azure_usage' END
           WHEN 'resource_cost' THEN CASE provider WHEN 'aws' THEN 'aws_cost_by_resource'
                                                   WHEN 'gcp' THEN 'gcp_cost' WHEN 'azure' THEN 'azure_usage' END
           ELSE provider || '_metrics' END;
  SELECT c.oid::regclass INTO rel
  FROM pg_foreign_table ft
  JOIN pg_class c ON c.oid = ft.ftrelid
  JOIN pg_foreign_server s ON s.oid = ft.ftserver
  WHERE s.srvname = server AND ('source=' || src) = ANY (ft.ftoptions)
    AND has_table_privilege(c.oid, 'SELECT')
  ORDER BY c.relname = src DESC, c.relnatts DESC, c.oid
  LIMIT 1;
  IF rel IS NULL THEN
    RAISE EXCEPTION 'server "%" has no foreign table of source "%" you may read', server, src
      USING ERRCODE = 'undefined_table',
            HINT = format('IMPORT FOREIGN SCHEMA %s LIMIT TO (%s) FROM SERVER %I INTO some_schema;',
                          provider, src, server);
  END IF;
END $$;

CREATE FUNCTION _cost_relation(server name, OUT rel regclass, OUT provider text)
LANGUAGE sql STABLE
AS $$ SELECT * FROM finops_usage._source_relation(server, 'cost') $$;

-- What a provider's cost table calls its dimensions and measures
CREATE FUNCTION _cost_shape(provider text, OUT day_expr text, OUT window_expr text,
                            OUT cost_expr text, OUT quantity_expr text,
                            OUT estimated_expr text, OUT service_col text,
                            OUT dimensions text[])
LANGUAGE sql IMMUTABLE
AS $$
  SELECT d, w, c, q, e, s, dims FROM (VALUES
    ('aws', 'period_start',
     'period_start >= $1 AND period_start < $2 AND granularity = $3',
     'unblended_cost', 'usage_quantity', 'estimated', 'service',
     ARRAY['linked_account', 'service', 'region', 'usage_type', 'operation',
           'instance_type', 'record_type']),
    -- the billing export's hours, by their UTC day; a month whose invoice
    -- is not closed yet (the current one) is an estimate
    ('gcp', '(usage_start_time AT TIME ZONE ''UTC'')::date',
     'usage_start_time >= $1::timestamp AT TIME ZONE ''UTC'' AND usage_start_time < $2::timestamp AT TIME ZONE ''UTC''',
     'net_cost', 'usage_amount',
     'day >= date_trunc(''month'', finops_usage._today())',
     'service',
     ARRAY['billing_account_id', 'project_id', 'project_name', 'service', 'sku',
           'region', 'zone', 'cost_type']),
    ('azure', 'usage_date',
     'usage_date >= $1 AND usage_date < $2 AND granularity = ''Daily''',
     'cost', 'usage_quantity', 'day >= date_trunc(''month'', finops_usage._today())',
     'service_name',
     ARRAY['subscription_id', 'resource_group', 'service_name', 'resource_location',
           'resource_type', 'resource_id', 'meter_category', 'charge_type'])
  ) AS v(p, d, w, c, q, e, s, dims)
  WHERE p = provider
$$;

CREATE FUNCTION cost_usage(server name, start_date date, end_date date,
                           granularity text DEFAULT 'DAILY', group_by text[] DEFAULT '{}')
RETURNS TABLE (period_start date, period_end date, dimensions jsonb, cost numeric,
               usage_quantity numeric, currency text, estimated boolean)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r record;
  sh record;
  g text;
  dims text := '';
  dim_json text := '''{}''::jsonb';
  period text;
  q text;
BEGIN
  IF granularity IS NULL OR upper(granularity) NOT IN ('DAILY', 'MONTHLY') THEN
    RAISE EXCEPTION 'invalid granularity "%"', granularity
      USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Valid values: DAILY, MONTHLY.';
  END IF;
  granularity := upper(granularity);
  IF start_date IS NULL OR end_date IS NULL OR start_date >= end_date THEN
    RAISE EXCEPTION 'start_date must be before end_date'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'Dates are [start_date, end_date): end_date is the day after the last.';
  END IF;
  SELECT * INTO r FROM finops_usage._cost_relation(server);
  SELECT * INTO sh FROM finops_usage._cost_shape(r.provider);
  FOREACH g IN ARRAY coalesce(group_by, '{}') LOOP
    IF NOT g = ANY (sh.dimensions) THEN
      RAISE EXCEPTION 'cannot group % cost by "%"', r.provider, g
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = 'Valid dimensions: ' || array_to_string(sh.dimensions, ', ') || '.';
    END IF;
    dims := dims || format(', %I', g);
    dim_json := dim_json || format(' || jsonb_build_object(%L, %I)', g, g);
  END LOOP;
  IF r.provider = 'aws' THEN
    -- Cost Explorer gives the periods (months too) and whether they are final
    q := format('SELECT ps, pe, dims, cost, qty, currency, est FROM '
                '(SELECT period_start AS ps, period_end AS pe, %s AS dims, sum(%s) AS cost, '
                'sum(%s) AS qty, currency, bool_or(%s) AS est FROM %s WHERE %s '
                'GROUP BY ps, pe%s, currency) d '
                'ORDER BY ps, dims::text, currency',
                dim_json, sh.cost_expr, sh.quantity_expr, sh.estimated_expr,
                r.rel, sh.window_expr, dims);
  ELSE
    -- the provider adds up each day (an aggregate pushed into its request:
    -- BigQuery groups the export's hours by their UTC day); months and
    -- the estimate follow from the days
    period := CASE granularity
                WHEN 'MONTHLY' THEN 'date_trunc(''month'', day)::date'
                ELSE 'day' END;
    q := format('SELECT ps, (CASE $3 WHEN ''MONTHLY'' THEN ps + interval ''1 month'' '
                'ELSE ps + 1 END)::date, dims, sum(cost), sum(qty), currency, bool_or(est) FROM '
                '(SELECT %s AS ps, %s AS dims, cost, qty, currency, %s AS est FROM '
                '(SELECT %s AS day%s, currency, sum(%s) AS cost, sum(%s) AS qty FROM %s '
                'WHERE %s GROUP BY 1%s, currency) days) d '
                'GROUP BY ps, dims, currency ORDER BY ps, dims::text, currency',
                period, dim_json, sh.estimated_expr, sh.day_expr, dims, sh.cost_expr,
                sh.quantity_expr, r.rel, sh.window_expr, dims);
  END IF;
  RETURN QUERY EXECUTE q USING start_date, end_date, granularity;
END $$;

-- Daily cost of a server by service over [start_date, end_date)
CREATE FUNCTION _daily_by_service(server name, start_date date, end_date date)
RETURNS TABLE (day date, service text, cost numeric)
LANGUAGE sql STABLE
AS $$
  SELECT u.period_start, u.dimensions ->> (SELECT s.service_col FROM finops_usage._cost_shape(r.provider) s),
         sum(u.cost)
  FROM finops_usage._cost_relation(server) r,
       LATERAL finops_usage.cost_usage(server, start_date, end_date, 'DAILY',
                                       ARRAY[(SELECT s.service_col FROM finops_usage._cost_shape(r.provider) s)]) u
  GROUP BY 1, 2
$$;

CREATE FUNCTION cost_analytics(server name, days int DEFAULT 30)
RETURNS TABLE (day date, cost numeric, avg_7d numeric, change_pct numeric, top_service text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  last_day date := finops_usage._today();
BEGIN
  IF days IS NULL OR days < 1 OR days > 365 THEN
    RAISE EXCEPTION 'days must be between 1 and 365'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- complete days only: today is still being billed; six more days for
  -- the first days' 7-day averages, one for their change
  RETURN QUERY
  WITH d AS (
    SELECT b.day, b.service, b.cost
    FROM finops_usage._daily_by_service(server, last_day - days - 7, last_day) b
  ), cal AS (
    SELECT g::date AS day FROM generate_series(last_day - days - 7, last_day - 1, interval '1 day') g
  ), totals AS (
    SELECT cal.day, coalesce(sum(d.cost), 0) AS cost
    FROM cal LEFT JOIN d ON d.day = cal.day GROUP BY cal.day
  ), t AS (
    SELECT totals.day, totals.cost,
           avg(totals.cost) OVER (ORDER BY totals.day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS a7,
           lag(totals.cost) OVER (ORDER BY totals.day) AS prev
    FROM totals
  )
  SELECT t.day, t.cost, round(t.a7, 4),
         CASE WHEN t.prev > 0 THEN round((t.cost - t.prev) * 100 / t.prev, 2) END,
         (SELECT d.service FROM d WHERE d.day = t.day ORDER BY d.cost DESC, d.service LIMIT 1)
  FROM t
  WHERE t.day >= last_day - days
  ORDER BY t.day;
END $$;

-- Robust z-scores: see README, "cost_anomalies"
CREATE FUNCTION cost_anomalies(server name, start_date date, end_date date,
                               group_by text DEFAULT 'service', threshold float8 DEFAULT 3.0)
RETURNS TABLE (day date, dimension text, cost numeric, expected numeric, score float8)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r record;
BEGIN
  IF threshold IS NULL OR threshold <= 0 THEN
    RAISE EXCEPTION 'threshold must be positive' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO r FROM finops_usage._cost_relation(server);
  -- the default names the service column whatever the provider calls it
  IF group_by = 'service' THEN
    SELECT sh.service_col INTO group_by FROM finops_usage._cost_shape(r.provider) AS sh;
  END IF;
  RETURN QUERY
  WITH raw AS (
    -- two months of history before the first day
    SELECT u.period_start AS day, u.dimensions ->> group_by AS dim, sum(u.cost) AS cost
    FROM finops_usage.cost_usage(server, (start_date - interval '2 months')::date, end_date,
                                 'DAILY', ARRAY[group_by]) u
    GROUP BY 1, 2
  ), dims AS (
    SELECT DISTINCT raw.dim FROM raw
  ), grid AS (
    -- a day without cost for a dimension is a zero, not a gap
    SELECT g::date AS day, dims.dim, coalesce(raw.cost, 0) AS cost
    FROM generate_series(start_date - interval '2 months', end_date - 1, interval '1 day') g
    CROSS JOIN dims
    LEFT JOIN raw ON raw.day = g::date AND raw.dim IS NOT DISTINCT FROM dims.dim
  ), series AS (
    -- each dimension's days as an array: the windows below are slices
    SELECT grid.dim, array_agg(grid.cost ORDER BY grid.day) AS c
    FROM grid GROUP BY grid.dim
  ), scored AS MATERIALIZED (
    SELECT x.day, x.dim, x.c[x.i] AS cost, h.med28, h.mad28, h.wf, h.monthly
    FROM (SELECT g::date AS day, series.dim, series.c,
                 (g::date - (start_date - interval '2 months')::date) + 1 AS i
          FROM series, generate_series(start_date, end_date - 1, interval '1 day') g) x,
    LATERAL (
      SELECT m.med28,
             (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(v - m.med28))
              FROM unnest(x.c[x.i - 28:x.i - 1]) v) AS mad28,
             -- the weekday's level: its median over eight weeks against all days'
             CASE WHEN m.med56 > 0
                  THEN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x.c[x.i - 7 * k])
                        FROM generate_series(1, 8) k) / m.med56
                  ELSE 1 END AS wf,
             -- a monthly charge (tax, support, upfront fees) recurs on its day
             least(x.c[x.i - (x.day - (x.day - interval '1 month')::date)],
                   x.c[x.i - (x.day - (x.day - interval '2 months')::date)]) AS monthly
      FROM (SELECT (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v)
                    FROM unnest(x.c[x.i - 28:x.i - 1]) v) AS med28,
                   (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v)
                    FROM unnest(x.c[x.i - 56:x.i - 1]) v) AS med56) m
    ) h
  ), z AS (
    SELECT s.day, s.dim, s.cost, e.expected::numeric AS expected,
           abs(s.cost::float8 - e.expected)
             / greatest(1.4826 * s.mad28, 0.05 * e.expected, 0.01) AS score
    FROM scored s,
    LATERAL (SELECT greatest(s.med28 * s.wf, coalesce(s.monthly, 0)::float8) AS expected) e
  )
  SELECT z.day, z.dim, z.cost, round(z.expected, 4), round(z.score::numeric, 3)::float8
  FROM z
  WHERE z.score > threshold
  ORDER BY z.score DESC, z.day, z.dim;
END $$;

-- Trend and weekday pattern fitted by least squares: see README, "cost_forecast"
CREATE FUNCTION cost_forecast(server name, days int DEFAULT 30)
RETURNS TABLE (day date, cost numeric, lower numeric, upper numeric, method text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  last_day date := finops_usage._today();
  history int := 91;
BEGIN
  IF days IS NULL OR days < 1 OR days > 365 THEN
    RAISE EXCEPTION 'days must be between 1 and 365'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
  WITH h AS (
    SELECT g::date AS day, (g::date - last_day) AS t, coalesce(sum(u.cost), 0)::float8 AS y
    FROM generate_series(last_day - history, last_day - 1, interval '1 day') g
    LEFT JOIN finops_usage.cost_usage(server, last_day - history, last_day) u ON u.period_start = g::date
    GROUP BY 1
  ), fit1 AS (
    SELECT regr_slope(y, t) AS b, regr_intercept(y, t) AS a FROM h
  ), wk AS (
    -- the weekday effect: mean residual of each weekday around the trend
    SELECT extract(isodow FROM h.day) AS dow, avg(h.y - (f.a + f.b * h.t)) AS w
    FROM h, fit1 f GROUP BY 1
  ), fit2 AS (
    SELECT regr_slope(h.y - wk.w, h.t) AS b, regr_intercept(h.y - wk.w, h.t) AS a
    FROM h JOIN wk ON wk.dow = extract(isodow FROM h.day)
  ), resid AS (
    SELECT stddev_samp(h.y - (f.a + f.b * h.t + wk.w)) AS sd, count(*) AS n
    FROM h JOIN wk ON wk.dow = extract(isodow FROM h.day), fit2 f
  )
  SELECT g::date,
         round(greatest(f.a + f.b * (g::date - last_day) + wk.w, 0)::numeric, 2),
         round(greatest(f.a + f.b * (g::date - last_day) + wk.w - 1.96 * r.sd * sqrt(1 + 1.0 / r.n), 0)::numeric, 2),
         round((f.a + f.b * (g::date - last_day) + wk.w + 1.96 * r.sd * sqrt(1 + 1.0 / r.n))::numeric, 2),
         format('linear trend + weekday effects, least squares over %s days; 95%% interval from the residuals', history)
  FROM generate_series(last_day, last_day + days - 1, interval '1 day') g
  JOIN wk ON wk.dow = extract(isodow FROM g::date),
       fit2 f, resid r
  ORDER BY 1;
END $$;

-- The CPU metric of a resource type, and the factor that makes it a percentage
CREATE FUNCTION _cpu_metric(provider text, resource_type text, OUT metric text, OUT scale float8)
LANGUAGE sql IMMUTABLE
AS $$
  SELECT v.m, v.f FROM (VALUES
    ('aws', 'ec2', 'CPUUtilization', 1.0),
    ('aws', 'rds', 'CPUUtilization', 1.0),
    ('gcp', 'gce_instance', 'compute.googleapis.com/instance/cpu/utilization', 100.0),
    ('gcp', 'cloudsql_database', 'cloudsql.googleapis.com/database/cpu/utilization', 100.0),
    ('azure', 'virtual_machine', 'Percentage CPU', 1.0),
    ('azure', 'Microsoft.Compute/virtualMachines', 'Percentage CPU', 1.0),
    ('azure', 'sql_database', 'cpu_percent', 1.0),
    ('azure', 'Microsoft.Sql/servers/databases', 'cpu_percent', 1.0)
  ) AS v(p, t, m, f)
  WHERE v.p = provider AND v.t = resource_type
$$;

CREATE FUNCTION resource_usage(server name, resource_type text, resource_id text,
                               start_time timestamptz DEFAULT now() - interval '1 day',
                               end_time timestamptz DEFAULT now(), metrics text[] DEFAULT NULL)
RETURNS TABLE (metric_name text, unit text, points bigint, avg float8, min float8,
               max float8, p95 float8)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r record;
  metric_col text;
BEGIN
  IF start_time IS NULL OR end_time IS NULL OR start_time >= end_time THEN
    RAISE EXCEPTION 'start_time must be before end_time' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO r FROM finops_usage._source_relation(server, 'metrics');
  metric_col := CASE r.provider WHEN 'gcp' THEN 'metric_type' ELSE 'metric_name' END;
  -- without metrics, the type's defaults (the tables know them)
  RETURN QUERY EXECUTE format(
    'SELECT %1$I, unit, count(*), avg(value), min(value), max(value), '
    '       percentile_cont(0.95) WITHIN GROUP (ORDER BY value) '
    'FROM %2$s WHERE resource_type = $1 AND resource_id = $2 AND ts >= $3 AND ts < $4 '
    '  AND value IS NOT NULL %3$s '
    'GROUP BY 1, 2 ORDER BY 1, 2',
    metric_col, r.rel,
    CASE WHEN metrics IS NULL THEN '' ELSE format('AND %I = ANY ($5)', metric_col) END)
  USING resource_type, resource_id, start_time, end_time, metrics;
END $$;

CREATE FUNCTION usage_summary(server name, start_date date, end_date date,
                              resource_type text DEFAULT NULL, resource_ids text[] DEFAULT NULL,
                              OUT total_cost numeric, OUT currency text, OUT services int,
                              OUT daily_average numeric, OUT resources int, OUT avg_cpu float8,
                              OUT p95_cpu float8, OUT estimated_share numeric,
                              OUT completeness numeric, OUT confidence text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r record;
  cpu record;
  days_asked int;
  days_with_data int;
BEGIN
  IF start_date IS NULL OR end_date IS NULL OR start_date >= end_date THEN
    RAISE EXCEPTION 'start_date must be before end_date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO r FROM finops_usage._cost_relation(server);
  -- days still to come are not missing data
  days_asked := least(end_date, finops_usage._today() + 1) - start_date;
  SELECT sum(d.cost), count(DISTINCT d.service) FILTER (WHERE d.cost <> 0),
         count(DISTINCT d.day) FILTER (WHERE d.cost <> 0)
    INTO total_cost, services, days_with_data
  FROM finops_usage._daily_by_service(server, start_date, end_date) d;
  SELECT u.currency, coalesce(sum(u.cost) FILTER (WHERE u.estimated) / nullif(sum(u.cost), 0), 0)
    INTO currency, estimated_share
  FROM finops_usage.cost_usage(server, start_date, end_date) u
  GROUP BY u.currency ORDER BY sum(u.cost) DESC LIMIT 1;
  total_cost := coalesce(total_cost, 0);
  daily_average := round(total_cost / greatest(days_asked, 1), 4);
  estimated_share := round(coalesce(estimated_share, 0), 4);
  completeness := CASE WHEN days_asked > 0
                       THEN round(least(coalesce(days_with_data, 0)::numeric / days_asked, 1), 4)
                       ELSE 0 END;
  confidence := CASE WHEN completeness >= 0.95 AND estimated_share <= 0.10 THEN 'high'
                     WHEN completeness >= 0.70 AND estimated_share <= 0.50 THEN 'medium'
                     ELSE 'low' END;
  IF resource_type IS NOT NULL THEN
    SELECT * INTO cpu FROM finops_usage._cpu_metric(r.provider, resource_type);
    IF cpu.metric IS NULL THEN
      RAISE NOTICE 'no CPU metric is known for % resource type "%"', r.provider, resource_type;
    ELSE
      EXECUTE format(
        'SELECT count(DISTINCT resource_id), avg(value) * $5, '
        '       percentile_cont(0.95) WITHIN GROUP (ORDER BY value) * $5 '
        'FROM %s WHERE resource_type = $1 AND %I = $2 AND ts >= $3 AND ts < $4 '
        '  AND value IS NOT NULL %s',
        (finops_usage._source_relation(server, 'metrics')).rel,
        CASE r.provider WHEN 'gcp' THEN 'metric_type' ELSE 'metric_name' END,
        CASE WHEN resource_ids IS NULL THEN '' ELSE 'AND resource_id = ANY ($6)' END)
      INTO resources, avg_cpu, p95_cpu
      USING resource_type, cpu.metric, start_date::timestamp AT TIME ZONE 'UTC',
            end_date::timestamp AT TIME ZONE 'UTC', cpu.scale, resource_ids;
    END IF;
  END IF;
END $$;

CREATE FUNCTION availability()
RETURNS TABLE (server name, provider text, available boolean, identity text, detail text)
AS 'MODULE_PATHNAME', 'finops_usage_availability'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION availability() IS
  'for each server of the wrapper the current user has a user mapping for: whether its credentials work (one free call), who they are, and why not';

-- metrics_view(): one view over every metrics table of the wrapper in this
-- database, on their common columns
CREATE FUNCTION metrics_view(name text DEFAULT 'cloud_metrics')
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  parts text[] := '{}';
  t record;
BEGIN
  FOR t IN
    SELECT c.oid::regclass AS rel, s.srvname AS server,
           substr(o, 8) AS source
    FROM pg_catalog.pg_foreign_table ft
    JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid
    JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
    JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw AND w.fdwname = 'finops_usage',
         unnest(ft.ftoptions) AS o
    WHERE o IN ('source=aws_metrics', 'source=gcp_metrics', 'source=azure_metrics')
    ORDER BY s.srvname, c.oid
  LOOP
    parts := parts || format(
      'SELECT %L::text AS provider, %L::name AS server, resource_type, resource_id, '
      '%s AS region, %s AS metric_name, ts, value, unit FROM %s',
      split_part(t.source, '_', 1), t.server,
      CASE t.source WHEN 'gcp_metrics' THEN 'resource_labels ->> ''zone''' ELSE 'region' END,
      CASE t.source WHEN 'gcp_metrics' THEN 'metric_type' ELSE 'metric_name' END,
      t.rel);
  END LOOP;
  IF cardinality(parts) = 0 THEN
    RAISE EXCEPTION 'no metrics table of finops_usage in this database'
      USING ERRCODE = 'undefined_table',
            HINT = 'IMPORT FOREIGN SCHEMA aws (or gcp, azure) FROM SERVER ... INTO ... creates them.';
  END IF;
  -- the name may be schema-qualified; each part is quoted
  EXECUTE format('CREATE OR REPLACE VIEW %s AS %s',
                 (SELECT string_agg(quote_ident(p), '.') FROM unnest(parse_ident(name)) AS p),
                 array_to_string(parts, ' UNION ALL '));
  RETURN name;
END $$;
COMMENT ON FUNCTION metrics_view(text) IS
  '(re)creates a view, UNION ALL of every aws_metrics, gcp_metrics and azure_metrics table of this wrapper, on their common columns';

-- ---------------------------------------------------------------------
-- underutilized_resources: idle resources, priced
-- ---------------------------------------------------------------------

-- The per-resource cost of a provider over [$2, $3) for the ids $1, as
-- SQL over its cost table (%s): (id, cost, currency), and the days of
-- data the window may have (Cost Explorer keeps 14 days per resource)
CREATE FUNCTION _resource_cost_sql(provider text, OUT sql text, OUT max_days int)
LANGUAGE sql IMMUTABLE
AS $$
  SELECT v.q, v.d FROM (VALUES
    ('aws', 'SELECT resource_id, sum(unblended_cost), max(currency) FROM %s '
            'WHERE period_start >= $2 AND period_start < $3 AND resource_id = ANY ($1) GROUP BY 1', 14),
    -- the detailed export's resource.global_name ends with the instance id;
    -- BigQuery sums per resource (OFFSET 0 keeps the filters out of its
    -- query: they are not pushable, and would keep the sums here)
    ('gcp', 'SELECT regexp_replace(g, ''^.*/'', ''''), sum(c), max(u) FROM '
            '(SELECT resource_global_name, currency, sum(net_cost) FROM %s '
            '  WHERE usage_start_time >= $2::timestamp AT TIME ZONE ''UTC'' '
            '    AND usage_start_time < $3::timestamp AT TIME ZONE ''UTC'' GROUP BY 1, 2 OFFSET 0) x(g, u, c) '
            'WHERE g LIKE ''//compute.googleapis.com/%%'' '
            '  AND regexp_replace(g, ''^.*/'', '''') = ANY ($1) GROUP BY 1', NULL),
    -- Cost Management answers resource ids in lower case
    ('azure', 'SELECT x.id, x.cost, x.cur FROM (SELECT lower(resource_id) AS id, sum(cost) AS cost, '
              'max(currency) AS cur FROM %s WHERE usage_date >= $2 AND usage_date < $3 '
              'AND granularity = ''Daily'' AND resource_id IS NOT NULL GROUP BY 1) x '
              'WHERE x.id = ANY (SELECT lower(i) FROM unnest($1) AS i)', NULL)
  ) AS v(p, q, d)
  WHERE v.p = provider
$$;

-- (PL/pgSQL refuses an input and an output both named resource_type: the
-- work is done here, underutilized_resources() gives the contract's names)
CREATE FUNCTION _underutilized(server name, type_asked text, days int, cpu_threshold float8)
RETURNS TABLE (o_resource_id text, o_resource_type text, o_region text, o_avg_cpu float8,
               o_p95_cpu float8, o_monthly_cost numeric, o_currency text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  m record;
  cpu record;
  c record;
  rtype text;
  win_end date := finops_usage._today();
  win_start date;
  cost_start date;
  ids text[];
  regions text[];
  avgs float8[];
  p95s float8[];
  cost_ids text[];
  costs numeric[];
  currencies text[];
  cost_rel regclass;
BEGIN
  IF days IS NULL OR days < 1 OR days > 365 THEN
    RAISE EXCEPTION 'days must be between 1 and 365' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF cpu_threshold IS NULL OR cpu_threshold <= 0 THEN
    RAISE EXCEPTION 'cpu_threshold must be a positive percentage' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  win_start := win_end - days;
  SELECT * INTO m FROM finops_usage._source_relation(server, 'metrics');
  -- by default, the provider's virtual machines
  rtype := coalesce(type_asked, CASE m.provider WHEN 'aws' THEN 'ec2'
                                                   WHEN 'gcp' THEN 'gce_instance'
                                                   ELSE 'virtual_machine' END);
  SELECT * INTO cpu FROM finops_usage._cpu_metric(m.provider, rtype);
  IF cpu.metric IS NULL THEN
    RAISE EXCEPTION 'no CPU metric is known for % resource type "%"', m.provider, rtype
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Known types: ' || (SELECT string_agg(DISTINCT t, ', ')
                                       FROM (VALUES ('aws', 'ec2'), ('aws', 'rds'), ('gcp', 'gce_instance'),
                                                    ('gcp', 'cloudsql_database'), ('azure', 'virtual_machine'),
                                                    ('azure', 'sql_database')) v(p, t)
                                       WHERE p = m.provider) || '.';
  END IF;

  -- CPU of each resource over the window: mean and p95 of the period values
  EXECUTE format(
    'SELECT array_agg(id ORDER BY id), array_agg(reg ORDER BY id), array_agg(a ORDER BY id), '
    '       array_agg(p ORDER BY id) '
    'FROM (SELECT resource_id AS id, min(%3$s) AS reg, avg(value) * $4 AS a, '
    '             percentile_cont(0.95) WITHIN GROUP (ORDER BY value) * $4 AS p '
    '      FROM %1$s WHERE resource_type = $1 AND %2$I = $2 AND ts >= $5 AND ts < $6 '
    '        AND value IS NOT NULL GROUP BY resource_id) s '
    'WHERE a < $3 AND p < $3',
    m.rel, CASE m.provider WHEN 'gcp' THEN 'metric_type' ELSE 'metric_name' END,
    CASE m.provider WHEN 'gcp' THEN 'regexp_replace(resource_labels->>''zone'', ''-[a-z]$'', '''')'
                    ELSE 'region' END)
  INTO ids, regions, avgs, p95s
  USING rtype, cpu.metric, cpu_threshold, cpu.scale,
        win_start::timestamp AT TIME ZONE 'UTC', win_end::timestamp AT TIME ZONE 'UTC';
  IF ids IS NULL THEN
    RETURN;
  END IF;

  -- their cost: where the account has no resource-level data, NULL
  SELECT * INTO c FROM finops_usage._resource_cost_sql(m.provider);
  cost_start := CASE WHEN c.max_days IS NULL THEN win_start
                     ELSE greatest(win_start, win_end - c.max_days) END;
  BEGIN
    cost_rel := (finops_usage._source_relation(server, 'resource_cost')).rel;
    EXECUTE format('SELECT array_agg(x.i), array_agg(x.c), array_agg(x.u) FROM (%s) x(i, c, u)',
                   format(c.sql, cost_rel))
    INTO cost_ids, costs, currencies
    USING ids, cost_start, win_end;
    -- a table without resource-level rows (GCP's standard export) has none
    IF cost_ids IS NULL THEN
      RAISE NOTICE 'server "%" has no resource-level cost: monthly_cost is NULL', server
        USING DETAIL = format('%s has no cost row for these resources.', cost_rel);
    END IF;
  EXCEPTION WHEN undefined_table OR undefined_column OR fdw_error THEN
    RAISE NOTICE 'server "%" has no resource-level cost: monthly_cost is NULL', server
      USING DETAIL = SQLERRM;
    cost_ids := NULL;
  END;

  -- a 30-day month at the window's daily rate
  RETURN QUERY
  SELECT i.id, rtype, i.reg, i.a, i.p,
         round(k.cost * 30 / (win_end - cost_start), 4), k.cur
  FROM unnest(ids, regions, avgs, p95s) AS i(id, reg, a, p)
  LEFT JOIN unnest(cost_ids, costs, currencies) AS k(id, cost, cur)
    ON k.id = CASE m.provider WHEN 'azure' THEN lower(i.id) ELSE i.id END
  ORDER BY 6 DESC NULLS LAST, 1;
END $$;
CREATE FUNCTION underutilized_resources(server name, resource_type text DEFAULT NULL,
                                        days int DEFAULT 14, cpu_threshold float8 DEFAULT 5.0)
RETURNS TABLE (resource_id text, resource_type text, region text, avg_cpu float8,
               p95_cpu float8, monthly_cost numeric, currency text)
LANGUAGE sql STABLE
AS $$ SELECT * FROM finops_usage._underutilized($1, $2, $3, $4) $$;
COMMENT ON FUNCTION underutilized_resources(name, text, int, float8) IS
  'resources whose average and p95 CPU over the last days stay under cpu_threshold percent, with their cost scaled to 30 days (NULL without resource-level cost)';

-- FOCUS 1.2: one view over the aws_focus, gcp_focus and azure_focus tables
-- of every server, their columns in one order (a column a table does not
-- declare is NULL), plus x_server, the server each row comes from
CREATE FUNCTION focus_view(name text DEFAULT 'focus_costs')
RETURNS text
LANGUAGE plpgsql VOLATILE STRICT
AS $$
DECLARE
  cols CONSTANT text[] := ARRAY[
    'billedcost numeric', 'billingaccountid text', 'billingaccountname text',
    'billingcurrency text', 'billingperiodstart timestamptz', 'billingperiodend timestamptz',
    'chargecategory text', 'chargeclass text', 'chargedescription text', 'chargefrequency text',
    'chargeperiodstart timestamptz', 'chargeperiodend timestamptz', 'consumedquantity numeric',
    'consumedunit text', 'contractedcost numeric', 'effectivecost numeric',
    'invoiceissuername text', 'listcost numeric', 'pricingquantity numeric', 'pricingunit text',
    'providername text', 'publishername text', 'regionid text', 'regionname text',
    'resourceid text', 'servicecategory text', 'servicename text', 'skuid text',
    'subaccountid text', 'subaccountname text', 'tags jsonb'];
  target text;
  parts text[];
  r record;
BEGIN
  target := (SELECT string_agg(quote_ident(p), '.') FROM unnest(parse_ident(name)) AS p);
  -- per server and FOCUS source, one table: the one named as its source,
  -- else the widest (a second import of the same server would count twice)
  FOR r IN
    SELECT DISTINCT ON (s.srvname, o) c.oid::regclass AS rel, s.srvname
    FROM pg_foreign_table ft
    JOIN pg_class c ON c.oid = ft.ftrelid
    JOIN pg_foreign_server s ON s.oid = ft.ftserver
    JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw AND w.fdwname = 'finops_usage',
         unnest(ft.ftoptions) AS o
    WHERE o IN ('source=aws_focus', 'source=gcp_focus', 'source=azure_focus')
      AND has_table_privilege(c.oid, 'SELECT')
    ORDER BY s.srvname, o, c.relname = split_part(o, '=', 2) DESC, c.relnatts DESC, c.oid
  LOOP
    parts := parts || format('SELECT %s, %L::name AS x_server FROM %s',
      (SELECT string_agg(CASE WHEN EXISTS (SELECT FROM pg_attribute a
                                           WHERE a.attrelid = r.rel AND a.attnum > 0
                                             AND NOT a.attisdropped
                                             AND a.attname = split_part(col, ' ', 1))
                              THEN quote_ident(split_part(col, ' ', 1))
                              ELSE format('NULL::%s AS %s', split_part(col, ' ', 2),
                                          split_part(col, ' ', 1)) END,
                         ', ' ORDER BY i)
       FROM unnest(cols) WITH ORDINALITY AS u(col, i)),
      r.srvname, r.rel);
  END LOOP;
  IF parts IS NULL THEN
    RAISE EXCEPTION 'no FOCUS foreign table of finops_usage exists'
      USING ERRCODE = 'undefined_table',
            HINT = 'IMPORT FOREIGN SCHEMA aws (or gcp, or azure) FROM SERVER <server> INTO <schema> creates aws_focus (gcp_focus, azure_focus).';
  END IF;
  EXECUTE format('CREATE OR REPLACE VIEW %s AS %s', target,
                 array_to_string(parts, E'\nUNION ALL\n'));
  RETURN target;
END $$;
COMMENT ON FUNCTION focus_view(text) IS
  '(re)creates a view, UNION ALL of the aws_focus, gcp_focus and azure_focus tables of every server of the wrapper, with x_server naming the server of each row; returns its name';

-- ---------------------------------------------------------------------
-- COMMENTs on imported tables: IMPORT FOREIGN SCHEMA may only create
-- tables, so an event trigger comments them once created
-- ---------------------------------------------------------------------
CREATE FUNCTION _comment_table(rel regclass)
RETURNS int
AS 'MODULE_PATHNAME', 'finops_usage_comment_table'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION _comment_table(regclass) IS
  'sets the COMMENTs of a foreign table of this wrapper and of its columns (meaning, unit, which conditions push down); the number set';

CREATE FUNCTION _comment_imported()
RETURNS event_trigger
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT objid FROM pg_catalog.pg_event_trigger_ddl_commands()
           WHERE object_type = 'foreign table'
  LOOP
    PERFORM finops_usage._comment_table(r.objid::regclass);
  END LOOP;
END $$;

CREATE EVENT TRIGGER finops_usage_comment_imported ON ddl_command_end
  WHEN TAG IN ('IMPORT FOREIGN SCHEMA')
  EXECUTE FUNCTION _comment_imported();
