/*-------------------------------------------------------------------------
 *
 * auth.c
 *		  Credentials: resolved once per server and user mapping,
 *		  before the data requests, and cached in the backend.
 *
 * The first credential provider of the server's provider that applies to
 * the user mapping obtains them (static keys, an STS AssumeRole, a token
 * from an OAuth endpoint...).  The cache keeps them until they come within
 * five minutes of expiring, until the server or user mapping changes (a
 * syscache callback, as postgres_fdw's connection cache), or until an API
 * answers that they expired, when the engine refreshes them once and sends
 * the request again.
 *
 * Credentials replaced during a transaction may still be in use by a scan
 * of it: their memory is released when the transaction ends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_user_mapping.h"
#include "engine.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#define REFRESH_MARGIN_USECS	(5 * 60 * USECS_PER_SEC)

#define MAX_AUDIENCE	128

typedef struct AuthKey
{
	Oid			umid;			/* user mapping */
	Oid			serverid;
	char		audience[MAX_AUDIENCE];	/* what the credentials are for;
										 * "" the provider's default */
} AuthKey;

typedef struct AuthEntry
{
	AuthKey		key;
	FuCredential *cred;			/* NULL: none yet */
	MemoryContext cxt;			/* holds cred */
	bool		invalid;		/* the server or mapping changed */
	TimestampTz obtained;
	uint32		server_hash;
	uint32		mapping_hash;
} AuthEntry;

static HTAB *auth_cache = NULL;
static MemoryContext auth_cxt = NULL;
static List *retired = NIL;		/* contexts to free at transaction end */
static uint64 invalidations = 0;	/* invalidation messages received */

static void
auth_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT)
		return;
	foreach(lc, retired)
		MemoryContextDelete((MemoryContext) lfirst(lc));
	list_free(retired);
	retired = NIL;
}

/* The server or a user mapping changed: forget what depends on it */
static void
auth_inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	AuthEntry  *e;

	invalidations++;
	hash_seq_init(&scan, auth_cache);
	while ((e = (AuthEntry *) hash_seq_search(&scan)) != NULL)
	{
		if (hashvalue == 0 ||
			(cacheid == FOREIGNSERVEROID && e->server_hash == hashvalue) ||
			(cacheid == USERMAPPINGOID && e->mapping_hash == hashvalue))
			e->invalid = true;
	}
}

static void
auth_init(void)
{
	HASHCTL		ctl;

	auth_cxt = AllocSetContextCreate(TopMemoryContext,
									 "finops_usage credentials",
									 ALLOCSET_SMALL_SIZES);
	ctl.keysize = sizeof(AuthKey);
	ctl.entrysize = sizeof(AuthEntry);
	ctl.hcxt = auth_cxt;
	auth_cache = hash_create("finops_usage credentials", 16, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, auth_inval_callback, 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, auth_inval_callback, 0);
	RegisterXactCallback(auth_xact_callback, NULL);
}

/* The credential provider that applies to the user mapping, or NULL */
static const FuCredentialProvider *
find_cp(const FuAuth *auth)
{
	for (const FuCredentialProvider *const *c = auth->provider->credentials;
		 c && *c; c++)
		if ((*c)->applies(auth))
			return *c;
	return NULL;
}

/* The same, or an ERROR */
static const FuCredentialProvider *
choose(const FuAuth *auth)
{
	const FuCredentialProvider *cp = find_cp(auth);

	if (cp)
		return cp;
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("no credentials for server \"%s\"", auth->server->servername),
			 errhint("Add the credentials of provider \"%s\" to the user mapping.",
					 auth->provider->name)));
	return NULL;				/* keep compiler quiet */
}

/*
 * Refresh when less than five minutes remain (or half the lifetime of
 * credentials that live less than ten minutes)
 */
static bool
usable(AuthEntry *e)
{
	TimestampTz margin;

	if (e->cred == NULL || e->invalid)
		return false;
	if (e->cred->expires == DT_NOEND)
		return true;
	margin = Min(REFRESH_MARGIN_USECS, (e->cred->expires - e->obtained) / 2);
	return GetCurrentTimestamp() + margin < e->cred->expires;
}

/*
 * The credentials of a server and user mapping.  When the
 * API said that credentials (stale) expired, new ones are obtained, unless
 * the cache already holds others (another request refreshed them).
 */
