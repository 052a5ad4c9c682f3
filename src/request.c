/*-------------------------------------------------------------------------
 *
 * request.c
 *		  Requests: how a provider builds them (method, URL from a base, a
 *		  path and percent-encoded query parameters, headers, body), how its
 *		  page parser asks for the next page (a token in the body or in the
 *		  query string, a next link, polling an unfinished job), and how the
 *		  engine sends them and hands back their answers.
 *
 * Sending goes through http.c; before every attempt the provider
 * authorizes the request with credentials the engine resolved beforehand
 * (auth.c), and after every answer it classifies the response: retried
 * (throttled, transient, after the delay it names), expired credentials,
 * failed, or fine.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engine.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#define FU_EXPLAIN_BODY_MAX 1000	/* request body bytes EXPLAIN shows */

/* ---------- building ---------- */

/* A header value or URL must not carry a line break into the request */
static void
check_no_newline(const char *what, const char *s)
{
	if (strpbrk(s, "\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("%s contains a line break", what)));
}

/*
 * Base URL of an API host: the server's endpoint option (emulators,
 * proxies; a path prefix is kept) or https://host/.
 */
char *
fu_base_url(ForeignServer *server, const char *host)
{
	char	   *endpoint = fu_get_option(server->options, "endpoint");
	size_t		len;

	if (endpoint == NULL)
		return psprintf("https://%s/", host);
	len = strlen(endpoint);
	if (len > 0 && endpoint[len - 1] == '/')
		return pstrdup(endpoint);
	return psprintf("%s/", endpoint);
}

/* RFC 3986 percent-encoding of a query or form value */
char *
fu_url_encode(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
			*p == '_' || *p == '~')
			appendStringInfoChar(&buf, (char) *p);
		else
			appendStringInfo(&buf, "%%%02X", *p);
	}
	return buf.data;
}

FuRequest *
fu_request_create(MemoryContext cxt, FuScan *scan, const FuProvider *provider,
				  const char *label, const char *method,
				  const char *base_url, const char *path)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	FuRequest  *req = palloc0(sizeof(FuRequest));

	req->scan = scan;
	req->provider = provider;
	req->label = pstrdup(label);
	req->method = pstrdup(method);
	req->base_url = pstrdup(base_url);
	while (path && *path == '/')
		path++;
	req->path = pstrdup(path ? path : "");
	req->billable = true;
	req->price = -1;
	req->cache_lock = -1;
	check_no_newline("a request URL", req->base_url);
	check_no_newline("a request URL", req->path);
	MemoryContextSwitchTo(old);
	return req;
}

/* For sources: a request of the scan, sent when the scan needs it */
FuRequest *
fu_request_new(FuScan *scan, const char *label, const char *method,
			   const char *base_url, const char *path)
{
	FuRequest  *req = fu_request_create(scan->req_cxt, scan, scan->provider,
										label, method, base_url, path);
	MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);

	scan->requests = lappend(scan->requests, req);
	MemoryContextSwitchTo(old);
	return req;
}

/* A query parameter (name and value are percent-encoded when sent) */
void
fu_request_param(FuRequest *req, const char *name, const char *value)
{
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(req));
	FuParam    *p = palloc(sizeof(FuParam));

	p->name = pstrdup(name);
	p->value = pstrdup(value);
	req->query = lappend(req->query, p);
	req->url = NULL;
	MemoryContextSwitchTo(old);
}

/* A header sent with every attempt */
void
fu_request_header(FuRequest *req, const char *name, const char *value)
{
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(req));

	check_no_newline(psprintf("the value of header \"%s\"", name), value);
	req->headers = lappend(req->headers, psprintf("%s: %s", name, value));
	MemoryContextSwitchTo(old);
}

void
fu_request_body(FuRequest *req, const char *content_type, const char *body,
				size_t len)
{
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(req));

	req->content_type = pstrdup(content_type);
	req->body = palloc(len + 1);
	memcpy(req->body, body, len);
	req->body[len] = '\0';
	req->body_len = len;
	req->first_body = req->body;
	MemoryContextSwitchTo(old);
}

