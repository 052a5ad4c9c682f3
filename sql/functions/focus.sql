--
-- FOCUS 1.2: aws_focus, gcp_focus and azure_focus over each provider's cost
-- API, queried with the FOCUS names unquoted, their totals against the
-- provider's own tables, the requests they send, and focus_view().
--
\i test/sql/common.sql
\i test/sql/azure.sql
\i test/sql/gcp.sql

-- the same columns on every cloud: FOCUS names in lower case
\d aws_focus
SELECT count(*) AS tables, count(DISTINCT cols) AS column_lists
FROM (SELECT c.relname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) AS cols
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
      WHERE c.relname IN ('aws_focus', 'gcp_focus', 'azure_focus') AND c.relnamespace = 'public'::regnamespace
      GROUP BY 1) t;

-- AWS: daily x linked account x service; BilledCost is UnblendedCost
SELECT * FROM emu.same_rows(
  $$SELECT ServiceName, SubAccountId, ChargePeriodStart, SUM(BilledCost)
    FROM aws_focus
    WHERE ChargePeriodStart >= '2026-05-01' AND ChargePeriodStart < '2026-05-08'
    GROUP BY 1, 2, 3$$,
  $$SELECT service, linked_account, period_start::timestamp AT TIME ZONE 'UTC', sum(unblended_cost)
    FROM aws_cost WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08'
    GROUP BY 1, 2, 3$$);
-- a date compares as PostgreSQL compares it with a timestamptz, in the
-- session's time zone: the window is widened, the rows rechecked
SET TimeZone = 'America/New_York';
SELECT DISTINCT ChargePeriodStart AT TIME ZONE 'UTC' AS utc_day
FROM aws_focus
WHERE ChargePeriodStart >= date '2026-05-01' AND ChargePeriodStart < date '2026-05-03'
ORDER BY 1;
RESET TimeZone;
SET TimeZone = 'UTC';
-- the time window is the request's TimePeriod; the grain its GroupBy
SELECT emu.reset();
SELECT count(*) > 0 AS rows, count(DISTINCT ServiceName) AS services
FROM aws_focus
WHERE ChargePeriodStart >= '2026-05-01' AND ChargePeriodStart < '2026-05-08';
SELECT * FROM emu.requests();
SELECT emu.reset();
SELECT ServiceName, ServiceCategory, ChargeCategory, ChargeFrequency, BillingCurrency,
       BillingPeriodStart, BillingPeriodEnd, ChargePeriodStart, ChargePeriodEnd,
       ProviderName, PublisherName, InvoiceIssuerName, BilledCost = ContractedCost AS contracted
FROM aws_focus
WHERE ChargePeriodStart = '2026-06-01' AND SubAccountId = '111111111111' AND ServiceName IN ('Tax', 'AWS Lambda')
ORDER BY 1;
SELECT * FROM emu.requests();

-- Google Cloud: a row per row of the export; BilledCost is cost + credits
SELECT * FROM emu.same_rows(
  $$SELECT ServiceName, SubAccountId, RegionId, SUM(BilledCost), SUM(ContractedCost)
    FROM gcp_focus
    WHERE ChargePeriodStart >= '2026-06-01' AND ChargePeriodStart < '2026-06-03'
    GROUP BY 1, 2, 3$$,
  $$SELECT service, project_id, region, sum(net_cost), sum(cost)
    FROM gcp_cost WHERE usage_start_time >= '2026-06-01' AND usage_start_time < '2026-06-03'
    GROUP BY 1, 2, 3$$);
-- ListCost, PricingQuantity and PricingUnit are gcp_cost's cost_at_list,
-- pricing_quantity and pricing_unit, row by row
SELECT * FROM emu.same_rows(
  $$SELECT ServiceName, SkuId, SubAccountId, ChargePeriodStart, ListCost, PricingQuantity, PricingUnit,
           ContractedCost, BilledCost
    FROM gcp_focus WHERE ChargePeriodStart >= '2026-06-08' AND ChargePeriodStart < '2026-06-09'$$,
  $$SELECT service, sku_id, project_id, usage_start_time, cost_at_list, pricing_quantity, pricing_unit,
           cost, net_cost
    FROM gcp_cost WHERE usage_start_time >= '2026-06-08' AND usage_start_time < '2026-06-09'$$);
-- ListCost is never below what is billed: above it where the emulator
-- prices under contract (Compute Engine, BigQuery: ListCost > ContractedCost)
-- or credits apply (sustained and committed use: BilledCost < ContractedCost)
SELECT ServiceName, count(*) FILTER (WHERE ListCost > ContractedCost) AS contract_priced,
       count(*) FILTER (WHERE BilledCost < ContractedCost) AS credited,
       count(*) FILTER (WHERE (ListCost > ContractedCost OR BilledCost < ContractedCost)
                          AND ListCost > BilledCost) AS list_above_billed,
       count(*) FILTER (WHERE ListCost < BilledCost OR ListCost < ContractedCost) AS list_below,
       count(*) FILTER (WHERE ListCost IS NULL) AS no_list
