/*-------------------------------------------------------------------------
 *
 * sigv4.h
 *	  AWS Signature Version 4 request signing (header-based, non-S3).
 *
 * The implementation (sigv4.c) is plain C99 plus OpenSSL libcrypto and
 * includes no PostgreSQL headers, so the same object is linked into the
 * backend module and into the standalone unit test (test/aws/sigv4_test.c).
 * It allocates with malloc/free, never aborts or exits, keeps no global
 * state and is thread-safe.  Every string it hands back is malloc'd and
 * owned by the caller.
 *
 * src/aws/sigv4.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_SIGV4_H
#define FU_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One request header to sign: name as sent (any case), raw value. */
typedef struct FuSigV4Header
{
	const char *name;
	const char *value;
} FuSigV4Header;

/*
 * The request to sign.
 *
 * path is the path part of the request target, not percent-encoded by the
 * caller (e.g. "/", "/example space/", "/\xe1\x88\xb4"); the signer
 * URI-encodes it once (RFC 3986, '/' kept).  Note that AWS non-S3 services
 * compute the canonical URI by encoding the path *as sent on the wire*, so
 * a caller that puts a percent-encoded path on the wire must pass that
 * encoded form here (its '%' then becomes "%25": AWS's "double encoding").
 *
 * query is the raw query string as sent (without '?'); each key and value
 * is percent-decoded and then re-encoded, so already-encoded input is fine.
 * '+' is taken literally (it is not a space): encode spaces as "%20".
 *
 * headers are the headers to sign, in the order they are sent.  Repeated
 * names are allowed (their values are joined with ',' in that order).  A
 * value may contain CR/LF folding; it is unfolded for signing.  host and
 * x-amz-date must be present (and x-amz-security-token when temporary
 * credentials are used: it must be signed).
 */
typedef struct FuSigV4Request
{
	const char *method;			/* "GET", "POST" */
	const char *path;			/* not percent-encoded; see above */
	const char *query;			/* raw query (no '?'), may be NULL or "" */
	const FuSigV4Header *headers;	/* headers to sign, in send order */
	int			nheaders;
	const unsigned char *body;	/* may be NULL when body_len == 0 */
	size_t		body_len;
} FuSigV4Request;

typedef struct FuSigV4Credentials
{
	const char *access_key_id;
	const char *secret_access_key;
	const char *region;			/* e.g. "us-east-1" */
	const char *service;		/* e.g. "ce", "monitoring", "sts" */
} FuSigV4Credentials;

/* Output of fu_sigv4_sign(); every member is malloc'd (or NULL). */
typedef struct FuSigV4Result
{
	char	   *canonical_request;
	char	   *string_to_sign;
	char	   *signature;		/* lower-case hex */
	char	   *signed_headers; /* "host;x-amz-date" */
	char	   *authorization;	/* full value of the Authorization header */
} FuSigV4Result;

/*
 * Sign a request.  amz_date is "YYYYMMDDTHHMMSSZ" and must equal the value
 * of the request's x-amz-date header.  normalize_path resolves "." and ".."
 * segments and collapses repeated slashes (all services except S3).
 *
 * Returns 0 on success, -1 on out of memory or invalid input; on failure
 * every member of *result is NULL.  Release with fu_sigv4_result_free().
 */
extern int	fu_sigv4_sign(const FuSigV4Request *req,
						  const FuSigV4Credentials *cred,
						  const char *amz_date, bool normalize_path,
						  FuSigV4Result *result);

/* Free the members of *result and set them to NULL (safe to call twice). */
extern void fu_sigv4_result_free(FuSigV4Result *result);

/* Format "YYYYMMDDTHHMMSSZ" for a UTC time_t into buf (>= 17 bytes). */
extern void fu_sigv4_amz_date(time_t t, char *buf);

/*
 * Lower-case hex SHA-256 of data into out (65 bytes).  data may be NULL when
 * len is 0.  On a libcrypto failure out is set to the empty string.
 */
extern void fu_sigv4_sha256_hex(const void *data, size_t len, char *out);

/*
 * RFC 3986 percent-encoding: A-Z a-z 0-9 - . _ ~ are kept, every other byte
 * becomes %XX (upper-case hex); '/' is kept unless encode_slash.  Use
 * encode_slash = true for query/form keys and values.  Returns malloc'd
 * text, or NULL on out of memory (or when s is NULL).
 */
extern char *fu_sigv4_uri_encode(const char *s, bool encode_slash);

#endif							/* FU_SIGV4_H */