/* The URL the next attempt goes to */
char *
fu_request_url(FuRequest *req)
{
	MemoryContext old;
	StringInfoData buf;
	ListCell   *lc;

	if (req->url)
		return req->url;
	old = MemoryContextSwitchTo(GetMemoryChunkContext(req));
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s%s", req->base_url, req->path);
	foreach(lc, req->query)
	{
		FuParam    *p = (FuParam *) lfirst(lc);

		appendStringInfo(&buf, "%c%s=%s", foreach_current_index(lc) ? '&' : '?',
						 fu_url_encode(p->name), fu_url_encode(p->value));
	}
	req->url = buf.data;
	MemoryContextSwitchTo(old);
	return req->url;
}

/* "POST https://host/path {body}" for EXPLAIN, long bodies cut */
/* A URL with its "user:password@" part masked */
static char *
without_userinfo(const char *url)
{
	const char *p = strstr(url, "://");
	const char *end;
	const char *at;

	if (p == NULL)
		return pstrdup(url);
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', end - p);
	if (at == NULL)
		return pstrdup(url);
	return psprintf("%.*s<credentials>%s", (int) (p - url), url, at);
}

char *
fu_request_explain(FuRequest *req)
{
	const char *body = req->first_body ? req->first_body : "";
	int			len = strlen(body);
	char	   *text;

	/* a batch of 500 metric queries is long: show its start */
	if (len > FU_EXPLAIN_BODY_MAX)
		body = psprintf("%.*s... (%d bytes)",
						pg_encoding_mbcliplen(PG_UTF8, body, len, FU_EXPLAIN_BODY_MAX),
						body, len);
	/* what requests carry is UTF-8; a password in the URL is not shown */
	text = psprintf("%s %s%s%s",
					req->first_method ? req->first_method : req->method,
					without_userinfo(req->first_url ? req->first_url :
									 fu_request_url(req)),
					*body ? " " : "", body);
	if (!pg_verify_mbstr(PG_UTF8, text, strlen(text), true))
		return pstrdup("(request not valid UTF-8)");
	return pg_any_to_server(text, strlen(text), PG_UTF8);
}

/* ---------- paging ---------- */

/*
 * Start the next page's request: what it needs lives in next_cxt, which
 * the page after resets.  A replayed page (a rescan parsing a kept page)
 * changes nothing: the request may be in flight already.
 */
static bool
begin_next(FuRequest *req, FuNextPage next, const char *token)
{
	if (req->scan && req->scan->replaying)
		return false;
	if (token)
	{
		ListCell   *lc;

		/*
		 * A server that hands a token back again (the last one, or one of
		 * a cycle) would loop forever, billing every page
		 */
		foreach(lc, req->tokens)
			if (strcmp((char *) lfirst(lc), token) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("%s returned the same page token twice", req->label),
						 errdetail("Following it would fetch the same pages forever.")));
		{
			/* parse_page runs in the page's context: the list outlives it */
			MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(req));

			req->tokens = lappend(req->tokens, pstrdup(token));
			MemoryContextSwitchTo(old);
		}
	}
	if (req->next_cxt == NULL)
		req->next_cxt = AllocSetContextCreate(GetMemoryChunkContext(req),
											  "finops_usage next page",
											  ALLOCSET_SMALL_SIZES);
	req->next = next;
	req->next_delay_ms = 0;
	return true;
}

/*
 * Set what the next attempt sends.  The arguments may point into next_cxt
 * (the previous page's), so they are copied out before it is reset.
 */
