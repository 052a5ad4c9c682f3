--
-- FOCUS 1.2: aws_focus, gcp_focus and azure_focus over each provider's cost
-- API, queried with the FOCUS names unquoted, their totals against the
-- provider's own tables, the requests they send, and focus_view().
--
\i test/sql/common.sql
\i test/sql/azure.sql
\i test/sql/gcp.sql

-- AWS: daily x linked account x service; BilledCost is UnblendedCost
SELECT * FROM emu.same_rows(
  $$SELECT ServiceName, SubAccountId, ChargePeriodStart, SUM(BilledCost)
    FROM aws_focus
    WHERE ChargePeriodStart >= '2026-05-01' AND ChargePeriodStart < '2026-05-08'
    GROUP BY 1, 2, 3$$,
  $$SELECT service, linked_account, period_start::timestamp AT TIME ZONE 'UTC', sum(unblended_cost)
    FROM aws_cost WHERE period_start >= '2026-05-01' AND period_start < '2026-05-08'
    GROUP BY 1, 2, 3$$);
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
