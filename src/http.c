/*-------------------------------------------------------------------------
 *
 * http.c
 *		  HTTP transfers on libcurl's multi interface, inside a backend.
 *
 * One multi handle per backend keeps connections alive between pages and
 * scans.  A batch owns its transfers; its memory context's reset callback
 * removes and frees whatever curl state is left, so an ERROR (including a
 * query cancel raised while we wait) leaks nothing.  Response bodies are
 * palloc'd in the batch's context, so they count against the memory of the
 * scan that asked for them.  libcurl callbacks never raise errors: they
 * record what happened and return an abort code (allocating with
 * MCXT_ALLOC_NO_OOM), and the caller reports it once curl has returned.
 *
 * Waits poll the multi handle at most every 100 ms and run
 * CHECK_FOR_INTERRUPTS() in between, so a cancel or statement_timeout stops
 * a hung request within that time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <curl/curl.h>

#include "common/pg_prng.h"
#include "http.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define FU_USER_AGENT	"finops_usage/1.0"
#define FU_POLL_MS		100
#define FU_MAX_HEADERS	16384	/* response header bytes kept */

typedef enum TransferState
{
	XFER_QUEUED,				/* waiting for a slot or for its backoff */
	XFER_RUNNING,
	XFER_FINISHED,				/* curl is done with it; not looked at yet */
	XFER_DONE					/* finished; handed out or about to be */
} TransferState;

typedef struct Transfer
{
	FuHttpRequest *req;
	struct FuHttpBatch *batch;
	TransferState state;
	TimestampTz not_before;		/* backoff: do not start before this */
	CURL	   *easy;
	struct curl_slist *slist;
	char	   *buf;			/* response body, in the batch's context */
	char	   *hdrs;			/* response headers, likewise */
	size_t		hdrs_len;
	size_t		len;
	size_t		cap;
	size_t		limit;
	bool		too_big;
	bool		oom;
	CURLcode	result;			/* of the finished attempt */
	long		status;
	char		errbuf[CURL_ERROR_SIZE];
} Transfer;

struct FuHttpBatch
{
	MemoryContext cxt;
	FuHttpSettings settings;
	int			running;
	List	   *transfers;		/* every Transfer of the batch */
	List	   *done;			/* finished, not yet handed out */
	bool		destroyed;
	MemoryContextCallback cb;
};

static CURLM *fu_multi = NULL;

void
fu_http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not initialize libcurl")));
}

static CURLM *
get_multi(void)
{
	if (fu_multi == NULL)
	{
		fu_multi = curl_multi_init();
		if (fu_multi == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
					 errmsg("could not create a libcurl multi handle")));
	}
	return fu_multi;
}

/* Release the curl side of a transfer; safe to call twice */
static void
transfer_cleanup(Transfer *t)
{
	if (t->easy)
	{
		curl_multi_remove_handle(fu_multi, t->easy);
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
		if (t->state == XFER_RUNNING)
			t->batch->running--;
	}
	if (t->slist)
	{
		curl_slist_free_all(t->slist);
		t->slist = NULL;
	}
}

/*
 * The batch's context is being reset or deleted: only the curl side needs
 * freeing, the buffers go with the context.
 */
static void
batch_reset_callback(void *arg)
{
	FuHttpBatch *batch = (FuHttpBatch *) arg;
	ListCell   *lc;

	if (batch->destroyed)
		return;
	batch->destroyed = true;
	foreach(lc, batch->transfers)
	{
		Transfer   *t = (Transfer *) lfirst(lc);

		transfer_cleanup(t);
		t->req->resp = NULL;
		t->req->resp_len = 0;
		t->req->resp_headers = NULL;
		t->req->priv = NULL;
	}
}

FuHttpBatch *
fu_http_batch_create(MemoryContext cxt, const FuHttpSettings *settings)
{
	FuHttpBatch *batch = MemoryContextAllocZero(cxt, sizeof(FuHttpBatch));

	batch->cxt = cxt;
	batch->settings = *settings;
	batch->settings.max_concurrency = Max(settings->max_concurrency, 1);
	batch->cb.func = batch_reset_callback;
	batch->cb.arg = batch;
	MemoryContextRegisterResetCallback(cxt, &batch->cb);
	return batch;
}

/*
 * Queue a request: its first attempt starts when a slot is free and, with
 * delay_ms > 0, not before that many milliseconds.
 */
void
fu_http_batch_add(FuHttpBatch *batch, FuHttpRequest *req, int delay_ms)
{
	Transfer   *t = (Transfer *) req->priv;

	/* the next page of a request reuses its transfer */
	if (t == NULL || t->batch != batch || t->state != XFER_DONE)
	{
		MemoryContext old = MemoryContextSwitchTo(batch->cxt);

		t = palloc0(sizeof(Transfer));
		t->req = req;
		t->batch = batch;
		req->priv = t;
		batch->transfers = lappend(batch->transfers, t);
		MemoryContextSwitchTo(old);
	}
	t->state = XFER_QUEUED;
	t->not_before = delay_ms > 0 ?
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_ms) : 0;
	req->attempts = 0;
	req->throttles = 0;
}

