/*-------------------------------------------------------------------------
 *
 * jwt_test.c
 *	  Standalone unit test for src/gcp/rs256.c, the signing core of the
 *	  Google service-account JWT assertion.
 *
 * With the google-auth test key pair found in the folder given as argv[1]
 * (privatekey.pem, service_account.json, public_cert.pem), it checks that
 * RS256 signatures made with the key (PKCS#1 as stored, PKCS#8 as Google
 * issues keys, and the private_key member of the key file) verify with the
 * certificate's public key, that a tampered message or signature does not,
 * and that the base64url text has no padding, '+' or '/'.  base64url is
 * also checked against RFC 4648's vectors and OpenSSL's base64, and bad
 * keys (garbage, encrypted, not RSA) against a clean failure.  Those
 * checks need no fixtures.
 *
 * Output: one line per check ("ok <case>", "FAIL <case>: ..."), then as
 * the last line "jwt: N passed, M failed, 0 skipped".  Exit status 1 if
 * any check failed, 2 on a usage or I/O error.
 *
 * test/gcp/jwt_test.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rs256.h"

static int	passed;
static int	failed;

static void
check(int ok, const char *name, const char *why)
{
	if (ok)
	{
		printf("ok %s\n", name);
		passed++;
	}
	else
	{
		printf("FAIL %s: %s\n", name, why);
		failed++;
	}
}

/* The whole file, NUL-terminated (malloc'd), or NULL */
static char *
read_file(const char *dir, const char *name)
{
	char		path[4096];
	FILE	   *f;
	char	   *buf;
	long		n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0 || (buf = malloc(n + 1)) == NULL)
	{
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, n, f) != (size_t) n)
	{
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * The string member name of a flat JSON object, unescaped (malloc'd), or
 * NULL.  Enough for a key file: \uXXXX only below 0x80.
 */
static char *
json_member(const char *json, const char *name)
{
	char		quoted[256];
	const char *p;
	char	   *out;
	char	   *o;

	snprintf(quoted, sizeof(quoted), "\"%s\"", name);
	p = strstr(json, quoted);
	if (p == NULL)
		return NULL;
	p += strlen(quoted);
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ':')
		p++;
	if (*p++ != '"')
		return NULL;
	out = o = malloc(strlen(p) + 1);
	if (out == NULL)
		return NULL;
	for (; *p && *p != '"'; p++)
	{
		if (*p != '\\')
		{
			*o++ = *p;
			continue;
		}
		switch (*++p)
		{
			case 'n':
				*o++ = '\n';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case 't':
				*o++ = '\t';
				break;
			case 'b':
				*o++ = '\b';
				break;
			case 'f':
				*o++ = '\f';
				break;
			case 'u':
				{
					unsigned int c;

					if (sscanf(p + 1, "%4x", &c) != 1 || c == 0 || c >= 0x80)
					{
						free(out);
						return NULL;
					}
					*o++ = (char) c;
					p += 4;
					break;
				}
			case '\0':
				free(out);
				return NULL;
			default:			/* \" \\ \/ */
				*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* The public key of a PEM certificate, or NULL */
static EVP_PKEY *
cert_public_key(const char *pem)
{
	BIO		   *bio = BIO_new_mem_buf(pem, -1);
	X509	   *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY   *key = cert ? X509_get_pubkey(cert) : NULL;

	X509_free(cert);
	BIO_free(bio);
	return key;
}

/* Does sig verify as RS256 of msg with pub? */
static int
verifies(EVP_PKEY *pub, const char *msg, const unsigned char *sig,
		 size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int			ok;

	ok = ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *) msg,
						 strlen(msg)) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* The base64url text of data (malloc'd) */
static char *
b64url(const unsigned char *data, size_t len)
{
	char	   *out = malloc(FU_BASE64URL_SIZE(len));

	if (out)
		fu_base64url_encode(data, len, out);
	return out;
}

/* ---------- checks without fixtures ---------- */

static void
check_base64url(void)
{
	static const char *const vectors[][2] = {
		{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	};
	static const unsigned char high[] = {0xfb, 0xff, 0xbf};
	unsigned char data[100];
	int			ok = 1;
	char	   *s;

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
	{
		char		name[64];

		s = b64url((const unsigned char *) vectors[i][0], strlen(vectors[i][0]));
		snprintf(name, sizeof(name), "base64url RFC 4648 \"%s\"", vectors[i][0]);
		check(s && strcmp(s, vectors[i][1]) == 0, name, s ? s : "out of memory");
		free(s);
	}
	s = b64url(high, sizeof(high));
	check(s && strcmp(s, "-_-_") == 0, "base64url alphabet (- and _)", s ? s : "out of memory");
	free(s);

	/* every length up to 100 against OpenSSL's base64, translated */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char) (i * 37 + 11);
	for (size_t len = 0; len <= sizeof(data) && ok; len++)
	{
		unsigned char std[160];
		int			n = EVP_EncodeBlock(std, data, (int) len);

		while (n > 0 && std[n - 1] == '=')
			std[--n] = '\0';
		for (int i = 0; i < n; i++)
			std[i] = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i];
		s = b64url(data, len);
		ok = s && strlen(s) == (size_t) n && memcmp(s, std, n) == 0;
		free(s);
	}
	check(ok, "base64url matches OpenSSL base64 for lengths 0 to 100",
		  "a length differs");
}

/* sign must fail cleanly: -1, no signature, a reason, an empty error queue */
static void
check_bad_key(const char *name, const char *pem, const char *reason_part)
{
	unsigned char *sig = (unsigned char *) "x";
	size_t		siglen = 1;
	char		reason[256];
	char		why[512];
	int			rc;

	rc = fu_rs256_sign(pem, (const unsigned char *) "a.b", 3, &sig, &siglen,
					   reason, sizeof(reason));
	snprintf(why, sizeof(why), "rc %d, reason \"%s\"", rc, reason);
	check(rc == -1 && sig == NULL && siglen == 0 && reason[0] != '\0' &&
		  (reason_part == NULL || strstr(reason, reason_part) != NULL) &&
		  ERR_peek_error() == 0,
		  name, why);
	if (rc == 0)
		free(sig);
}

static void
check_bad_keys(void)
{
	EVP_PKEY   *ec = EVP_EC_gen("P-256");
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *ec_pem = NULL;
	long		n;

	check_bad_key("bad key: empty", "", NULL);
	check_bad_key("bad key: not PEM", "not a key", NULL);
	check_bad_key("bad key: corrupt PEM",
				  "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
				  NULL);
	check_bad_key("bad key: encrypted PKCS#8",
				  "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
				  "encrypted");

	/* an EC key loads, but RS256 needs RSA */
	if (ec && bio && PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL) == 1 &&
		(n = BIO_get_mem_data(bio, &ec_pem)) > 0)
	{
		char	   *copy = strndup(ec_pem, n);

		check_bad_key("bad key: EC, not RSA", copy, "RSA");
		free(copy);
	}
	else
		check(0, "bad key: EC, not RSA", "could not make an EC key");
	BIO_free(bio);
	EVP_PKEY_free(ec);
	ERR_clear_error();
}

/* ---------- checks with the fixture key pair ---------- */

/* Sign msg with pem; check it verifies with pub and its text is base64url */
static void
check_signature(const char *what, const char *pem, EVP_PKEY *pub)
{
	static const char *msg =
		"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjEifQ."
		"eyJpc3MiOiJzZXJ2aWNlLWFjY291bnRAZXhhbXBsZS5jb20iLCJpYXQiOjE3MDAwMDAwMDB9";
	unsigned char *sig = NULL;
	unsigned char *sig2 = NULL;
	size_t		siglen = 0;
	size_t		siglen2 = 0;
	char		reason[256] = "";
	char		name[128];
	char	   *text;
	char	   *tampered;

	snprintf(name, sizeof(name), "%s: signs", what);
	if (fu_rs256_sign(pem, (const unsigned char *) msg, strlen(msg), &sig,
					  &siglen, reason, sizeof(reason)) != 0)
	{
		check(0, name, reason);
		return;
	}
	check(siglen == 256 && ERR_peek_error() == 0, name,
		  "not a 2048-bit signature, or errors left queued");

	snprintf(name, sizeof(name), "%s: verifies with public_cert.pem", what);
	check(verifies(pub, msg, sig, siglen), name, "signature does not verify");

	/* PKCS#1 v1.5 is deterministic: the same input signs the same */
	snprintf(name, sizeof(name), "%s: deterministic", what);
	check(fu_rs256_sign(pem, (const unsigned char *) msg, strlen(msg), &sig2,
						&siglen2, reason, sizeof(reason)) == 0 &&
		  siglen2 == siglen && memcmp(sig, sig2, siglen) == 0,
		  name, "a second signature differs");
	free(sig2);

	snprintf(name, sizeof(name), "%s: base64url without padding, + or /", what);
	text = b64url(sig, siglen);
	check(text && strlen(text) == 342 && strpbrk(text, "=+/") == NULL, name,
		  text ? text : "out of memory");
	free(text);

	snprintf(name, sizeof(name), "%s: a tampered message fails", what);
	tampered = strdup(msg);
	tampered[10] ^= 1;
	check(!verifies(pub, tampered, sig, siglen), name, "still verifies");
	free(tampered);

	snprintf(name, sizeof(name), "%s: a tampered signature fails", what);
	sig[siglen / 2] ^= 0x01;
	check(!verifies(pub, msg, sig, siglen), name, "still verifies");
	free(sig);
}

/* The PKCS#8 form of a PEM key (malloc'd), as Google issues keys */
static char *
to_pkcs8(const char *pem)
{
	BIO		   *in = BIO_new_mem_buf(pem, -1);
	BIO		   *out = BIO_new(BIO_s_mem());
	EVP_PKEY   *key = in ? PEM_read_bio_PrivateKey(in, NULL, NULL, NULL) : NULL;
	char	   *data;
	char	   *result = NULL;
	long		n;

	if (key && out && PEM_write_bio_PKCS8PrivateKey(out, key, NULL, NULL, 0, NULL, NULL) == 1 &&
		(n = BIO_get_mem_data(out, &data)) > 0)
		result = strndup(data, n);
	EVP_PKEY_free(key);
	BIO_free(in);
	BIO_free(out);
	return result;
}

static void
check_fixtures(const char *dir)
{
	char	   *pem = read_file(dir, "privatekey.pem");
	char	   *cert = read_file(dir, "public_cert.pem");
	char	   *account = read_file(dir, "service_account.json");
	char	   *member = account ? json_member(account, "private_key") : NULL;
	char	   *pkcs8 = pem ? to_pkcs8(pem) : NULL;
	EVP_PKEY   *pub = cert ? cert_public_key(cert) : NULL;

	if (pem == NULL || cert == NULL || account == NULL)
	{
		fprintf(stderr, "jwt: cannot read the fixtures in %s\n", dir);
		exit(2);
	}
	check(pub != NULL, "public_cert.pem has a public key", "unreadable certificate");
	check(strstr(pem, "BEGIN RSA PRIVATE KEY") != NULL,
		  "privatekey.pem is PKCS#1", "another form");
	check(member != NULL && strcmp(member, pem) == 0,
		  "service_account.json private_key equals privatekey.pem", "differs");
	check(pkcs8 != NULL && strstr(pkcs8, "BEGIN PRIVATE KEY") != NULL,
		  "the key converts to PKCS#8", "conversion failed");
	if (pub)
	{
		check_signature("PKCS#1 privatekey.pem", pem, pub);
		if (member)
			check_signature("service_account.json private_key", member, pub);
		if (pkcs8)
			check_signature("PKCS#8", pkcs8, pub);
	}
	EVP_PKEY_free(pub);
	free(pem);
	free(cert);
	free(account);
	free(member);
	free(pkcs8);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: %s FIXTURE_FOLDER\n", argv[0]);
		return 2;
	}
	check_base64url();
	check_bad_keys();
	check_fixtures(argv[1]);
	printf("jwt: %d passed, %d failed, 0 skipped\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
