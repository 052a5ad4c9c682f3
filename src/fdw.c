/*-------------------------------------------------------------------------
 *
 * fdw.c
 *		  The handler of the finops_usage foreign data wrapper.
 *
 * The engine is split by concern: plan.c (paths and plans), quals.c (which
 * clauses become request parameters), scan.c (execution, pages, rescans),
 * request.c (requests, paging, sending), auth.c (credentials), explain.c,
 * import.c; http.c and jsonwalk.c know nothing of the FDW.  Providers live
 * in their own folders and implement provider.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engine.h"
#include "foreign/fdwapi.h"

PG_FUNCTION_INFO_V1(finops_usage_handler);

Datum
finops_usage_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = fuGetForeignRelSize;
	routine->GetForeignPaths = fuGetForeignPaths;
	routine->GetForeignPlan = fuGetForeignPlan;
	routine->GetForeignUpperPaths = fuGetForeignUpperPaths;
	routine->BeginForeignScan = fuBeginForeignScan;
	routine->IterateForeignScan = fuIterateForeignScan;
	routine->ReScanForeignScan = fuReScanForeignScan;
	routine->EndForeignScan = fuEndForeignScan;
	routine->ExplainForeignScan = fuExplainForeignScan;
	routine->ImportForeignSchema = fuImportForeignSchema;
	PG_RETURN_POINTER(routine);
}
