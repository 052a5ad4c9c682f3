/*-------------------------------------------------------------------------
 *
 * rs256.h
 *	  RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signatures and base64url, the
 *	  cryptography of a Google service-account JWT assertion.
 *
 * The implementation (rs256.c) is plain C99 plus OpenSSL libcrypto and
 * includes no PostgreSQL headers, so the same object is linked into the
 * backend module and into the standalone unit test (test/gcp/jwt_test.c).
 * It allocates with malloc/free, never aborts or exits, keeps no global
 * state and leaves OpenSSL's error queue empty.
 *
 * src/gcp/rs256.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_RS256_H
#define FU_RS256_H

#include <stddef.h>

/* Size of the base64url text of len bytes, with its terminating NUL */
#define FU_BASE64URL_SIZE(len)	((((len) + 2) / 3) * 4 + 1)

/*
 * base64url (RFC 4648 section 5) of src into dst, without padding; dst must
 * hold FU_BASE64URL_SIZE(len) bytes.  Returns the length written, not
 * counting the terminating NUL.
 */
extern size_t fu_base64url_encode(const unsigned char *src, size_t len,
								  char *dst);

/*
 * Sign msg with the RSA private key in pem (PKCS#8 "BEGIN PRIVATE KEY" or
 * PKCS#1 "BEGIN RSA PRIVATE KEY"; not encrypted).  On success returns 0 and
 * sets *sig to a malloc'd signature of *siglen bytes, owned by the caller.
 * On failure returns -1, sets *sig to NULL and writes a short reason
 * (OpenSSL's, never key material) into errbuf.
 */
extern int	fu_rs256_sign(const char *pem, const unsigned char *msg,
						  size_t len, unsigned char **sig, size_t *siglen,
						  char *errbuf, size_t errlen);

#endif							/* FU_RS256_H */
