/*-------------------------------------------------------------------------
 *
 * gcp.h
 *		  Google Cloud: the pieces of the GCP provider (src/gcp/) shared
 *		  between its files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_GCP_H
#define FU_GCP_H

#include "provider.h"

/* docs.c */
extern const FuDoc fu_gcp_docs[];

/* Real hosts; a server's endpoint option replaces them all */
#define GCP_MONITORING_HOST	"monitoring.googleapis.com"
#define GCP_BIGQUERY_HOST	"bigquery.googleapis.com"
#define GCP_TOKEN_URI		"https://oauth2.googleapis.com/token"

/*
 * OAuth scopes of the one token a server and user mapping use: reading
 * Monitoring, and running BigQuery queries (jobs.query needs more than
 * bigquery.readonly grants for job creation on some projects, but the
 * read-only scope is the one jobs.query documents for queries)
 */
#define GCP_SCOPES \
	"https://www.googleapis.com/auth/monitoring.read " \
	"https://www.googleapis.com/auth/bigquery.readonly"

/* credentials.c: what a FuCredential's data points to */
typedef struct GcpToken
{
	char	   *access_token;	/* sent as "Authorization: Bearer ..." */
} GcpToken;

extern const FuCredentialProvider fu_gcp_access_token;
extern const FuCredentialProvider fu_gcp_service_account;
extern const FuCredentialProvider fu_gcp_server_credentials;

/* credentials.c: option checks (user mapping) */
extern void fu_gcp_check_key(const char *name, const char *value);
extern void fu_gcp_check_token(const char *name, const char *value);

/* jwt.c: an RS256-signed JWT assertion for the token endpoint */
extern char *fu_gcp_jwt_assertion(const char *private_key_pem,
								  const char *key_id,
								  const char *client_email,
								  const char *scopes,
								  const char *audience,
								  int64 issued_at);

/* credentials.c: what the token endpoint's answer means */
extern FuVerdict fu_gcp_classify_token(FuRequest *req, int *retry_after_ms);

/* provider.c */
extern void fu_gcp_error(FuRequest *req, char **status, char **reason,
						 char **message);
extern bool fu_gcp_valid_project(const char *s);
extern char *fu_gcp_project(ForeignServer *server);

#endif							/* FU_GCP_H */