static void
set_next(FuRequest *req, const char *method, const char *url,
		 const char *body, size_t body_len, const char *token)
{
	char	   *m = pstrdup(method);
	char	   *u = pstrdup(url);
	char	   *b = NULL;
	char	   *t = token ? pstrdup(token) : NULL;

	if (body)
	{
		b = palloc(body_len + 1);
		memcpy(b, body, body_len);
		b[body_len] = '\0';
	}

	/* EXPLAIN shows the request as it started */
	if (req->first_url == NULL)
	{
		MemoryContext cxt = GetMemoryChunkContext(req);

		req->first_url = MemoryContextStrdup(cxt, fu_request_url(req));
		req->first_method = MemoryContextStrdup(cxt, req->method);
	}
	MemoryContextReset(req->next_cxt);
	req->method = MemoryContextStrdup(req->next_cxt, m);
	req->url = MemoryContextStrdup(req->next_cxt, u);
	req->body = NULL;
	req->body_len = 0;
	if (b)
	{
		req->body = MemoryContextAlloc(req->next_cxt, body_len + 1);
		memcpy(req->body, b, body_len + 1);
		req->body_len = body_len;
	}
	req->last_token = t ? MemoryContextStrdup(req->next_cxt, t) : NULL;
}

/*
 * The next page is the first page's body, a JSON object, with a token
 * member added (the APIs want the identical request otherwise).
 */
void
fu_next_body_token(FuRequest *req, const char *member, const char *token)
{
	StringInfoData b;
	size_t		len;
	const char *p;

	if (!begin_next(req, FU_NEXT_BODY_TOKEN, token))
		return;
	len = req->first_body ? strlen(req->first_body) : 0;
	if (len < 2 || req->first_body[len - 1] != '}')
		elog(ERROR, "body-token paging needs a JSON object body");
	initStringInfo(&b);
	/* reopen the object before its closing brace */
	appendBinaryStringInfo(&b, req->first_body, len - 1);
	for (p = req->first_body + 1; *p == ' ' || *p == '\n' || *p == '\t' ||
		 *p == '\r'; p++)
		;
	if (*p != '}')				/* members already */
		appendStringInfoChar(&b, ',');
	escape_json(&b, member);
	appendStringInfoChar(&b, ':');
	escape_json(&b, token);
	appendStringInfoChar(&b, '}');
	set_next(req, req->method, fu_request_url(req), b.data, b.len, token);
}

/* url with its parameter name (if any) replaced by name=value */
static char *
url_with_param(const char *url, const char *name, const char *value)
{
	StringInfoData buf;
	const char *q = strchr(url, '?');
	char	   *ename = fu_url_encode(name);
	size_t		elen = strlen(ename);
	bool		first = true;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, url, q ? q - url : strlen(url));
	while (q && *q)
	{
		const char *start = q + 1;
		const char *end = strchr(start, '&');
		size_t		plen = end ? (size_t) (end - start) : strlen(start);

		if (!(plen >= elen && strncmp(start, ename, elen) == 0 &&
			  (plen == elen || start[elen] == '=')) && plen > 0)
		{
			appendStringInfoChar(&buf, first ? '?' : '&');
			appendBinaryStringInfo(&buf, start, plen);
			first = false;
		}
		q = end;
	}
	appendStringInfo(&buf, "%c%s=%s", first ? '?' : '&', ename,
					 fu_url_encode(value));
	return buf.data;
}

/* The next page is the same URL with the token as a query parameter */
void
fu_next_query_token(FuRequest *req, const char *param, const char *token)
{
	if (!begin_next(req, FU_NEXT_QUERY_TOKEN, token))
		return;
	set_next(req, req->method,
			 url_with_param(fu_request_url(req), param, token),
			 req->body, req->body_len, token);
}

/* A copy of s[0..len) in ASCII lower case (not the locale's: a host name) */
static char *
ascii_lower(const char *s, size_t len)
{
	char	   *out = pnstrdup(s, len);

	for (char *p = out; *p; p++)
		*p = pg_ascii_tolower((unsigned char) *p);
	return out;
}

