/*-------------------------------------------------------------------------
 *
 * message.c
 *		  Text in messages: a provider's converted to the database encoding
 *		  and never showing a secret; lists of words and "perhaps you meant"
 *		  hints.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "mb/pg_wchar.h"
#include "provider.h"
#include "utils/formatting.h"
#include "utils/varlena.h"

/* Text from an API (UTF-8) in the database encoding, for messages */
char *
fu_api_text(const char *s)
{
	size_t		len;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (!pg_verify_mbstr(PG_UTF8, s, len, true))
		return pstrdup("(message not valid UTF-8)");
	/* a provider's text in a message or the log stays short: cut, said so */
	if (len > FU_API_TEXT_MAX)
	{
		int			cut = pg_encoding_mbcliplen(PG_UTF8, s, len, FU_API_TEXT_MAX);

		/* the same encoding is not copied: cut a copy */
		char	   *part = pnstrdup(s, cut);

		return psprintf("%s... (cut: %zu bytes)",
						pg_any_to_server(part, cut, PG_UTF8), len);
	}
	return pg_any_to_server(s, len, PG_UTF8);
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

/* "a", "a or b", "a, b or c": words joined for a message */
char *
fu_word_list(List *words, const char *conjunction)
{
	StringInfoData buf;
	ListCell   *lc;
	int			n = list_length(words);

	initStringInfo(&buf);
	foreach(lc, words)
	{
		int			i = foreach_current_index(lc);

		if (i > 0)
			appendStringInfo(&buf, i == n - 1 ? " %s " : ", ", conjunction);
		appendStringInfoString(&buf, (const char *) lfirst(lc));
	}
	return buf.data;
}

/* The candidate closest to name, if close enough to be a likely typo */
const char *
fu_closest_match(const char *name, List *candidates)
{
	const char *best = NULL;
	int			best_d = INT_MAX;
	int			len = strlen(name);
	int			max_d = Max(2, len / 2);
	char	   *lname;
	ListCell   *lc;

	/*
	 * No name that long is a typo of one of these, and levenshtein refuses
	 * more than 255 characters (its error would hide the caller's)
	 */
	if (pg_mbstrlen_with_len(name, len) > 255)
		return NULL;
	lname = str_tolower(name, len, DEFAULT_COLLATION_OID);

	/* case does not count: "monthly" is closest to "MONTHLY" */
	foreach(lc, candidates)
	{
		const char *cand = (const char *) lfirst(lc);
		char	   *lcand = str_tolower(cand, strlen(cand), DEFAULT_COLLATION_OID);
		int			d = varstr_levenshtein(lname, len, lcand, strlen(lcand),
										   1, 1, 1, false);

		if (d < best_d)
		{
			best_d = d;
			best = cand;
		}
	}
	return best_d <= max_d ? best : NULL;
}
