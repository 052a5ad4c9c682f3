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