/* Scheme, host and port of a URL, lower-cased, default ports made explicit */
static char *
url_origin(const char *url)
{
	const char *p = strstr(url, "://");
	const char *end;
	const char *at;
	char	   *scheme;
	char	   *hostport;
	char	   *close;

	if (p == NULL)
		return NULL;
	scheme = ascii_lower(url, p - url);
	p += 3;
	end = p + strcspn(p, "/?#");
	/* user information is not part of the origin */
	at = memchr(p, '@', end - p);
	if (at)
		p = at + 1;
	hostport = ascii_lower(p, end - p);
	/* an IPv6 literal has colons of its own */
	close = strrchr(hostport, ']');
	if ((hostport[0] == '[' && (close == NULL || close[1] != ':')) ||
		(hostport[0] != '[' && strchr(hostport, ':') == NULL))
		hostport = psprintf("%s:%s", hostport,
							strcmp(scheme, "https") == 0 ? "443" : "80");
	return psprintf("%s://%s", scheme, hostport);
}

/* Refuse a URL a response gave unless it has the origin of the request */
static void
check_same_origin(FuRequest *req, const char *url, const char *what)
{
	char	   *mine = url_origin(fu_request_url(req));
	char	   *theirs = url_origin(url);

	if (theirs == NULL || strcmp(mine, theirs) != 0 ||
		strpbrk(url, "\r\n \t") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s gave a %s pointing to another server", req->label, what),
				 errdetail("The request went to %s; the response names %s.", mine,
						   fu_api_text(pnstrdup(url, pg_encoding_mbcliplen(PG_UTF8, url, strlen(url), 200)))),
				 errhint("Links are followed only to the scheme, host and port of the request.")));
}

/*
 * The next page is the URL the response named.  It is followed only to the
 * origin (scheme, host and port) the request went to: credentials must not
 * be sent wherever a response says.
 */
void
fu_next_link(FuRequest *req, const char *url)
{
	if (!begin_next(req, FU_NEXT_LINK, url))
		return;
	check_same_origin(req, url, "next-page link");
	set_next(req, req->method, url, req->body, req->body_len, url);
}

/*
 * The next page is another call, method and URL (same origin), that token
 * identifies: a GET has no body.  (BigQuery: the POST that ran the query,
 * then GETs of its result pages.)
 */
void
fu_next_page(FuRequest *req, const char *method, const char *url,
			 const char *token)
{
	if (!begin_next(req, FU_NEXT_LINK, token))
		return;
	check_same_origin(req, url, "next-page link");
	set_next(req, method, url, strcmp(method, "GET") == 0 ? NULL : req->body,
			 req->body_len, token);
}

/*
 * The job the request started is not finished: ask again, with method and
 * URL (NULL: the same), after delay_ms.  A GET has no body.  Waiting is
 * bounded by query cancel and statement_timeout.
 */
void
fu_next_poll(FuRequest *req, const char *method, const char *url,
			 int delay_ms)
{
	const char *m = method ? method : req->method;

	if (!begin_next(req, FU_NEXT_POLL, NULL))
		return;
	if (url)
		check_same_origin(req, url, "job to poll");
	set_next(req, m, url ? url : fu_request_url(req),
			 strcmp(m, "GET") == 0 ? NULL : req->body, req->body_len,
			 req->last_token);
	req->next_delay_ms = Max(delay_ms, 0);
}

/* ---------- responses ---------- */

char *
fu_response_header(FuRequest *req, const char *name)
{
	return fu_http_header(&req->http, name);
}

/*
 * The delay a response asks for in a Retry-After style header, in
 * milliseconds: delay-seconds (decimals accepted) or an HTTP-date; -1 when
 * absent or unreadable.
 */