const FuCredential *
fu_auth_get(const FuProvider *provider, ForeignServer *server,
			UserMapping *user, const FuCredential *stale, const char *audience)
{
	AuthKey		key;
	AuthEntry  *e;
	bool		found;
	FuAuth		auth;
	FuCredential *cred;
	const FuCredentialProvider *cp;
	MemoryContext cxt;
	MemoryContext work;
	MemoryContext old;
	TimestampTz obtained;
	uint64		invalidations_before;

	if (auth_cache == NULL)
		auth_init();
	memset(&key, 0, sizeof(key));
	key.umid = user->umid;
	key.serverid = server->serverid;
	if (audience)
	{
		if (strlen(audience) >= MAX_AUDIENCE)
			elog(ERROR, "credential audience \"%s\" is too long", audience);
		strcpy(key.audience, audience);
	}
	e = (AuthEntry *) hash_search(auth_cache, &key, HASH_ENTER, &found);
	if (!found)
	{
		e->cred = NULL;
		e->cxt = NULL;
	}
	if (usable(e) && (stale == NULL || e->cred != stale))
		return e->cred;

	/* the mapping's options were not checked against the provider yet */
	fu_check_mapping_options(provider, server, user);

	auth.provider = provider;
	auth.server = server;
	auth.user = user;
	auth.audience = audience;
	cp = choose(&auth);

	/*
	 * Build the credentials in a context of this statement: if obtaining
	 * them fails, they go with it.  Only once complete do they join the
	 * cache.
	 */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "finops_usage credential",
								ALLOCSET_SMALL_SIZES);
	work = AllocSetContextCreate(CurrentMemoryContext, "finops_usage auth work",
								 ALLOCSET_DEFAULT_SIZES);
	auth.cxt = cxt;
	obtained = GetCurrentTimestamp();
	invalidations_before = invalidations;
	cred = MemoryContextAllocZero(cxt, sizeof(FuCredential));
	cred->method = cp->name;
	cred->expires = DT_NOEND;
	old = MemoryContextSwitchTo(work);
	cp->obtain(&auth, cred);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);

	/* the lookup above may have been invalidated while obtaining */
	e = (AuthEntry *) hash_search(auth_cache, &key, HASH_ENTER, &found);
	if (found && e->cxt)
	{
		old = MemoryContextSwitchTo(auth_cxt);
		retired = lappend(retired, e->cxt);
		MemoryContextSwitchTo(old);
	}
	MemoryContextSetParent(cxt, auth_cxt);
	e->cxt = cxt;
	e->cred = cred;
	e->obtained = obtained;
	/* a change that arrived meanwhile may postdate what was read */
	e->invalid = (invalidations != invalidations_before);
	e->server_hash = GetSysCacheHashValue1(FOREIGNSERVEROID,
										   ObjectIdGetDatum(server->serverid));
	e->mapping_hash = GetSysCacheHashValue1(USERMAPPINGOID,
											ObjectIdGetDatum(user->umid));
	return cred;
}

/* How the credentials will be obtained, for EXPLAIN; NULL: nothing to say */
char *
fu_auth_describe(const FuProvider *provider, ForeignServer *server,
				 UserMapping *user)
{
	FuAuth		auth;
	const FuCredentialProvider *cp;

	auth.provider = provider;
	auth.server = server;
	auth.user = user;
	auth.audience = NULL;
	auth.cxt = CurrentMemoryContext;
	cp = find_cp(&auth);
	return cp && cp->describe ? cp->describe(&auth) : NULL;
}

/*
 * Who the credentials of a user mapping are, as far as the options and the
 * server's environment tell without a network call (see cache.c)
 */
char *
fu_auth_principal(const FuProvider *provider, ForeignServer *server,
				  UserMapping *user)
{
	FuAuth		auth;
	const FuCredentialProvider *cp;

	auth.provider = provider;
	auth.server = server;
	auth.user = user;
	auth.audience = NULL;
	auth.cxt = CurrentMemoryContext;
	cp = find_cp(&auth);
	return cp && cp->principal ? cp->principal(&auth) : NULL;
}

/* ---------- for credential providers ---------- */

/* A request of a credential provider (token or STS endpoint) */
FuRequest *
fu_auth_request(const FuAuth *auth, const char *label, const char *method,
				const char *base_url, const char *path)
{
	FuRequest  *req = fu_request_create(CurrentMemoryContext, NULL,
										auth->provider, label, method,
										base_url, path);

	req->billable = false;
	return req;
}

/*
 * Send a credential provider's request and wait for the answer, retrying
 * what the provider classifies as throttled or transient.  The request is
 * authorized with signer (NULL: the request carries its own secret, as a
 * client_secret in a form).  Returns the provider's verdict; the response
 * is in req->http.
 */
FuVerdict
fu_auth_send(const FuAuth *auth, FuRequest *req, const FuCredential *signer)
{
	FuSender	sender;

	fu_sender_init(&sender, auth->provider, auth->server, auth->user,
				   CurrentMemoryContext);
	req->cred = signer;
	fu_send(&sender, req);
	if (fu_receive(&sender) != req)
		elog(ERROR, "credential request was not answered");
	return req->verdict;
}

/* An option of the user mapping */
char *
fu_auth_option(const FuAuth *auth, const char *name)
{
	return fu_get_option(auth->user->options, name);
}

/*
 * May the server's own credentials (environment, files) be used?  Only
 * when a superuser set use_server_credentials on the mapping.
 */
bool
fu_auth_server_credentials(const FuAuth *auth)
{
	return fu_mapping_allows_server_credentials(auth->user);
}

/*
 * The credentials cached for a server and user mapping (default
 * audience), without obtaining any: NULL when there are none.
 */
const FuCredential *
fu_auth_cached(ForeignServer *server, UserMapping *user)
{
	AuthKey		key;
	AuthEntry  *e;

	if (auth_cache == NULL)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.umid = user->umid;
	key.serverid = server->serverid;
	e = (AuthEntry *) hash_search(auth_cache, &key, HASH_FIND, NULL);
	return e && !e->invalid ? e->cred : NULL;
}

/*
 * The user mapping a user's queries of a server use: its own, else
 * PUBLIC's (InvalidOid when neither exists).
 */
Oid
fu_mapping_oid(Oid userid, Oid serverid)
{
	HeapTuple	tp;
	Oid			umid = InvalidOid;

	tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(userid),
						 ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
							 ObjectIdGetDatum(serverid));
	if (HeapTupleIsValid(tp))
	{
		umid = ((Form_pg_user_mapping) GETSTRUCT(tp))->oid;
		ReleaseSysCache(tp);
	}
	return umid;
}
