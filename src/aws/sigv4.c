/*-------------------------------------------------------------------------
 *
 * sigv4.c
 *	  AWS Signature Version 4 request signing (header-based, non-S3).
 *
 * Pure C99 plus OpenSSL libcrypto (SHA256() and one-shot HMAC() with
 * EVP_sha256()); no PostgreSQL headers, so this file is built both into the
 * backend module and into the standalone unit test.  Memory comes from
 * malloc/free; allocation failure is reported as a return code, never by
 * aborting.  No global state: the functions are thread-safe.
 *
 * The behaviour follows the AWS SigV4 test suite (aws-sig-v4-test-suite, as
 * shipped in botocore tests/unit/auth/aws4_testsuite), which
 * test/aws/sigv4_test.c replays byte for byte.
 *
 * src/aws/sigv4.c
 *
 *-------------------------------------------------------------------------
 */
#include "sigv4.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define FU_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define FU_SIGV4_TERMINATOR "aws4_request"
#define FU_SIGV4_DATE_LEN 16	/* strlen("YYYYMMDDTHHMMSSZ") */

static const char fu_hex_lower[] = "0123456789abcdef";
static const char fu_hex_upper[] = "0123456789ABCDEF";

/*
 * Growable string buffer.  Allocation failure is sticky: once "oom" is set
 * every append is a no-op, so callers only check once at the end.
 */
typedef struct FuBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		oom;
} FuBuf;

/* A query parameter, both parts already in canonical (encoded) form. */
typedef struct FuQueryParam
{
	char	   *key;
	char	   *value;
} FuQueryParam;

/* A header in canonical form, with its position for a stable sort. */
typedef struct FuCanonHeader
{
	char	   *name;
	char	   *value;
	int			pos;
} FuCanonHeader;

static void
buf_init(FuBuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = false;
}

static void
buf_free(FuBuf *b)
{
	free(b->data);
	buf_init(b);
}

/* Make room for "extra" more bytes plus a terminating NUL. */
static bool
buf_reserve(FuBuf *b, size_t extra)
{
	size_t		need;
	size_t		newcap;
	char	   *p;

	if (b->oom)
		return false;
	if (extra > SIZE_MAX - b->len - 1)
	{
		b->oom = true;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	newcap = b->cap ? b->cap : 64;
	while (newcap < need)
	{
		if (newcap > SIZE_MAX / 2)
		{
			newcap = need;
			break;
		}
		newcap *= 2;
	}
	p = realloc(b->data, newcap);
	if (p == NULL)
	{
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = newcap;
	return true;
}

static void
buf_append_mem(FuBuf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_append_str(FuBuf *b, const char *s)
{
	buf_append_mem(b, s, strlen(s));
}

static void
buf_append_char(FuBuf *b, char c)
{
	buf_append_mem(b, &c, 1);
}

/*
 * Hand over the buffer's text (never NULL unless out of memory); the buffer
 * is reset.  On failure the text is freed and NULL returned.
 */
static char *
buf_finish(FuBuf *b)
{
	char	   *s;

	if (!buf_reserve(b, 0))
	{
		buf_free(b);
		return NULL;
	}
	b->data[b->len] = '\0';
	s = b->data;
	buf_init(b);
	return s;
}

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

/* HTTP linear whitespace, including the CR/LF of folded header lines. */
static bool
is_lws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		c == '\v' || c == '\f';
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = fu_hex_lower[in[i] >> 4];
		out[2 * i + 1] = fu_hex_lower[in[i] & 0x0F];
	}
	out[2 * len] = '\0';
}

static void
buf_append_uri_encoded(FuBuf *b, const char *s, size_t len, bool encode_slash)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_unreserved(c) || (c == '/' && !encode_slash))
			buf_append_char(b, (char) c);
		else
		{
			char		esc[3];

			esc[0] = '%';
			esc[1] = fu_hex_upper[c >> 4];
			esc[2] = fu_hex_upper[c & 0x0F];
			buf_append_mem(b, esc, 3);
		}
	}
}