FROM gcp_focus WHERE ChargePeriodStart >= '2026-06-08' AND ChargePeriodStart < '2026-06-10'
GROUP BY 1 ORDER BY 1;
-- the units PricingQuantity is in (ConsumedQuantity is in usage units)
SELECT ConsumedUnit, PricingUnit, count(*) > 0 AS rows
FROM gcp_focus WHERE ChargePeriodStart >= '2026-06-08' AND ChargePeriodStart < '2026-06-09'
GROUP BY 1, 2 ORDER BY 1, 2;
-- reading them asks BigQuery for those columns
SELECT emu.reset();
SELECT count(ListCost) > 0, count(PricingQuantity) > 0, count(PricingUnit) > 0 FROM gcp_focus
WHERE ChargePeriodStart >= '2026-06-08' AND ChargePeriodStart < '2026-06-09';
SELECT regexp_replace(line, '.*"query":"([^"]*)".*', '\1') FROM emu.requests() AS line WHERE line LIKE 'bigquery.jobs.query%';
-- the window and the filters are the query's WHERE, as parameters
SELECT emu.reset();
SELECT ChargeCategory, ServiceCategory, ProviderName, InvoiceIssuerName, count(*) > 0 AS rows
FROM gcp_focus
WHERE ChargePeriodStart >= '2026-06-01' AND ChargePeriodStart < '2026-06-02'
  AND ServiceName = 'BigQuery' AND SubAccountId IN ('northwind-prod', 'northwind-ml')
GROUP BY 1, 2, 3, 4;
SELECT * FROM emu.requests();

-- Azure: daily x ServiceName x ChargeType; BilledCost is ActualCost's Cost
SELECT * FROM emu.same_rows(
  $$SELECT ServiceName, ChargePeriodStart, SUM(BilledCost)
    FROM azure_focus
    WHERE ChargePeriodStart >= '2026-05-01' AND ChargePeriodStart < '2026-05-04'
    GROUP BY 1, 2$$,
  $$SELECT service_name, usage_date::timestamp AT TIME ZONE 'UTC', cost
    FROM azure_usage_by_service WHERE usage_date >= '2026-05-01' AND usage_date < '2026-05-04'$$);
SELECT emu.reset();
SELECT ChargeCategory, ChargeClass, ChargeFrequency, SubAccountId, count(*)
FROM azure_focus
WHERE ChargePeriodStart >= '2026-06-01' AND ChargePeriodStart < '2026-06-02'
GROUP BY 1, 2, 3, 4 ORDER BY 1;
SELECT * FROM emu.requests();

-- a value outside a closed set is an error, not an empty result
SELECT count(*) FROM aws_focus WHERE ChargeCategory = 'usage';
SELECT count(*) FROM azure_focus WHERE ServiceCategory IN ('Compute', 'Storages');

-- focus_view(): every cloud in one view, the server in x_server
SELECT finops_usage.focus_view();
SELECT x_server, ProviderName, count(*) > 0 AS rows, sum(BilledCost) > 0 AS cost
FROM focus_costs
WHERE ChargePeriodStart >= '2026-06-01' AND ChargePeriodStart < '2026-06-02'
GROUP BY 1, 2 ORDER BY 1;
-- a materialized view over it refreshes from the APIs
CREATE MATERIALIZED VIEW focus_june AS
  SELECT x_server, ServiceName, sum(BilledCost) AS billed
  FROM focus_costs
  WHERE ChargePeriodStart >= '2026-06-01' AND ChargePeriodStart < '2026-06-02'
  GROUP BY 1, 2;
SELECT emu.reset();
REFRESH MATERIALIZED VIEW focus_june;
SELECT count(*) AS requests FROM emu.requests();
SELECT x_server, count(*) > 0 AS services FROM focus_june GROUP BY 1 ORDER BY 1;
-- (re)creating keeps what depends on it
SELECT finops_usage.focus_view('focus_costs');
SELECT * FROM emu.same_rows(
  $$SELECT x_server, ServiceName, billed FROM focus_june$$,
  $$SELECT x_server, ServiceName, sum(BilledCost) FROM focus_costs
    WHERE ChargePeriodStart >= '2026-06-01' AND ChargePeriodStart < '2026-06-02' GROUP BY 1, 2$$);
-- a qualified name, quoted as an identifier
CREATE SCHEMA "Focus";
SELECT finops_usage.focus_view('"Focus"."All"');
SELECT count(DISTINCT x_server) AS servers FROM "Focus"."All"
WHERE ChargePeriodStart >= '2026-06-01' AND ChargePeriodStart < '2026-06-02';
DROP SCHEMA "Focus" CASCADE;
DROP MATERIALIZED VIEW focus_june;
DROP VIEW focus_costs;
-- no FOCUS table at all: an error with a hint
BEGIN;
DROP FOREIGN TABLE aws_focus, gcp_focus, azure_focus;
SELECT finops_usage.focus_view();
ROLLBACK;
