/*-------------------------------------------------------------------------
 *
 * focus.h
 *		  The FOCUS 1.2 columns the <provider>_focus tables share, and what
 *		  the providers' derive functions use to fill them (focus.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_FOCUS_H
#define FU_FOCUS_H

#include "provider.h"

/* The columns, FOCUS names in lower case, in the order of every table */
enum
{
	FOCUS_BILLEDCOST,
	FOCUS_BILLINGACCOUNTID,
	FOCUS_BILLINGACCOUNTNAME,
	FOCUS_BILLINGCURRENCY,
	FOCUS_BILLINGPERIODSTART,
	FOCUS_BILLINGPERIODEND,
	FOCUS_CHARGECATEGORY,
	FOCUS_CHARGECLASS,
	FOCUS_CHARGEDESCRIPTION,
	FOCUS_CHARGEFREQUENCY,
	FOCUS_CHARGEPERIODSTART,
	FOCUS_CHARGEPERIODEND,
	FOCUS_CONSUMEDQUANTITY,
	FOCUS_CONSUMEDUNIT,
	FOCUS_CONTRACTEDCOST,
	FOCUS_EFFECTIVECOST,
	FOCUS_INVOICEISSUERNAME,
	FOCUS_LISTCOST,
	FOCUS_PRICINGQUANTITY,
	FOCUS_PRICINGUNIT,
	FOCUS_PROVIDERNAME,
	FOCUS_PUBLISHERNAME,
	FOCUS_REGIONID,
	FOCUS_REGIONNAME,
	FOCUS_RESOURCEID,
	FOCUS_SERVICECATEGORY,
	FOCUS_SERVICENAME,
	FOCUS_SKUID,
	FOCUS_SUBACCOUNTID,
	FOCUS_SUBACCOUNTNAME,
	FOCUS_TAGS,
	FOCUS_NUM_COLUMNS
};

extern const FuColumn fu_focus_columns[FOCUS_NUM_COLUMNS];
extern const FuDoc fu_focus_docs[];

/* A provider's service names and their ServiceCategory */
typedef struct FuFocusCategory
{
	const char *service;
	const char *category;		/* one of FOCUS's ServiceCategory values */
} FuFocusCategory;

extern const char *fu_focus_service_category(const FuFocusCategory *table,
											  const char *service);

/* Helpers of derive functions */
extern void fu_focus_set(Datum *values, bool *nulls, int col, Datum value);
extern void fu_focus_text(Datum *values, bool *nulls, int col, const char *s);
extern void fu_focus_copy(Datum *values, bool *nulls, int col,
						  const Datum *in, const bool *innulls, int input);
extern TimestampTz fu_focus_midnight(DateADT d);
extern void fu_focus_billing_period(Datum *values, bool *nulls, DateADT day);

#endif							/* FU_FOCUS_H */
