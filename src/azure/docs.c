/*-------------------------------------------------------------------------
 *
 * docs.c
 *		  What the Azure tables and their columns mean, for the COMMENTs
 *		  IMPORT FOREIGN SCHEMA leaves on them (comment.c adds which
 *		  conditions push down and the closed sets of values).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "azure.h"

const FuDoc fu_azure_docs[] = {
	/* tables */
	{"azure_usage", NULL, "Cost by day (or for the whole window), grouped by the dimension columns a query reads (at most two); the narrow azure_usage_by_* tables have a fixed grain."},
	{"azure_usage_by_service", NULL, "Cost by day and service name."},
	{"azure_usage_by_resource_group", NULL, "Cost by day and resource group."},
	{"azure_usage_by_subscription", NULL, "Cost by day and subscription."},
	{"azure_focus", NULL, "FOCUS 1.2 cost rows by day, service name and charge type (actual cost)."},
	{"azure_metrics", NULL, "Azure Monitor metric values: one row per resource, metric, aggregation and interval."},

	/* azure_usage */
	{NULL, "usage_date", "Day of the usage (NULL with granularity None)."},
	{NULL, "granularity", "Daily (default) or None (one row for the whole window)."},
	{NULL, "cost_type", "ActualCost (default), AmortizedCost or Usage: the dataset the costs come from."},
	{NULL, "subscription_id", "Subscription id (a GUID)."},
	{NULL, "resource_group", "Resource group name."},
	{NULL, "service_name", "Service name (Virtual Machines, Storage...)."},
	{NULL, "resource_location", "Location of the resource (eastus...)."},
	{"azure_usage", "resource_type", "ARM resource type (microsoft.compute/virtualmachines...)."},
	{"azure_usage", "resource_id", "ARM resource id, as Cost Management gives it (lower case)."},
	{NULL, "meter_category", "Meter category (Virtual Machines, Bandwidth...)."},
	{NULL, "charge_type", "Charge type (Usage, Purchase, Refund...)."},
	{NULL, "tag_key", "Tag key the rows are grouped by (needed to see tag_value)."},
	{NULL, "tag_value", "Value of the tag_key tag; NULL for untagged cost."},
	{NULL, "cost", "Cost in the billing currency (currency)."},
	{NULL, "cost_usd", "Cost converted to US dollars."},
	{NULL, "usage_quantity", "Usage quantity, in the meter's unit."},
	{NULL, "currency", "ISO 4217 billing currency of cost."},

	/* azure_metrics */
	{"azure_metrics", "resource_id", "ARM id of the resource."},
	{"azure_metrics", "resource_type", "Kind of resource (virtual_machine, sql_database, storage_account, app_service or an ARM type); without resource_id, its resources are discovered in the subscription."},
	{"azure_metrics", "resource_group", "Resource group of the resource."},
	{"azure_metrics", "region", "Region of the resource (eastus...)."},
	{"azure_metrics", "namespace", "Metric namespace (Microsoft.Compute/virtualMachines...)."},
	{"azure_metrics", "metric_name", "Metric name (Percentage CPU...)."},
	{"azure_metrics", "aggregation", "Aggregation of the values; without a condition Average."},
	{"azure_metrics", "period", "Length of the interval of a value, in seconds."},
	{"azure_metrics", "ts", "Start of the value's interval."},
	{"azure_metrics", "value", "Value of the aggregation over the interval, in unit."},
	{"azure_metrics", "unit", "Unit of the metric (Percent, Bytes...)."},
	{"azure_metrics", "dimensions", "Dimension values of the series, as a JSON object."},
	{NULL, NULL, NULL}
};
