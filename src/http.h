/*-------------------------------------------------------------------------
 *
 * http.h
 *		  HTTP transfers on libcurl's multi interface, inside a backend.
 *
 * Every wait is interruptible (query cancel, statement_timeout, backend
 * termination), several requests can be in flight at once, and nothing
 * allocated outside palloc outlives an error: a batch registers a reset
 * callback on its memory context that releases curl handles and buffers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_HTTP_H
#define FU_HTTP_H

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
typedef FuHttpRetry (*FuHttpClassify) (FuHttpRequest *req, void *arg);

struct FuHttpRequest
{
	/* set by the caller */
	const char *method;
	char	   *url;
	char	   *body;
	size_t		body_len;
	List	   *headers;		/* char * "Name: value", set by prepare */
	const char *ca_file;		/* NULL: system CA store */
	FuHttpPrepare prepare;
	FuHttpClassify classify;
	void	   *arg;

	/* results of the last attempt */
	long		status;			/* 0 when no HTTP response arrived */
	char	   *resp;			/* malloc'd, NUL-terminated; see release */
	size_t		resp_len;
	char	   *resp_headers;	/* malloc'd "Name: value\r\n" lines */
	bool		failed;			/* transport failure, see error */
	bool		too_large;		/* failed: over finops_usage.max_response_size */
	char		error[256];
	int			attempts;
	int			throttles;
	double		retry_after;	/* seconds, from a Retry-After header */

	/* private to http.c */
	void	   *priv;
};

typedef struct FuHttpBatch FuHttpBatch;

typedef struct FuHttpStats
{
	int64		requests;
	int64		bytes;
	int64		retries;
	int64		throttles;
	int			max_in_flight;
} FuHttpStats;

extern void fu_http_init(void);
extern FuHttpBatch *fu_http_batch_create(MemoryContext cxt, int max_concurrency);
extern void fu_http_batch_add(FuHttpBatch *batch, FuHttpRequest *req);
extern FuHttpRequest *fu_http_batch_wait(FuHttpBatch *batch);
extern void fu_http_release(FuHttpRequest *req);
extern char *fu_http_header(FuHttpRequest *req, const char *name);
extern FuHttpStats *fu_http_stats(void);

#endif							/* FU_HTTP_H */
