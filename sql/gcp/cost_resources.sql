--
-- gcp_cost's resource columns (resource_name, resource_global_name): read
-- from the detailed export (gcp_billing_export_resource_v1_...), NULL and
-- never asked for on the standard one; their conditions as parameters;
-- per-instance costs against the standard export and the generator.
--
\i test/sql/gcp.sql

-- a server on the detailed export of the same billing account
CREATE SERVER gcp_detailed FOREIGN DATA WRAPPER finops_usage
  OPTIONS (provider 'gcp', endpoint :'emu', project_id 'northwind-prod',
           billing_table 'northwind-billing.billing_export.gcp_billing_export_resource_v1_01AB23_CD45EF_6789AB');
CREATE USER MAPPING FOR CURRENT_USER SERVER gcp_detailed OPTIONS (service_account_key :'gcp_key');
CREATE SCHEMA det;
IMPORT FOREIGN SCHEMA gcp LIMIT TO (gcp_cost) FROM SERVER gcp_detailed INTO det;
-- the two columns follow labels (then list prices and pricing units)
SELECT attnum, attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'det.gcp_cost'::regclass AND attnum > 18 ORDER BY 1;

-- the statement a scan sends: its SQL, and its parameters
CREATE FUNCTION pg_temp.sent() RETURNS TABLE (sql text, params text) LANGUAGE sql AS $$
  SELECT b->>'query',
         (SELECT string_agg(p->>'name' || ' ' || (p->'parameterType')::text || ' ' ||
                            coalesce(p->'parameterValue'->>'value', (p->'parameterValue'->'arrayValues')::text), '; ')
          FROM json_array_elements(b->'queryParameters') p)
  FROM (SELECT (r->>'body')::json AS b
        FROM json_array_elements((SELECT string_agg(line, E'\n')
             FROM emu.call('/_emulator/requests?format=json') AS line)::json) r
        WHERE r->>'operation' = 'bigquery.jobs.query') s
$$;
CREATE FUNCTION pg_temp.run(query text) RETURNS TABLE (sql text, params text) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM emu.reset();
  EXECUTE query;
  RETURN QUERY SELECT * FROM pg_temp.sent();
END $$;

-- ===================================================================
-- the detailed export
-- ===================================================================
-- the columns read, =, IN, <>, NOT IN as parameters
SELECT * FROM pg_temp.run($$
  SELECT usage_start_time, resource_name, resource_global_name, net_cost FROM det.gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09'
    AND resource_name = 'batch-2' $$);
SELECT * FROM pg_temp.run($$
  SELECT count(*) FROM det.gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09'
    AND resource_name IN ('web-1', 'web-2') AND resource_name <> 'web-3'
    AND resource_global_name NOT IN ('x', 'y') $$);