/* Free the response of a finished request */
void
fu_http_release(FuHttpRequest *req)
{
	if (req->resp)
	{
		pfree(req->resp);
		req->resp = NULL;
	}
	req->resp_len = 0;
	if (req->resp_headers)
	{
		pfree(req->resp_headers);
		req->resp_headers = NULL;
	}
}

/* Value of a response header of a finished request (palloc'd), or NULL */
char *
fu_http_header(FuHttpRequest *req, const char *name)
{
	size_t		nlen = strlen(name);
	const char *p = req->resp_headers;

	while (p && *p)
	{
		const char *eol = strchr(p, '\n');
		size_t		len = eol ? (size_t) (eol - p) : strlen(p);

		if (len > nlen && p[nlen] == ':' && pg_strncasecmp(p, name, nlen) == 0)
		{
			const char *v = p + nlen + 1;
			const char *end = p + len;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' '))
				end--;
			return pnstrdup(v, end - v);
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/*
 * Memory for a callback: never raises, NULL when out of memory.  Sizes are
 * bounded by max_response_bytes, which is below MaxAllocHugeSize.
 */
static void *
callback_alloc(Transfer *t, size_t size)
{
	return MemoryContextAllocExtended(t->batch->cxt, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

/* libcurl callbacks: never raise errors here */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		n = size * nmemb;

	if (t->len + n > t->limit)
	{
		t->too_big = true;
		return 0;
	}
	if (t->len + n + 1 > t->cap)
	{
		size_t		newcap = Max(t->cap * 2, 16384);
		char	   *nb;

		while (newcap < t->len + n + 1)
			newcap *= 2;
		/* no repalloc that can fail softly in PostgreSQL 15: copy */
		nb = callback_alloc(t, newcap);
		if (nb == NULL)
		{
			t->oom = true;
			return 0;
		}
		if (t->buf)
		{
			memcpy(nb, t->buf, t->len);
			pfree(t->buf);
		}
		t->buf = nb;
		t->cap = newcap;
	}
	memcpy(t->buf + t->len, ptr, n);
	t->len += n;
	return n;
}

static size_t
header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		n = size * nitems;

	/* a new response (after a 100 Continue, say) starts over */
	if (n > 5 && strncmp(buffer, "HTTP/", 5) == 0)
		t->hdrs_len = 0;
	else if (t->hdrs_len + n < FU_MAX_HEADERS)
	{
		if (t->hdrs == NULL)
			t->hdrs = callback_alloc(t, FU_MAX_HEADERS);
		if (t->hdrs)
		{
			memcpy(t->hdrs + t->hdrs_len, buffer, n);
			t->hdrs_len += n;
			t->hdrs[t->hdrs_len] = '\0';
		}
	}

	if (n > 15 && pg_strncasecmp(buffer, "content-length:", 15) == 0 &&
			 t->buf == NULL)
	{
		/* size the buffer once for the whole body */
		char		tmp[32];
		size_t		len = Min(n - 15, sizeof(tmp) - 1);
		long long	cl;

		memcpy(tmp, buffer + 15, len);
		tmp[len] = '\0';
		cl = strtoll(tmp, NULL, 10);
		if (cl > 0 && (size_t) cl < t->limit)
		{
			t->buf = callback_alloc(t, cl + 1);
			if (t->buf)
				t->cap = cl + 1;
		}
	}
	return n;
}

static void
check_curl(CURLcode rc, const char *what)
{
	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not set libcurl option %s: %s",
						what, curl_easy_strerror(rc))));
}

#define SETOPT(h, opt, val) check_curl(curl_easy_setopt((h), (opt), (val)), #opt)

