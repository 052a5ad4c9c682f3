/*-------------------------------------------------------------------------
 *
 * message.c
 *		  Text from a provider in messages: converted to the database
 *		  encoding, and never showing a secret.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "provider.h"

/* Text from an API (UTF-8) in the database encoding, for messages */
char *
fu_api_text(const char *s)
{
	if (s == NULL)
		return NULL;
	if (!pg_verify_mbstr(PG_UTF8, s, strlen(s), true))
		return pstrdup("(message not valid UTF-8)");
	return pg_any_to_server(s, strlen(s), PG_UTF8);
}

/* s with every occurrence of each secret replaced (s may be NULL) */
char *
fu_redact(const char *s, List *secrets)
{
	ListCell   *lc;
	char	   *out;

	if (s == NULL)
		return NULL;
	out = pstrdup(s);
	foreach(lc, secrets)
	{
		const char *secret = (const char *) lfirst(lc);
		size_t		len;
		StringInfoData buf;
		char	   *p;
		char	   *from = out;

		/* a short secret would redact ordinary words */
		if (secret == NULL || (len = strlen(secret)) < 4 ||
			strstr(out, secret) == NULL)
			continue;
		initStringInfo(&buf);
		while ((p = strstr(from, secret)) != NULL)
		{
			appendBinaryStringInfo(&buf, from, p - from);
			appendStringInfoString(&buf, "<redacted>");
			from = p + len;
		}
		appendStringInfoString(&buf, from);
		out = buf.data;
	}
	return out;
}
