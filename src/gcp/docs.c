/*-------------------------------------------------------------------------
 *
 * docs.c
 *		  What the GCP tables and their columns mean, for the COMMENTs
 *		  IMPORT FOREIGN SCHEMA leaves on them (comment.c adds which
 *		  conditions push down and the closed sets of values).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "gcp.h"

const FuDoc fu_gcp_docs[] = {
	/* tables */
	{"gcp_metrics", NULL, "Cloud Monitoring points: one row per time series, aligner and alignment period."},
	{"gcp_cost", NULL, "Rows of the Cloud Billing export table of the server's billing_table (one per usage hour, SKU, project and labels)."},

	{"gcp_focus", NULL, "FOCUS 1.2 cost rows, one per row of the Cloud Billing export."},

	/* gcp_metrics */
	{"gcp_metrics", "project_id", "Project of the time series; without a condition the server's project_id."},
	{"gcp_metrics", "metric_type", "Metric type (e.g. compute.googleapis.com/instance/cpu/utilization)."},
	{"gcp_metrics", "resource_type", "Monitored resource type (gce_instance, cloudsql_database...)."},
	{"gcp_metrics", "resource_id", "Id of the resource: the type's id label (instance_id, database_id...)."},
	{"gcp_metrics", "resource_labels", "Every label of the monitored resource (zone, project_id...), as a JSON object."},
	{"gcp_metrics", "metric_labels", "Every label of the metric, as a JSON object."},
	{"gcp_metrics", "aligner", "Per-series aligner of the points (ALIGN_MEAN...); without a condition, the metric kind's default."},
	{"gcp_metrics", "period", "Alignment period, in seconds."},
	{"gcp_metrics", "ts", "End of the point's alignment period."},
	{"gcp_metrics", "value", "Point value (a distribution's mean), in unit; CPU utilization is a fraction (0 to 1)."},
	{"gcp_metrics", "value_type", "Type of the value as the API gives it (DOUBLE, INT64, BOOL, DISTRIBUTION)."},
	{"gcp_metrics", "unit", "Unit of the metric as the API gives it (1, By, s...)."},

	/* gcp_cost */
	{"gcp_cost", "usage_start_time", "Start of the usage window (hourly)."},
	{"gcp_cost", "usage_end_time", "End of the usage window (exclusive)."},
	{"gcp_cost", "invoice_month", "Invoice month the cost belongs to, YYYYMM."},
	{"gcp_cost", "billing_account_id", "Cloud Billing account id."},
	{"gcp_cost", "project_id", "Project id; NULL for account-level charges."},
	{"gcp_cost", "project_name", "Project display name."},
	{"gcp_cost", "service", "Service description (Compute Engine...)."},
	{"gcp_cost", "service_id", "Service id (6F81-5844-456A...)."},
	{"gcp_cost", "sku", "SKU description."},
	{"gcp_cost", "sku_id", "SKU id."},
	{"gcp_cost", "region", "Region of the usage (location.region)."},
	{"gcp_cost", "zone", "Zone of the usage (location.zone)."},
	{"gcp_cost", "cost_type", "Kind of charge: regular, tax, adjustment or rounding error."},
	{"gcp_cost", "currency", "ISO 4217 currency of the cost columns."},
	{"gcp_cost", "usage_unit", "Unit of usage_amount."},
	{"gcp_cost", "cost", "Cost before credits, in currency."},
	{"gcp_cost", "credits", "Sum of the credits (negative), in currency."},
	{"gcp_cost", "net_cost", "cost + credits, in currency."},
	{"gcp_cost", "usage_amount", "Usage quantity, in usage_unit."},
	{"gcp_cost", "labels", "Resource labels of the row, as a JSON object."},
	{"gcp_cost", "resource_name", "Name of the resource (detailed export only; NULL with the standard export)."},
	{"gcp_cost", "resource_global_name", "Globally unique name of the resource, such as //compute.googleapis.com/projects/p/zones/z/instances/123 (detailed export only; NULL with the standard export)."},
	{"gcp_cost", "cost_at_list", "Cost of the usage at list prices, before credits, in currency (cost is at the account's contract prices)."},
	{"gcp_cost", "pricing_quantity", "Usage quantity in pricing_unit, the unit the SKU is priced in (usage.amount_in_pricing_units)."},
	{"gcp_cost", "pricing_unit", "Unit the SKU is priced in (hour, gibibyte month...)."},
	{NULL, NULL, NULL}
};