static void
transfer_start(Transfer *t)
{
	FuHttpRequest *req = t->req;
	ListCell   *lc;

	if (req->prepare)
		req->prepare(req, req->arg);

	t->len = 0;
	t->too_big = false;
	t->oom = false;
	t->hdrs_len = 0;
	if (t->hdrs)
		t->hdrs[0] = '\0';
	t->errbuf[0] = '\0';
	t->limit = t->batch->settings.max_response_bytes;
	if (t->buf)
	{
		pfree(t->buf);
		t->buf = NULL;
	}
	t->cap = 0;

	t->easy = curl_easy_init();
	if (t->easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));

	/* a line break would end the header, or the request, early */
	if (strpbrk(req->url, "\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("the URL of an HTTP request contains a line break")));
	foreach(lc, req->headers)
		if (strpbrk((char *) lfirst(lc), "\r\n") != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("a header of an HTTP request contains a line break"),
					 errdetail("The header's value came from an option, a condition or an API answer.")));
	foreach(lc, req->headers)
	{
		struct curl_slist *n = curl_slist_append(t->slist, (char *) lfirst(lc));

		if (n == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
					 errmsg("out of memory building HTTP headers")));
		t->slist = n;
	}
	/* no "Expect: 100-continue" round trip for bodies */
	t->slist = curl_slist_append(t->slist, "Expect:");
	if (t->slist == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("out of memory building HTTP headers")));

	SETOPT(t->easy, CURLOPT_URL, req->url);
	SETOPT(t->easy, CURLOPT_NOSIGNAL, 1L);
	SETOPT(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
		   (long) t->batch->settings.connect_timeout_ms);
	SETOPT(t->easy, CURLOPT_TIMEOUT_MS,
		   (long) t->batch->settings.request_timeout_ms);
	/* a trickle (under 1 kB in 20 s) is a stalled server */
	SETOPT(t->easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	SETOPT(t->easy, CURLOPT_LOW_SPEED_TIME,
		   Max(1L, Min(20L, (long) t->batch->settings.request_timeout_ms / 1000)));
	SETOPT(t->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(t->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file)
		SETOPT(t->easy, CURLOPT_CAINFO, req->ca_file);
	SETOPT(t->easy, CURLOPT_USERAGENT, FU_USER_AGENT);
	SETOPT(t->easy, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(t->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(t->easy, CURLOPT_HTTPHEADER, t->slist);
	SETOPT(t->easy, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(t->easy, CURLOPT_WRITEDATA, t);
	SETOPT(t->easy, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(t->easy, CURLOPT_HEADERDATA, t);
	SETOPT(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	SETOPT(t->easy, CURLOPT_PRIVATE, t);
	if (strcmp(req->method, "POST") == 0)
	{
		SETOPT(t->easy, CURLOPT_POST, 1L);
		SETOPT(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
		SETOPT(t->easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	else if (strcmp(req->method, "GET") != 0)
		SETOPT(t->easy, CURLOPT_CUSTOMREQUEST, req->method);

	if (curl_multi_add_handle(get_multi(), t->easy) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not start an HTTP transfer")));
	t->state = XFER_RUNNING;
	t->batch->running++;
	if (req->attempts++ == 0)
		req->first_attempt = GetCurrentTimestamp();
}

/*
 * Capped exponential backoff with jitter, and at least the delay the
 * server asked for (capped too)
 */
static void
schedule_retry(Transfer *t, int server_delay_ms)
{
	const FuHttpSettings *set = &t->batch->settings;
	int			attempt = t->req->attempts;
	double		delay = set->retry_base_ms * pow(2.0, Min(attempt - 1, 20));

	delay = Min(delay, (double) set->retry_max_ms);
	/* equal jitter: half fixed, half random */
	delay = delay / 2 + pg_prng_double(&pg_global_prng_state) * delay / 2;
	if (server_delay_ms > 0)
		delay = Max(delay, Min((double) server_delay_ms,
							   (double) set->retry_max_ms));
	t->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												(int64) delay);
	t->state = XFER_QUEUED;
}

/*
 * Failures worth another attempt: the network, not the configuration (a
 * certificate that does not verify, a bad URL) which would fail the same.
 */
static bool
transient_failure(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_SSL_CONNECT_ERROR:
			return true;
		default:
			return false;
	}
}

static void
transfer_finish(Transfer *t)
{
	FuHttpRequest *req = t->req;
	FuHttpBatch *batch = t->batch;
	CURLcode	rc = t->result;
	bool		retry = false;
	int			server_delay_ms = -1;

	req->failed = false;
	req->too_large = false;
	req->status = t->status;
	t->state = XFER_DONE;

	if (rc != CURLE_OK)
	{
		req->failed = true;
		if (t->too_big)
		{
			req->too_large = true;
			snprintf(req->error, sizeof(req->error),
					 "The response is larger than %zu kB.",
					 batch->settings.max_response_bytes / 1024);
		}
		else if (t->oom)
			snprintf(req->error, sizeof(req->error), "out of memory");
		else
		{
			snprintf(req->error, sizeof(req->error), "%s",
					 t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
			/* a server that answers headers too large will do so again */
			retry = transient_failure(rc) &&
				strstr(req->error, "too large") == NULL &&
				strstr(req->error, "Too large") == NULL;
		}
	}
	else
	{
		FuHttpRetry verdict;

		if (t->buf == NULL)
			t->buf = callback_alloc(t, 1);
		if (t->buf == NULL)
		{
			req->failed = true;
			snprintf(req->error, sizeof(req->error), "out of memory");
		}
		else
		{
			t->buf[t->len] = '\0';
			fu_http_release(req);
			req->resp = t->buf;
			req->resp_len = t->len;
			t->buf = NULL;
			t->cap = 0;
			req->resp_headers = t->hdrs;
			t->hdrs = NULL;

			if (req->classify)
				verdict = req->classify(req, req->arg, &server_delay_ms);
			else if (req->status == 429)
				verdict = FU_HTTP_RETRY_THROTTLED;
			else if (req->status >= 500)
				verdict = FU_HTTP_RETRY_TRANSIENT;
			else
				verdict = FU_HTTP_DONE;
			if (verdict == FU_HTTP_RETRY_THROTTLED)
				req->throttles++;
			retry = (verdict != FU_HTTP_DONE);
		}
	}

	/* retries end with their number, or their time: a silent server */
	if (retry && batch->settings.retry_budget_ms > 0 &&
		TimestampDifferenceExceeds(req->first_attempt, GetCurrentTimestamp(),
								   batch->settings.retry_budget_ms))
		retry = false;
	if (retry && req->attempts <= batch->settings.max_retries)
	{
		fu_http_release(req);
		schedule_retry(t, server_delay_ms);
		return;
	}

	/* final outcome, success or not */
	{
		MemoryContext old = MemoryContextSwitchTo(batch->cxt);

		batch->done = lappend(batch->done, t);
		MemoryContextSwitchTo(old);
	}
}

/*
 * Read completion messages.  They may belong to another batch: those are
 * only recorded, their batch looks at them (its caller's callbacks run in
 * its own wait, under its own error context).
 */
static void
drain_messages(void)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(fu_multi, &left)) != NULL)
	{
		Transfer   *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
		if (t == NULL || t->state != XFER_RUNNING)
			continue;
		t->result = msg->data.result;
		t->status = 0;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
		transfer_cleanup(t);
		t->state = XFER_FINISHED;
	}
}

/* Look at the finished transfers of this batch: retry, or hand out */
static void
finish_transfers(FuHttpBatch *batch)
{
	ListCell   *lc;

	foreach(lc, batch->transfers)
	{
		Transfer   *t = (Transfer *) lfirst(lc);

		if (t->state == XFER_FINISHED)
			transfer_finish(t);
	}
}

/*
 * Start what may be started; return milliseconds until the next backoff
 * ends (-1: nothing waiting on a backoff).
 */
static long
start_queued(FuHttpBatch *batch)
{
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();
	long		next = -1;

	foreach(lc, batch->transfers)
	{
		Transfer   *t = (Transfer *) lfirst(lc);

		if (t->state != XFER_QUEUED)
			continue;
		if (t->not_before > now)
		{
			long		ms = (long) ((t->not_before - now) / 1000) + 1;

			if (next < 0 || ms < next)
				next = ms;
			continue;
		}
		/* finished responses not yet consumed count too: memory stays bounded */
		if (batch->running + list_length(batch->done) >=
			batch->settings.max_concurrency)
			break;
		transfer_start(t);
	}
	return next;
}

/*
 * Wait until one request of the batch is finished (successfully, with an
 * HTTP error, or with a transport failure after the retries) and return it;
 * NULL when the batch has nothing left.
 */
FuHttpRequest *
fu_http_batch_wait(FuHttpBatch *batch)
{
	for (;;)
	{
		long		backoff;
		long		timeout;
		int			still;
		CURLMcode	mc;

		/* another batch's wait may have finished some of ours */
		finish_transfers(batch);
		if (batch->done != NIL)
		{
			Transfer   *t = (Transfer *) linitial(batch->done);

			batch->done = list_delete_first(batch->done);
			return t->req;
		}
		CHECK_FOR_INTERRUPTS();

		backoff = start_queued(batch);
		if (batch->running == 0 && backoff < 0)
			return NULL;

		mc = curl_multi_perform(get_multi(), &still);
		if (mc != CURLM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("HTTP transfer failed: %s", curl_multi_strerror(mc))));
		drain_messages();
		finish_transfers(batch);
		if (batch->done != NIL)
			continue;

		timeout = FU_POLL_MS;
		if (backoff >= 0 && backoff < timeout)
			timeout = backoff;
		if (batch->running > 0)
		{
			long		ct = -1;

			curl_multi_timeout(fu_multi, &ct);
			if (ct >= 0 && ct < timeout)
				timeout = ct;
			pgstat_report_wait_start(PG_WAIT_EXTENSION);
			mc = curl_multi_wait(fu_multi, NULL, 0, (int) timeout, NULL);
			pgstat_report_wait_end();
			if (mc != CURLM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("HTTP transfer failed: %s",
								curl_multi_strerror(mc))));
		}
		else if (timeout > 0)
		{
			pgstat_report_wait_start(PG_WAIT_EXTENSION);
			pg_usleep(timeout * 1000L);
			pgstat_report_wait_end();
		}
	}
}
