/*-------------------------------------------------------------------------
 *
 * http.h
 *		  HTTP transfers on libcurl's multi interface, inside a backend.
 *
 * Every wait is interruptible (query cancel, statement_timeout, backend
 * termination), several requests can be in flight at once, and nothing
 * outlives an error: response bodies are palloc'd in the batch's memory
 * context, whose reset callback releases the curl handles.
 *
 * This layer knows HTTP and nothing of the foreign data wrapper: its
 * callers give it settings and decide, through a callback, which answers
 * are retried and after how long.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_HTTP_H
#define FU_HTTP_H

#include "datatype/timestamp.h"

#include "nodes/pg_list.h"

typedef struct FuHttpRequest FuHttpRequest;

/* Called before every attempt (to sign with a fresh timestamp) */
typedef void (*FuHttpPrepare) (FuHttpRequest *req, void *arg);

/* Called when an attempt got an HTTP response: retry it? */
typedef enum FuHttpRetry
{
	FU_HTTP_DONE,
	FU_HTTP_RETRY_THROTTLED,
	FU_HTTP_RETRY_TRANSIENT
} FuHttpRetry;

/*
 * *delay_ms may be set to the least delay the server asked for (a
 * Retry-After header, say); -1 leaves the backoff alone.
 */
typedef FuHttpRetry (*FuHttpClassify) (FuHttpRequest *req, void *arg,
									   int *delay_ms);

/* Limits of a batch's transfers */
typedef struct FuHttpSettings
{
	int			connect_timeout_ms;
	int			request_timeout_ms;
	size_t		max_response_bytes;
	int			max_retries;
	int			retry_base_ms;
	int			retry_max_ms;
	int			max_concurrency;
	int			retry_budget_ms;	/* no retry starts after this long */
} FuHttpSettings;

struct FuHttpRequest
{
	/* set by the caller */
	const char *method;
	const char *url;
	const char *body;
	size_t		body_len;
	List	   *headers;		/* char * "Name: value", set by prepare */
	const char *ca_file;		/* NULL: system CA store */
	FuHttpPrepare prepare;
	FuHttpClassify classify;
	void	   *arg;

	/* results of the last attempt */
	long		status;			/* 0 when no HTTP response arrived */
	char	   *resp;			/* NUL-terminated, palloc'd; see release */
	size_t		resp_len;
	char	   *resp_headers;	/* "Name: value\r\n" lines */
	bool		failed;			/* transport failure, see error */
	bool		too_large;		/* failed: over max_response_bytes */
	char		error[256];
	int			attempts;
	int			throttles;
	TimestampTz first_attempt;	/* when the first attempt started */

	/* private to http.c */
	void	   *priv;
};

typedef struct FuHttpBatch FuHttpBatch;

extern void fu_http_init(void);
extern FuHttpBatch *fu_http_batch_create(MemoryContext cxt,
										 const FuHttpSettings *settings);
extern void fu_http_batch_add(FuHttpBatch *batch, FuHttpRequest *req,
							  int delay_ms);
extern FuHttpRequest *fu_http_batch_wait(FuHttpBatch *batch);
extern void fu_http_release(FuHttpRequest *req);
extern char *fu_http_header(FuHttpRequest *req, const char *name);

#endif							/* FU_HTTP_H */