/*
 * Percent-decode s[0..len) and return the result re-encoded with every
 * reserved byte (including '/') escaped.  A '%' not followed by two hex
 * digits is taken literally; '+' is taken literally.  NULL on OOM.
 */
static char *
recode_query_part(const char *s, size_t len)
{
	FuBuf		b;
	char	   *decoded;
	size_t		dlen = 0;
	size_t		i;

	decoded = malloc(len + 1);
	if (decoded == NULL)
		return NULL;
	for (i = 0; i < len; i++)
	{
		int			hi;
		int			lo;

		if (s[i] == '%' && i + 2 < len &&
			(hi = hex_value((unsigned char) s[i + 1])) >= 0 &&
			(lo = hex_value((unsigned char) s[i + 2])) >= 0)
		{
			decoded[dlen++] = (char) ((hi << 4) | lo);
			i += 2;
		}
		else
			decoded[dlen++] = s[i];
	}

	buf_init(&b);
	buf_append_uri_encoded(&b, decoded, dlen, true);
	free(decoded);
	return buf_finish(&b);
}

char *
fu_sigv4_uri_encode(const char *s, bool encode_slash)
{
	FuBuf		b;

	if (s == NULL)
		return NULL;
	buf_init(&b);
	buf_reserve(&b, strlen(s));
	buf_append_uri_encoded(&b, s, strlen(s), encode_slash);
	return buf_finish(&b);
}

void
fu_sigv4_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (data == NULL)
		data = "";
	if (SHA256((const unsigned char *) data, len, md) == NULL)
	{
		out[0] = '\0';
		return;
	}
	hex_encode(md, sizeof(md), out);
}

/*
 * Convert days since 1970-01-01 to a proleptic Gregorian civil date
 * (Howard Hinnant's civil_from_days); valid for the whole range used here.
 */
static void
civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long	era;
	long long	doe;
	long long	yoe;
	long long	doy;
	long long	mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void
put_digits(char *out, long long v, int ndigits)
{
	int			i;

	for (i = ndigits - 1; i >= 0; i--)
	{
		out[i] = (char) ('0' + (int) (v % 10));
		v /= 10;
	}
}

void
fu_sigv4_amz_date(time_t t, char *buf)
{
	/* 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, as seconds since 1970 */
	const long long min_t = -62167219200LL;
	const long long max_t = 253402300799LL;
	long long	secs = (long long) t;
	long long	days;
	long long	rem;
	long long	year;
	int			month;
	int			day;

	if (secs < min_t)
		secs = min_t;
	if (secs > max_t)
		secs = max_t;
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0)
	{
		rem += 86400;
		days--;
	}
	civil_from_days(days, &year, &month, &day);

	put_digits(buf, year, 4);
	put_digits(buf + 4, month, 2);
	put_digits(buf + 6, day, 2);
	buf[8] = 'T';
	put_digits(buf + 9, rem / 3600, 2);
	put_digits(buf + 11, (rem / 60) % 60, 2);
	put_digits(buf + 13, rem % 60, 2);
	buf[15] = 'Z';
	buf[16] = '\0';
}

static bool
valid_amz_date(const char *s)
{
	int			i;

	if (s == NULL || strlen(s) != FU_SIGV4_DATE_LEN)
		return false;
	for (i = 0; i < FU_SIGV4_DATE_LEN; i++)
	{
		if (i == 8)
		{
			if (s[i] != 'T')
				return false;
		}
		else if (i == 15)
		{
			if (s[i] != 'Z')
				return false;
		}
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/*
 * A token for the credential scope, method or header name: non-empty, no
 * whitespace, no control characters, none of the characters in "forbid".
 */
static bool
valid_token(const char *s, const char *forbid)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0')
		return false;
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p <= 0x20 || *p == 0x7F || strchr(forbid, *p) != NULL)
			return false;
	}
	return true;
}

/*
 * Canonical URI.  The path is encoded once with '/' kept.  With normalize,
 * "." and ".." segments are resolved and empty segments (repeated slashes)
 * dropped; a trailing slash is kept when the input ends with '/'.  An empty
 * result becomes "/".
 */