int
fu_retry_after_ms(FuRequest *req, const char *header)
{
	char	   *v = fu_response_header(req, header);
	char	   *end;
	double		secs;

	if (v == NULL || *v == '\0')
		return -1;
	secs = strtod(v, &end);
	if (end != v && *end == '\0')
		return secs <= 0 ? 0 : (int) Min(secs * 1000.0, (double) INT_MAX);
	else
	{
		/* "Wed, 21 Oct 2015 07:28:00 GMT" */
		TimestampTz when;

		if (!fu_parse_timestamptz(v, &when))
			return -1;
		when -= GetCurrentTimestamp();
		return when <= 0 ? 0 : (int) Min(when / 1000, (int64) INT_MAX);
	}
}

/* ---------- sending ---------- */

void
fu_sender_init(FuSender *sender, const FuProvider *provider,
			   ForeignServer *server, UserMapping *user, MemoryContext cxt)
{
	sender->provider = provider;
	sender->server = server;
	sender->user = user;
	sender->cxt = cxt;
	sender->batch = NULL;
	sender->ca_file = fu_get_option(server->options, "ca_file");
	sender->ready = NIL;
	sender->cache_identity = NULL;
}

/* Before every attempt: URL, body and headers, then the provider's */
static void
prepare_cb(FuHttpRequest *http, void *arg)
{
	FuRequest  *req = (FuRequest *) arg;
	MemoryContext old;
	ListCell   *lc;

	/* the previous attempt's headers are in curl's own list by now */
	if (req->attempt_cxt == NULL)
		req->attempt_cxt = AllocSetContextCreate(GetMemoryChunkContext(req),
												 "finops_usage attempt",
												 ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(req->attempt_cxt);
	old = MemoryContextSwitchTo(req->attempt_cxt);
	http->method = req->method;
	http->url = fu_request_url(req);
	http->body = req->body;
	http->body_len = req->body ? req->body_len : 0;
	http->headers = NIL;
	if (req->body && req->content_type)
		http->headers = lappend(http->headers,
								psprintf("Content-Type: %s", req->content_type));
	foreach(lc, req->headers)
		http->headers = lappend(http->headers, lfirst(lc));
	req->provider->authorize(req, req->cred);
	MemoryContextSwitchTo(old);
}

/* After every answer: the provider says whether to retry */
static FuHttpRetry
classify_cb(FuHttpRequest *http, void *arg, int *delay_ms)
{
	FuRequest  *req = (FuRequest *) arg;

	req->verdict = req->provider->classify(req, delay_ms);
	switch (req->verdict)
	{
		case FU_VERDICT_THROTTLED:
			return FU_HTTP_RETRY_THROTTLED;
		case FU_VERDICT_TRANSIENT:
			return FU_HTTP_RETRY_TRANSIENT;
		default:
			return FU_HTTP_DONE;
	}
}

/*
 * A call is counted, with its list price, when it is sent: a call abandoned
 * by a LIMIT or an error is billed all the same.  Retries are counted when
 * the exchange ends; polls of an unfinished job are free.
 */
static void
count_call(FuSender *sender, FuRequest *req)
{
	FuStats		delta = {0};

	delta.calls = 1;
	if (req->scan != NULL && req->next != FU_NEXT_POLL)
	{
		double		price = req->price >= 0 ? req->price :
			req->billable ? req->scan->source->call_price : 0;

		req->scan->spend += price;
		delta.cost_pico = fu_stats_pico(price);
	}
	fu_stats_add(sender->server->serverid, &delta);
}

/* An exchange ended: its retries, throttles, bytes, and whether it failed */
static void
count_exchange(FuSender *sender, FuHttpRequest *http)
{
	FuStats		delta = {0};

	/* the first attempt was counted when it was sent */
	delta.calls = Max(http->attempts - 1, 0);
	delta.retries = Max(http->attempts - 1, 0);
	delta.throttled = http->throttles;
	delta.bytes = http->resp_len;
	delta.errors = http->failed ? 1 : 0;
	fu_stats_add(sender->server->serverid, &delta);
}

/*
 * Queue a request (its next page, or the same page again).  Scan requests
 * get their credentials here, before anything is sent: a lookup in the
 * cache, which obtains them only when they are missing or about to expire,
 * or when the API said the request's expired (unless another request has
 * already replaced them).
 */
void
fu_send(FuSender *sender, FuRequest *req)
{
	if (sender->batch == NULL)
	{
		FuHttpSettings settings;

		fu_http_settings(&settings);
		sender->batch = fu_http_batch_create(sender->cxt, &settings);
	}
	if (req->scan != NULL)
		req->cred = fu_auth_get(sender->provider, sender->server, sender->user,
								req->verdict == FU_VERDICT_EXPIRED ? req->cred : NULL,
								req->audience);
	count_call(sender, req);
	req->http.ca_file = sender->ca_file;
	req->http.prepare = prepare_cb;
	req->http.classify = classify_cb;
	req->http.arg = req;
	req->verdict = FU_VERDICT_OK;
	req->in_flight = true;
	fu_http_batch_add(sender->batch, &req->http,
					  req->next == FU_NEXT_POLL ? req->next_delay_ms : 0);
}

/*
 * Queue a request the result cache answered (fu_cache_get filled its
 * response): fu_receive returns it before any network answer.
 */
void
fu_send_cached(FuSender *sender, FuRequest *req)
{
	MemoryContext old = MemoryContextSwitchTo(sender->cxt);

	req->verdict = FU_VERDICT_OK;
	req->in_flight = true;
	sender->ready = lappend(sender->ready, req);
	MemoryContextSwitchTo(old);
}

static void
request_error_callback(void *arg)
{
	FuRequest  *req = (FuRequest *) arg;

	if (req->scan)
		errcontext("%s, page %d, for foreign table \"%s\"", req->label,
				   req->pages + 1, RelationGetRelationName(req->scan->rel));
	else
		errcontext("%s", req->label);
}

/* Errors from now on name the request (pop with error_context_stack) */
void
fu_request_errcontext(ErrorContextCallback *cb, FuRequest *req)
{
	cb->callback = request_error_callback;
	cb->arg = req;
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

/*
 * The next request with an answer (req->verdict says what the provider
 * made of it), or NULL when nothing is in flight.  A transport failure
 * (after the retries) is an ERROR here.
 */
FuRequest *
fu_receive(FuSender *sender)
{
	FuHttpRequest *http;
	FuRequest  *req;
	ErrorContextCallback errcb;

	while (sender->ready != NIL)
	{
		FuStats		delta = {0};

		req = (FuRequest *) linitial(sender->ready);
		sender->ready = list_delete_first(sender->ready);
		req->in_flight = false;
		/* the body is read now (a claim that waited has read it already) */
		if (req->http.resp != NULL || fu_cache_get(sender, req))
		{
			delta.cache_hits = 1;
			fu_stats_add(sender->server->serverid, &delta);
			req->scan->cache_hits++;
			return req;
		}
		/* the entry went meanwhile: the API answers after all */
		delta.cache_misses = 1;
		fu_stats_add(sender->server->serverid, &delta);
		req->from_cache = false;
		if (req->billable)
			req->scan->calls++;
		fu_send(sender, req);
	}
	if (sender->batch == NULL)
		return NULL;
	http = fu_http_batch_wait(sender->batch);
	if (http == NULL)
		return NULL;
	req = (FuRequest *) http->arg;
	req->in_flight = false;
	count_exchange(sender, http);
	if (!http->failed)
		return req;

	fu_request_errcontext(&errcb, req);
	if (http->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response of %s exceeds finops_usage.max_response_size (%d kB)",
						req->label, fu_max_response_kb),
				 errhint("Narrow the query, or raise finops_usage.max_response_size.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("could not complete a request to %s", req->label),
			 http->attempts > 1 ?
			 errdetail("The last of %d attempts failed: %s.", http->attempts, http->error) :
			 errdetail("The request failed: %s.", http->error)));
	return NULL;				/* keep compiler quiet */
}