-- a value is a parameter, never SQL
SELECT * FROM pg_temp.run($$
  SELECT count(*) FROM det.gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09'
    AND resource_global_name = $q$x' OR 1=1 --\"@p0$q$ $$);
-- the same conditions, evaluated locally on every row, give the same rows
CREATE TEMP TABLE det_june AS
  SELECT * FROM det.gcp_cost WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-10';
SELECT * FROM emu.same_rows($$
  SELECT usage_start_time, sku_id, resource_name, resource_global_name, cost FROM det.gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-10'
    AND resource_name IN ('web-1', 'web-2', 'batch-2') AND resource_name <> 'web-1'
    AND resource_global_name NOT IN ('x') $$, $$
  SELECT usage_start_time, sku_id, resource_name, resource_global_name, cost FROM det_june
  WHERE resource_name IN ('web-1', 'web-2', 'batch-2') AND resource_name <> 'web-1'
    AND resource_global_name NOT IN ('x') $$);
-- <> and NOT IN leave the rows without a resource out, as in SQL
SELECT count(*) FILTER (WHERE resource_name IS NULL) AS no_resource,
       count(*) FILTER (WHERE resource_name <> 'web-1') AS not_web_1
FROM det_june;
SELECT count(*) FROM det.gcp_cost
WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-10' AND resource_name <> 'web-1';

-- the resources: Compute Engine instances, their zone and project; the
-- instance id ends the global name (an aggregate BigQuery computes)
SELECT * FROM pg_temp.run($$
  SELECT resource_name, resource_global_name, service, project_id, zone, count(*) FROM det.gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-10'
  GROUP BY 1, 2, 3, 4, 5 $$);
SELECT resource_name, resource_global_name, service, project_id, zone, count(*)
FROM det.gcp_cost
WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-10'
  AND resource_global_name IS NOT NULL
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1;
-- every monitored instance of gcp_metrics has its global name
SELECT m.resource_id, m.resource_labels->>'zone' AS zone, d.resource_name
FROM (SELECT DISTINCT resource_id, resource_labels FROM gcp_metrics
      WHERE resource_type = 'gce_instance' AND metric_type = 'compute.googleapis.com/instance/cpu/utilization'
        AND ts >= '2026-06-14' AND ts < '2026-06-14 00:05') m
LEFT JOIN (SELECT DISTINCT resource_name, resource_global_name FROM det_june) d
  ON d.resource_global_name = format('//compute.googleapis.com/projects/%s/zones/%s/instances/%s',
                                     m.resource_labels->>'project_id', m.resource_labels->>'zone', m.resource_id)
ORDER BY 3;

-- the same charges as the standard export, split per instance: the sums by
-- service, SKU and zone agree, both ways
CREATE TEMP TABLE std_june AS
  SELECT * FROM gcp_cost WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-10';
SELECT * FROM emu.same_rows($$
  SELECT service, sku, project_id, zone, sum(cost), sum(credits), sum(net_cost), sum(usage_amount)
  FROM det_june GROUP BY 1, 2, 3, 4 $$, $$
  SELECT service, sku, project_id, zone, sum(cost), sum(credits), sum(net_cost), sum(usage_amount)
  FROM std_june GROUP BY 1, 2, 3, 4 $$);
-- the per-instance sums of each (SKU, zone) are the standard export's
-- Compute Engine totals of that SKU and zone; no charge of the standard
-- export is left out of the detailed one
SELECT * FROM emu.same_rows($$
  SELECT sku, zone, sum(c) FROM (
    SELECT sku, zone, resource_global_name, sum(net_cost) AS c FROM det_june
    WHERE resource_global_name IS NOT NULL GROUP BY 1, 2, 3) per_instance
  GROUP BY 1, 2 $$, $$
  SELECT sku, zone, sum(net_cost) FROM std_june
  WHERE service = 'Compute Engine'
    AND (sku, zone) IN (SELECT sku, zone FROM det_june WHERE resource_global_name IS NOT NULL)
  GROUP BY 1, 2 $$);
SELECT count(DISTINCT resource_global_name) AS instances, count(DISTINCT (sku, zone)) AS sku_zones,
       count(*) FILTER (WHERE service <> 'Compute Engine') AS not_compute
FROM det_june WHERE resource_global_name IS NOT NULL;
-- per instance, the generator's own sums (not through the SQL evaluator)
SELECT * FROM emu.same_rows($$
  SELECT resource_name, sum(cost), sum(credits), sum(net_cost), sum(usage_amount), count(*)
  FROM det_june GROUP BY 1 $$, $$
  SELECT nullif(split_part(l, E'\t', 1), '\N'), split_part(l, E'\t', 2)::numeric, split_part(l, E'\t', 3)::numeric,
         split_part(l, E'\t', 4)::numeric, split_part(l, E'\t', 5)::numeric, split_part(l, E'\t', 6)::bigint
  FROM emu.gcp_cost('start=2026-06-08&end=2026-06-10&group=resource_name&table=detailed') AS l $$);

-- ===================================================================
-- the standard export: NULL, never asked for
-- ===================================================================
SELECT * FROM pg_temp.run($$
  SELECT usage_start_time, resource_name, resource_global_name, cost FROM gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' $$);
SELECT count(*) AS rows, count(resource_name) AS names, count(resource_global_name) AS global_names
FROM std_june;
-- SELECT * keeps working, without the resource record
SELECT count(*) AS queries, bool_and(sql !~ 'resource\.') AS no_resource
FROM pg_temp.run($$ SELECT * FROM gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' $$);
-- a condition on them holds for no row: nothing is asked
SELECT * FROM emu.pushdown($$
  SELECT count(*) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' AND resource_name = 'web-1' $$);
SELECT count(*) FROM gcp_cost
WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09'
  AND (resource_global_name IN ('a', 'b') OR resource_name NOT IN ('c'));
SELECT count(*) FROM gcp_cost
WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' AND resource_name <> 'web-1';
-- IS NULL: every row
SELECT count(*) = (SELECT count(*) FROM std_june WHERE usage_start_time < '2026-06-09') AS all_rows
FROM gcp_cost
WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' AND resource_name IS NULL;
-- grouped by them: one NULL group (a typed NULL in BigQuery's query)
SELECT * FROM pg_temp.run($$
  SELECT resource_global_name, sum(net_cost) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' GROUP BY 1 $$);
SELECT resource_global_name, sum(net_cost) = (SELECT sum(net_cost) FROM std_june WHERE usage_start_time < '2026-06-09') AS total
FROM gcp_cost
WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' GROUP BY 1;
-- counted: none, by BigQuery
SELECT * FROM pg_temp.run($$
  SELECT cost_type, count(resource_name), count(*) FROM gcp_cost
  WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' GROUP BY 1 $$);
SELECT cost_type, count(resource_name), count(*) = (SELECT count(*) FROM std_june s
  WHERE s.usage_start_time < '2026-06-09' AND s.cost_type = g.cost_type) AS all_rows
FROM gcp_cost g
WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09' GROUP BY 1 ORDER BY 1;
DROP SCHEMA det CASCADE;
DROP SERVER gcp_detailed CASCADE;