static void
append_canonical_uri(FuBuf *b, const char *path, bool normalize)
{
	size_t		plen = strlen(path);
	size_t	   *seg_start;
	size_t	   *seg_len;
	size_t		nseg = 0;
	size_t		i;
	size_t		pos;

	if (!normalize)
	{
		if (path[0] != '/')
			buf_append_char(b, '/');
		buf_append_uri_encoded(b, path, plen, false);
		return;
	}

	/* at most plen / 2 + 1 non-empty segments */
	seg_start = malloc(sizeof(size_t) * (plen / 2 + 1));
	seg_len = malloc(sizeof(size_t) * (plen / 2 + 1));
	if (seg_start == NULL || seg_len == NULL)
	{
		free(seg_start);
		free(seg_len);
		b->oom = true;
		return;
	}

	pos = 0;
	while (pos < plen)
	{
		size_t		start;
		size_t		len;

		while (pos < plen && path[pos] == '/')
			pos++;
		start = pos;
		while (pos < plen && path[pos] != '/')
			pos++;
		len = pos - start;
		if (len == 0 || (len == 1 && path[start] == '.'))
			continue;
		if (len == 2 && path[start] == '.' && path[start + 1] == '.')
		{
			if (nseg > 0)
				nseg--;
			continue;
		}
		seg_start[nseg] = start;
		seg_len[nseg] = len;
		nseg++;
	}

	for (i = 0; i < nseg; i++)
	{
		buf_append_char(b, '/');
		buf_append_uri_encoded(b, path + seg_start[i], seg_len[i], false);
	}
	if (nseg == 0 || (plen > 0 && path[plen - 1] == '/'))
		buf_append_char(b, '/');

	free(seg_start);
	free(seg_len);
}

static int
query_param_cmp(const void *a, const void *b)
{
	const FuQueryParam *pa = (const FuQueryParam *) a;
	const FuQueryParam *pb = (const FuQueryParam *) b;
	int			r;

	r = strcmp(pa->key, pb->key);
	if (r != 0)
		return r;
	return strcmp(pa->value, pb->value);
}

/*
 * Canonical query string: split on '&' (empty pieces are dropped), split
 * each piece at its first '=', decode and re-encode key and value, sort by
 * key then value (byte order) and join as "k=v" with '&'.  A piece without
 * '=' gets an empty value ("k=").
 */
static void
append_canonical_query(FuBuf *b, const char *query)
{
	size_t		qlen;
	size_t		maxparams;
	FuQueryParam *params;
	size_t		nparams = 0;
	size_t		pos;
	size_t		i;
	bool		ok = true;

	if (query == NULL || query[0] == '\0')
		return;
	qlen = strlen(query);
	maxparams = 1;
	for (i = 0; i < qlen; i++)
		if (query[i] == '&')
			maxparams++;
	params = calloc(maxparams, sizeof(FuQueryParam));
	if (params == NULL)
	{
		b->oom = true;
		return;
	}

	pos = 0;
	while (pos <= qlen && ok)
	{
		size_t		start = pos;
		size_t		end;
		size_t		eq;

		while (pos < qlen && query[pos] != '&')
			pos++;
		end = pos;
		pos++;					/* skip '&' (or step past the end) */
		if (end == start)
			continue;
		eq = start;
		while (eq < end && query[eq] != '=')
			eq++;
		params[nparams].key = recode_query_part(query + start, eq - start);
		params[nparams].value = (eq < end) ?
			recode_query_part(query + eq + 1, end - eq - 1) :
			recode_query_part("", 0);
		nparams++;
		if (params[nparams - 1].key == NULL ||
			params[nparams - 1].value == NULL)
			ok = false;
	}

	if (ok)
	{
		qsort(params, nparams, sizeof(FuQueryParam), query_param_cmp);
		for (i = 0; i < nparams; i++)
		{
			if (i > 0)
				buf_append_char(b, '&');
			buf_append_str(b, params[i].key);
			buf_append_char(b, '=');
			buf_append_str(b, params[i].value);
		}
	}
	else
		b->oom = true;

	for (i = 0; i < nparams; i++)
	{
		free(params[i].key);
		free(params[i].value);
	}
	free(params);
}

