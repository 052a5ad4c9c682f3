/*-------------------------------------------------------------------------
 *
 * xml.c
 *		  The text of an element of a small XML answer (STS, the Query
 *		  protocol's ErrorResponse), found by its path of element names.
 *
 * These answers are a few kilobytes of elements without attributes that
 * matter, so a scanner for "<Name>" and "</Name>" within the parent's span
 * is enough; entities and character references are decoded, and anything
 * unexpected gives NULL, never a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "mb/pg_wchar.h"

/*
 * The span [*start, *end) of the first element name inside [doc, doc_end)
 * (its content, between the start and end tags); false if absent.
 */
static bool
find_element(const char *doc, const char *doc_end, const char *name,
			 const char **start, const char **end)
{
	size_t		nlen = strlen(name);
	const char *p = doc;

	while (p < doc_end)
	{
		const char *lt = memchr(p, '<', doc_end - p);
		const char *gt;
		const char *q;

		if (lt == NULL || doc_end - lt < (ptrdiff_t) nlen + 2)
			return false;
		p = lt + 1;
		if (strncmp(p, name, nlen) != 0 ||
			(p[nlen] != '>' && p[nlen] != ' ' && p[nlen] != '/'))
			continue;
		gt = memchr(p, '>', doc_end - p);
		if (gt == NULL)
			return false;
		if (gt[-1] == '/')
		{
			/* <Name/>: empty */
			*start = *end = gt + 1;
			return true;
		}
		*start = gt + 1;
		/* the matching end tag (names do not nest in these documents) */
		for (q = *start; q < doc_end; q++)
		{
			q = memchr(q, '<', doc_end - q);
			if (q == NULL || doc_end - q < (ptrdiff_t) nlen + 3)
				return false;
			if (q[1] == '/' && strncmp(q + 2, name, nlen) == 0 &&
				q[2 + nlen] == '>')
			{
				*end = q;
				return true;
			}
		}
		return false;
	}
	return false;
}

/* Decode &amp; &lt; &gt; &quot; &apos; &#N; &#xN; */
static char *
decode_text(const char *s, const char *end)
{
	StringInfoData buf;

	initStringInfo(&buf);
	while (s < end)
	{
		const char *semi;

		if (*s != '&' || (semi = memchr(s, ';', end - s)) == NULL ||
			semi - s > 10)
		{
			appendStringInfoChar(&buf, *s++);
			continue;
		}
		if (strncmp(s, "&amp;", 5) == 0)
			appendStringInfoChar(&buf, '&');
		else if (strncmp(s, "&lt;", 4) == 0)
			appendStringInfoChar(&buf, '<');
		else if (strncmp(s, "&gt;", 4) == 0)
			appendStringInfoChar(&buf, '>');
		else if (strncmp(s, "&quot;", 6) == 0)
			appendStringInfoChar(&buf, '"');
		else if (strncmp(s, "&apos;", 6) == 0)
			appendStringInfoChar(&buf, '\'');
		else if (s[1] == '#')
		{
			char	   *e;
			long		cp = (s[2] == 'x' || s[2] == 'X') ?
				strtol(s + 3, &e, 16) : strtol(s + 2, &e, 10);
			unsigned char utf8[8];

			if (e != semi || cp <= 0 || cp > 0x10FFFF ||
				(cp >= 0xD800 && cp <= 0xDFFF))
				return NULL;
			unicode_to_utf8((pg_wchar) cp, utf8);
			appendBinaryStringInfo(&buf, (char *) utf8,
								   pg_utf_mblen(utf8));
		}
		else
			return NULL;
		s = semi + 1;
	}
	return buf.data;
}

/*
 * The decoded text of the element at path (a NULL-terminated list of
 * names, each inside the previous), or NULL.
 */
char *
fu_aws_xml_text(const char *doc, size_t len, const char *const *path)
{
	const char *start = doc;
	const char *end;

	if (doc == NULL)
		return NULL;
	end = doc + len;
	for (; *path; path++)
		if (!find_element(start, end, *path, &start, &end))
			return NULL;
	return decode_text(start, end);
}
