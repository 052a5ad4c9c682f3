/*-------------------------------------------------------------------------
 *
 * azure.h
 *		  Microsoft Azure: the pieces of the Azure provider (src/azure/)
 *		  shared between its files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_AZURE_H
#define FU_AZURE_H

#include "provider.h"

/* docs.c */
extern const FuDoc fu_azure_docs[];

/* Real hosts; a server's endpoint option replaces them all */
#define AZURE_LOGIN_HOST	"login.microsoftonline.com"
#define AZURE_ARM_HOST		"management.azure.com"
#define AZURE_METRICS_HOST	"metrics.monitor.azure.com"	/* <region>. before */

/* Token audiences (OAuth scopes of the client-credentials flow) */
#define AZURE_ARM_SCOPE		"https://management.azure.com/.default"
#define AZURE_METRICS_SCOPE	"https://metrics.monitor.azure.com/.default"

#define AZURE_COST_API		"2025-03-01"
#define AZURE_METRICS_API	"2024-02-01"
#define AZURE_RESOURCES_API	"2021-04-01"

/* credentials.c */
typedef struct AzureToken
{
	char	   *access_token;
} AzureToken;

extern const FuCredentialProvider fu_azure_access_token;
extern const FuCredentialProvider fu_azure_client_secret;
extern const FuCredentialProvider fu_azure_server_credentials;
extern FuVerdict fu_azure_classify_token(FuRequest *req, int *retry_after_ms);
extern void fu_azure_check_guid(const char *name, const char *value);
extern void fu_azure_check_secret(const char *name, const char *value);

/* provider.c */
extern void fu_azure_error(FuRequest *req, char **code, char **message);
extern char *fu_azure_subscription(ForeignServer *server);
extern bool fu_azure_valid_guid(const char *s);

#endif							/* FU_AZURE_H */