/* Lower-cased copy of a header name; NULL on OOM. */
static char *
canon_header_name(const char *name)
{
	size_t		len = strlen(name);
	char	   *s = malloc(len + 1);
	size_t		i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < len; i++)
	{
		char		c = name[i];

		s[i] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
	}
	s[len] = '\0';
	return s;
}

/*
 * Canonical header value: leading and trailing whitespace removed, every
 * internal run of whitespace (including CR/LF folding) replaced by a single
 * space.  Quotes get no special treatment.  NULL on OOM.
 */
static char *
canon_header_value(const char *value)
{
	size_t		len = strlen(value);
	char	   *s = malloc(len + 1);
	size_t		n = 0;
	size_t		i;
	bool		pending_space = false;

	if (s == NULL)
		return NULL;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) value[i];

		if (is_lws(c))
		{
			if (n > 0)
				pending_space = true;
			continue;
		}
		if (pending_space)
		{
			s[n++] = ' ';
			pending_space = false;
		}
		s[n++] = (char) c;
	}
	s[n] = '\0';
	return s;
}

static int
canon_header_cmp(const void *a, const void *b)
{
	const FuCanonHeader *ha = (const FuCanonHeader *) a;
	const FuCanonHeader *hb = (const FuCanonHeader *) b;
	int			r;

	r = strcmp(ha->name, hb->name);
	if (r != 0)
		return r;
	return (ha->pos > hb->pos) - (ha->pos < hb->pos);
}

/*
 * Build the canonical headers block (one "name:value\n" per distinct name,
 * sorted, repeated names joined with ',' in send order) and the signed
 * headers list.  Returns 0, or -1 for invalid input or out of memory.
 * Also checks that host and x-amz-date are
 * present and that x-amz-date equals amz_date.
 */
static int
build_canonical_headers(const FuSigV4Request *req, const char *amz_date,
						FuBuf *canon, FuBuf *signed_hdrs)
{
	FuCanonHeader *hdrs;
	int			n = req->nheaders;
	int			i;
	int			rc = 0;
	bool		have_host = false;
	bool		have_date = false;
	bool		date_ok = false;

	if (n <= 0 || req->headers == NULL)
		return -1;
	for (i = 0; i < n; i++)
	{
		if (!valid_token(req->headers[i].name, ":") ||
			req->headers[i].value == NULL)
			return -1;
	}

	hdrs = calloc((size_t) n, sizeof(FuCanonHeader));
	if (hdrs == NULL)
		return -1;
	for (i = 0; i < n; i++)
	{
		hdrs[i].name = canon_header_name(req->headers[i].name);
		hdrs[i].value = canon_header_value(req->headers[i].value);
		hdrs[i].pos = i;
		if (hdrs[i].name == NULL || hdrs[i].value == NULL)
		{
			rc = -1;
			goto done;
		}
	}
	qsort(hdrs, (size_t) n, sizeof(FuCanonHeader), canon_header_cmp);

	for (i = 0; i < n; i++)
	{
		bool		first;
		bool		last;

		first = (i == 0 || strcmp(hdrs[i].name, hdrs[i - 1].name) != 0);
		last = (i == n - 1 || strcmp(hdrs[i].name, hdrs[i + 1].name) != 0);

		if (first)
		{
			if (i > 0)
				buf_append_char(signed_hdrs, ';');
			buf_append_str(signed_hdrs, hdrs[i].name);
			buf_append_str(canon, hdrs[i].name);
			buf_append_char(canon, ':');

			if (strcmp(hdrs[i].name, "host") == 0)
				have_host = true;
			else if (strcmp(hdrs[i].name, "x-amz-date") == 0)
			{
				have_date = true;
				/* a repeated x-amz-date header makes no valid date */
				date_ok = last && strcmp(hdrs[i].value, amz_date) == 0;
			}
		}
		else
			buf_append_char(canon, ',');
		buf_append_str(canon, hdrs[i].value);
		if (last)
			buf_append_char(canon, '\n');
	}

	if (canon->oom || signed_hdrs->oom)
		rc = -1;
	else if (!have_host || !have_date || !date_ok)
		rc = -1;

done:
	for (i = 0; i < n; i++)
	{
		free(hdrs[i].name);
		free(hdrs[i].value);
	}
	free(hdrs);
	return rc;
}

