/*-------------------------------------------------------------------------
 *
 * availability.c
 *		  availability(): can each server be reached with the caller's
 *		  credentials?
 *
 * One row per server of the wrapper the current user has a user mapping
 * for (its own or PUBLIC's).  The check is free: the provider's verify
 * call (AWS STS GetCallerIdentity), else obtaining new credentials (a
 * token request).  A broken server never raises: its error becomes the
 * row's detail, caught in a subtransaction as PL/pgSQL does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_foreign_server.h"
#include "engine.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(finops_usage_availability);

/* Check one server: who the credentials are, or an ERROR */
static char *
check_server(ForeignServer *server, char **method)
{
	const FuProvider *provider = fu_server_provider(server);
	UserMapping *user = GetUserMapping(GetUserId(), server->serverid);
	const FuCredential *cred;
	FuAuth		auth;

	if (provider->verify == NULL)
	{
		/* credentials cached earlier are no proof: obtain new ones */
		cred = fu_auth_get(provider, server, user,
						   fu_auth_cached(server, user), NULL);
		*method = pstrdup(cred->method);
		return pstrdup(cred->identity ? cred->identity : "");
	}
	cred = fu_auth_get(provider, server, user, NULL, NULL);
	*method = pstrdup(cred->method);
	auth.provider = provider;
	auth.server = server;
	auth.user = user;
	auth.audience = NULL;
	auth.cxt = CurrentMemoryContext;
	return provider->verify(&auth, cred);
}

Datum
finops_usage_availability(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ForeignDataWrapper *fdw = GetForeignDataWrapperByName("finops_usage", false);
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	List	   *servers = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);

	/* the servers first: a check runs requests and subtransactions */
	rel = table_open(ForeignServerRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_foreign_server f = (Form_pg_foreign_server) GETSTRUCT(tup);

		if (f->srvfdw == fdw->fdwid)
			servers = lappend_oid(servers, f->oid);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	foreach(lc, servers)
	{
		ForeignServer *server = GetForeignServer(lfirst_oid(lc));
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;
		Datum		values[5];
		bool		nulls[5] = {0};
		char	   *identity = NULL;
		char	   *method = NULL;
		char	   *provider = fu_get_option(server->options, "provider");

		if (!OidIsValid(fu_mapping_oid(GetUserId(), server->serverid)))
			continue;
		values[0] = CStringGetDatum(server->servername);
		values[0] = DirectFunctionCall1(namein, values[0]);
		values[1] = CStringGetTextDatum(provider ? provider : "");

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			identity = check_server(server, &method);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			values[2] = BoolGetDatum(true);
			values[3] = CStringGetTextDatum(identity);
			values[4] = CStringGetTextDatum(psprintf("%s: the credentials work", method));
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			/* a cancel is not a server's state */
			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
				ReThrowError(edata);
			values[2] = BoolGetDatum(false);
			nulls[3] = true;
			values[4] = CStringGetTextDatum(edata->detail ?
											psprintf("%s: %s", edata->message, edata->detail) :
											edata->message);
		}
		PG_END_TRY();
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
