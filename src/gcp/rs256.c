/*-------------------------------------------------------------------------
 *
 * rs256.c
 *	  RS256 signatures and base64url for Google service-account JWTs.
 *
 * No PostgreSQL headers here (see rs256.h): the backend and the standalone
 * test link the same code.  Every OpenSSL object is freed on every path,
 * and the error queue is read and cleared before returning, so a failure
 * leaves nothing behind for the caller's ereport to leak.
 *
 * src/gcp/rs256.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "rs256.h"

size_t
fu_base64url_encode(const unsigned char *src, size_t len, char *dst)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char	   *p = dst;
	size_t		i;

	for (i = 0; i + 2 < len; i += 3)
	{
		unsigned long v = ((unsigned long) src[i] << 16) |
			((unsigned long) src[i + 1] << 8) | src[i + 2];

		*p++ = alphabet[(v >> 18) & 0x3f];
		*p++ = alphabet[(v >> 12) & 0x3f];
		*p++ = alphabet[(v >> 6) & 0x3f];
		*p++ = alphabet[v & 0x3f];
	}
	if (i < len)
	{
		unsigned long v = (unsigned long) src[i] << 16;

		if (i + 1 < len)
			v |= (unsigned long) src[i + 1] << 8;
		*p++ = alphabet[(v >> 18) & 0x3f];
		*p++ = alphabet[(v >> 12) & 0x3f];
		if (i + 1 < len)
			*p++ = alphabet[(v >> 6) & 0x3f];
		/* JWTs leave out the '=' padding */
	}
	*p = '\0';
	return (size_t) (p - dst);
}

/*
 * what failed, with the reason of the most recent OpenSSL error when asked
 * and there is one; the error queue is cleared either way
 */
static void
set_error(char *errbuf, size_t errlen, const char *what, bool openssl_reason)
{
	unsigned long e = openssl_reason ? ERR_peek_last_error() : 0;
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	if (errbuf && errlen > 0)
	{
		if (reason)
			snprintf(errbuf, errlen, "%s (OpenSSL: %s)", what, reason);
		else
			snprintf(errbuf, errlen, "%s", what);
	}
	ERR_clear_error();
}

/*
 * A key file is never encrypted; OpenSSL's default callback would instead
 * ask for a passphrase on the terminal of the server process
 */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void) buf;
	(void) size;
	(void) rwflag;
	(void) u;
	return -1;
}

int
fu_rs256_sign(const char *pem, const unsigned char *msg, size_t len,
			  unsigned char **sig, size_t *siglen, char *errbuf, size_t errlen)
{
	BIO		   *bio = NULL;
	EVP_PKEY   *pkey = NULL;
	EVP_MD_CTX *mdctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *out = NULL;
	size_t		pemlen;
	size_t		outlen = 0;

	*sig = NULL;
	*siglen = 0;
	if (errbuf && errlen > 0)
		errbuf[0] = '\0';
	/* what an earlier caller left would be taken for our reason */
	ERR_clear_error();

	if (pem == NULL || (pemlen = strlen(pem)) == 0 || pemlen > INT_MAX)
	{
		set_error(errbuf, errlen, "it is empty or too long", false);
		return -1;
	}
	/* PKCS#8 "ENCRYPTED PRIVATE KEY", or PKCS#1 "Proc-Type: 4,ENCRYPTED" */
	if (strstr(pem, "ENCRYPTED PRIVATE KEY") != NULL ||
		strstr(pem, ",ENCRYPTED") != NULL)
	{
		set_error(errbuf, errlen, "it is encrypted", false);
		return -1;
	}

	bio = BIO_new_mem_buf(pem, (int) pemlen);
	if (bio == NULL)
	{
		set_error(errbuf, errlen, "out of memory", true);
		goto fail;
	}
	/* PKCS#8 and the PKCS#1 "RSA PRIVATE KEY" of some test keys alike */
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL)
	{
		/* OpenSSL 3 says only "unsupported" for text that is not PEM */
		if (strstr(pem, "-----BEGIN ") == NULL)
			set_error(errbuf, errlen,
					  "no \"-----BEGIN PRIVATE KEY-----\" line", false);
		else if (strstr(pem, "\\n") != NULL)
			set_error(errbuf, errlen,
					  "it has \\n escapes where its line breaks belong", false);
		else
			set_error(errbuf, errlen, "not a readable PEM private key", true);
		goto fail;
	}
	/* RS256 is RSA with PKCS#1 v1.5 padding: an EC or RSA-PSS key is not */
	if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA)
	{
		set_error(errbuf, errlen, "not an RSA key", true);
		goto fail;
	}

	mdctx = EVP_MD_CTX_new();
	if (mdctx == NULL)
	{
		set_error(errbuf, errlen, "out of memory", true);
		goto fail;
	}
	/* pctx belongs to mdctx */
	if (EVP_DigestSignInit(mdctx, &pctx, EVP_sha256(), NULL, pkey) != 1 ||
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
		EVP_DigestSign(mdctx, NULL, &outlen, msg, len) != 1)
	{
		set_error(errbuf, errlen, "signing failed", true);
		goto fail;
	}
	out = malloc(outlen > 0 ? outlen : 1);
	if (out == NULL)
	{
		set_error(errbuf, errlen, "out of memory", true);
		goto fail;
	}
	if (EVP_DigestSign(mdctx, out, &outlen, msg, len) != 1)
	{
		set_error(errbuf, errlen, "signing failed", true);
		goto fail;
	}

	EVP_MD_CTX_free(mdctx);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	*sig = out;
	*siglen = outlen;
	return 0;

fail:
	free(out);
	EVP_MD_CTX_free(mdctx);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return -1;
}