/* out = HMAC-SHA256(key, data); false on libcrypto failure. */
static bool
hmac_sha256(const unsigned char *key, size_t keylen,
			const char *data, size_t datalen,
			unsigned char out[SHA256_DIGEST_LENGTH])
{
	unsigned int outlen = 0;

	if (keylen > INT_MAX)
		return false;
	if (HMAC(EVP_sha256(), key, (int) keylen,
			 (const unsigned char *) data, datalen, out, &outlen) == NULL)
		return false;
	return outlen == SHA256_DIGEST_LENGTH;
}

/*
 * signature = hex(HMAC(signing key, string to sign)), where the signing key
 * is HMAC("AWS4" + secret, yyyymmdd) -> region -> service -> "aws4_request".
 * Key material is wiped before returning.  false on OOM or libcrypto failure.
 */
static bool
compute_signature(const FuSigV4Credentials *cred, const char *amz_date,
				  const char *sts, char hexsig[2 * SHA256_DIGEST_LENGTH + 1])
{
	size_t		slen = strlen(cred->secret_access_key);
	unsigned char *ksecret;
	unsigned char k1[SHA256_DIGEST_LENGTH];
	unsigned char k2[SHA256_DIGEST_LENGTH];
	unsigned char sig[SHA256_DIGEST_LENGTH];
	bool		ok;

	if (slen > SIZE_MAX - 4)
		return false;
	ksecret = malloc(slen + 4);
	if (ksecret == NULL)
		return false;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, cred->secret_access_key, slen);

	ok = hmac_sha256(ksecret, slen + 4, amz_date, 8, k1) &&
		hmac_sha256(k1, sizeof(k1), cred->region, strlen(cred->region), k2) &&
		hmac_sha256(k2, sizeof(k2), cred->service, strlen(cred->service), k1) &&
		hmac_sha256(k1, sizeof(k1), FU_SIGV4_TERMINATOR,
					strlen(FU_SIGV4_TERMINATOR), k2) &&
		hmac_sha256(k2, sizeof(k2), sts, strlen(sts), sig);
	if (ok)
		hex_encode(sig, sizeof(sig), hexsig);

	OPENSSL_cleanse(ksecret, slen + 4);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	free(ksecret);
	return ok;
}

void
fu_sigv4_result_free(FuSigV4Result *result)
{
	if (result == NULL)
		return;
	free(result->canonical_request);
	free(result->string_to_sign);
	free(result->signature);
	free(result->signed_headers);
	free(result->authorization);
	result->canonical_request = NULL;
	result->string_to_sign = NULL;
	result->signature = NULL;
	result->signed_headers = NULL;
	result->authorization = NULL;
}

int
fu_sigv4_sign(const FuSigV4Request *req, const FuSigV4Credentials *cred,
			  const char *amz_date, bool normalize_path,
			  FuSigV4Result *result)
{
	FuBuf		creq;
	FuBuf		canon_hdrs;
	FuBuf		signed_hdrs;
	FuBuf		sts;
	FuBuf		authz;
	FuBuf		scope;
	char		hash[2 * SHA256_DIGEST_LENGTH + 1];
	char		hexsig[2 * SHA256_DIGEST_LENGTH + 1];

	if (result == NULL)
		return -1;
	result->canonical_request = NULL;
	result->string_to_sign = NULL;
	result->signature = NULL;
	result->signed_headers = NULL;
	result->authorization = NULL;

	/* validate the input */
	if (req == NULL || cred == NULL || !valid_amz_date(amz_date))
		return -1;
	if (!valid_token(req->method, "") || req->path == NULL ||
		(req->body == NULL && req->body_len > 0))
		return -1;
	if (!valid_token(cred->access_key_id, "/,=") ||
		cred->secret_access_key == NULL || cred->secret_access_key[0] == '\0' ||
		!valid_token(cred->region, "/,=") ||
		!valid_token(cred->service, "/,="))
		return -1;

	buf_init(&creq);
	buf_init(&canon_hdrs);
	buf_init(&signed_hdrs);
	buf_init(&sts);
	buf_init(&authz);
	buf_init(&scope);

	if (build_canonical_headers(req, amz_date, &canon_hdrs, &signed_hdrs) != 0)
		goto fail;

	/* canonical request */
	buf_append_str(&creq, req->method);
	buf_append_char(&creq, '\n');
	append_canonical_uri(&creq, req->path, normalize_path);
	buf_append_char(&creq, '\n');
	append_canonical_query(&creq, req->query);
	buf_append_char(&creq, '\n');
	buf_append_mem(&creq, canon_hdrs.data, canon_hdrs.len);
	buf_append_char(&creq, '\n');
	buf_append_mem(&creq, signed_hdrs.data, signed_hdrs.len);
	buf_append_char(&creq, '\n');
	fu_sigv4_sha256_hex(req->body, req->body_len, hash);
	if (hash[0] == '\0')
		goto fail;
	buf_append_str(&creq, hash);
	if (creq.oom)
		goto fail;

	/* credential scope: yyyymmdd/region/service/aws4_request */
	buf_append_mem(&scope, amz_date, 8);
	buf_append_char(&scope, '/');
	buf_append_str(&scope, cred->region);
	buf_append_char(&scope, '/');
	buf_append_str(&scope, cred->service);
	buf_append_char(&scope, '/');
	buf_append_str(&scope, FU_SIGV4_TERMINATOR);

	/* string to sign */
	fu_sigv4_sha256_hex(creq.data, creq.len, hash);
	if (hash[0] == '\0')
		goto fail;
	buf_append_str(&sts, FU_SIGV4_ALGORITHM "\n");
	buf_append_str(&sts, amz_date);
	buf_append_char(&sts, '\n');
	buf_append_mem(&sts, scope.data, scope.len);
	buf_append_char(&sts, '\n');
	buf_append_str(&sts, hash);
	if (sts.oom || scope.oom)
		goto fail;

	if (!compute_signature(cred, amz_date, sts.data, hexsig))
		goto fail;

	/* Authorization header value */
	buf_append_str(&authz, FU_SIGV4_ALGORITHM " Credential=");
	buf_append_str(&authz, cred->access_key_id);
	buf_append_char(&authz, '/');
	buf_append_mem(&authz, scope.data, scope.len);
	buf_append_str(&authz, ", SignedHeaders=");
	buf_append_mem(&authz, signed_hdrs.data, signed_hdrs.len);
	buf_append_str(&authz, ", Signature=");
	buf_append_str(&authz, hexsig);

	result->canonical_request = buf_finish(&creq);
	result->string_to_sign = buf_finish(&sts);
	result->signed_headers = buf_finish(&signed_hdrs);
	result->authorization = buf_finish(&authz);
	result->signature = malloc(sizeof(hexsig));
	if (result->signature != NULL)
		memcpy(result->signature, hexsig, sizeof(hexsig));
	if (result->canonical_request == NULL || result->string_to_sign == NULL ||
		result->signed_headers == NULL || result->authorization == NULL ||
		result->signature == NULL)
	{
		fu_sigv4_result_free(result);
		goto fail;
	}

	buf_free(&canon_hdrs);
	buf_free(&scope);
	return 0;

fail:
	buf_free(&creq);
	buf_free(&canon_hdrs);
	buf_free(&signed_hdrs);
	buf_free(&sts);
	buf_free(&authz);
	buf_free(&scope);
	return -1;
}
