/*-------------------------------------------------------------------------
 *
 * period.c
 *		  Time helpers for sources: "today" (finops_usage.today pins it),
 *		  month arithmetic, the tightest window of day or month buckets that
 *		  date quals allow, and epoch seconds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "engine.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#define UNIX_EPOCH_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* Today: finops_usage.today when set, else the current date in UTC */
DateADT
fu_today_date(void)
{
	TimestampTz now;

	if (fu_today && fu_today[0])
		return DatumGetDateADT(DirectFunctionCall1(date_in,
												   CStringGetDatum(fu_today)));
	/* whatever the session's TimeZone */
	now = GetCurrentTransactionStartTimestamp();
	return (DateADT) (now / USECS_PER_DAY);
}

/* "Now" in epoch seconds: the pinned today at midnight UTC, if pinned */
int64
fu_now_epoch(void)
{
	if (fu_today && fu_today[0])
		return (int64) fu_today_date() * SECS_PER_DAY + UNIX_EPOCH_SECS;
	return (int64) (GetCurrentTransactionStartTimestamp() / USECS_PER_SEC) +
		UNIX_EPOCH_SECS;
}

/* An epoch second as "YYYY-MM-DD HH:MM:SS UTC" */
char *
fu_epoch_text(int64 e)
{
	int64		days = e / SECS_PER_DAY;
	int64		secs = e % SECS_PER_DAY;
	int			y,
				m,
				d;

	if (secs < 0)
	{
		secs += SECS_PER_DAY;
		days--;
	}
	j2date((int) (days + UNIX_EPOCH_JDATE), &y, &m, &d);
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d UTC", y, m, d,
					(int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
}

/*
 * Epoch seconds of a date, timestamp or timestamptz qual's value (dates and
 * timestamps count from UTC midnight), in double: a date can lie beyond
 * the timestamp range.  Infinities stay infinite.
 */
double
fu_qual_epoch(FuQual *q)
{
	if (q->valtype == DATEOID)
	{
		DateADT		d = DatumGetDateADT(q->value);

		if (DATE_NOT_FINITE(d))
			return DATE_IS_NOBEGIN(d) ? -INFINITY : INFINITY;
		return (double) d * SECS_PER_DAY + UNIX_EPOCH_SECS;
	}
	else
	{
		Timestamp	ts = DatumGetTimestamp(q->value);

		if (TIMESTAMP_NOT_FINITE(ts))
			return TIMESTAMP_IS_NOBEGIN(ts) ? -INFINITY : INFINITY;
		return (double) ts / USECS_PER_SEC + UNIX_EPOCH_SECS;
	}
}

/* A timestamptz from epoch seconds */
TimestampTz
fu_epoch_timestamptz(double epoch)
{
	return (TimestampTz) ((epoch - UNIX_EPOCH_SECS) * USECS_PER_SEC);
}

DateADT
fu_month_floor(DateADT d)
{
	int			y,
				m,
				day;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

DateADT
fu_add_months(DateADT d, int n)
{
	int			y,
				m,
				day,
				mdays;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	m += n;
	while (m > 12)
	{
		m -= 12;
		y++;
	}
	while (m < 1)
	{
		m += 12;
		y--;
	}
	mdays = day_tab[isleap(y)][m - 1];
	return date2j(y, m, Min(day, mdays)) - POSTGRES_EPOCH_JDATE;
}

DateADT
fu_month_ceil(DateADT d)
{
	DateADT		f = fu_month_floor(d);

	return f == d ? d : fu_add_months(f, 1);
}

char *
fu_date_text(DateADT d)
{
	int			y,
				m,
				day;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return psprintf("%04d-%02d-%02d", y, m, day);
}

/* A date qual value as a date; timestamps give their UTC date */
static DateADT
qual_date(FuQual *q)
{
	if (q->valtype == DATEOID)
		return DatumGetDateADT(q->value);
	/* timestamp and timestamptz: both count microseconds from 2000-01-01 */
	{
		Timestamp	ts = DatumGetTimestamp(q->value);

		if (TIMESTAMP_NOT_FINITE(ts))
			return TIMESTAMP_IS_NOBEGIN(ts) ? DATEVAL_NOBEGIN : DATEVAL_NOEND;
		return (DateADT) (ts >= 0 ? ts / USECS_PER_DAY :
						  -((-ts + USECS_PER_DAY - 1) / USECS_PER_DAY));
	}
}

/*
 * Narrow [lo, hi) of bucket starts by one qual on the start or the end
 * column of a period.  A bucket ends one step (a day or a month) after it
 * starts, so "end op d" is "start op d - step".  A qual compared with a
 * timestamp (FU_PUSH_RECHECK) widens the window by a day.
 */
void
fu_narrow_window(FuQual *q, bool end_column, bool monthly, DateADT *lo, DateADT *hi)
{
	DateADT		d = qual_date(q);
	FuOp		op = q->op;

	if (DATE_NOT_FINITE(d))
	{
		/* infinity bounds nothing; -infinity/+infinity on the wrong side empties */
		if ((d == DATEVAL_NOEND && (op == FU_OP_GT || op == FU_OP_GE || op == FU_OP_EQ)) ||
			(d == DATEVAL_NOBEGIN && (op == FU_OP_LT || op == FU_OP_LE || op == FU_OP_EQ)))
			*hi = *lo;
		return;
	}
	if (end_column)
		d = monthly ? fu_add_months(d, -1) : d - 1;

	if (q->valtype != DATEOID)
	{
		/* widen by a day: the local recheck does the exact comparison */
		if (op == FU_OP_GT || op == FU_OP_GE)
		{
			op = FU_OP_GE;
			d -= 1;
		}
		else if (op == FU_OP_LT || op == FU_OP_LE)
		{
			op = FU_OP_LE;
			d += 1;
		}
		else if (op == FU_OP_EQ)
		{
			*lo = Max(*lo, d - 1);
			*hi = Min(*hi, d + 2);
			return;
		}
	}

	switch (op)
	{
		case FU_OP_EQ:
			*lo = Max(*lo, d);
			*hi = Min(*hi, d + 1);
			break;
		case FU_OP_GE:
			*lo = Max(*lo, d);
			break;
		case FU_OP_GT:
			*lo = Max(*lo, d + 1);
			break;
		case FU_OP_LE:
			*hi = Min(*hi, d + 1);
			break;
		case FU_OP_LT:
			*hi = Min(*hi, d);
			break;
		default:
			break;
	}
}

/*
 * A timestamp as an API writes it ("2026-12-02T10:00:00Z", "Wed, 21 Oct
 * 2015 07:28:00 GMT"): what PostgreSQL's input accepts, without raising;
 * false if it is not one.
 */
bool
fu_parse_timestamptz(const char *s, TimestampTz *t)
{
	char		workbuf[MAXDATELEN + 1];
	char	   *fields[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz = 0;
	fsec_t		fsec;
	struct pg_tm tm;

	return ParseDateTime(s, workbuf, sizeof(workbuf), fields, ftype,
						 MAXDATEFIELDS, &nf) == 0 &&
		DecodeDateTime(fields, ftype, nf, &dtype, &tm, &fsec, &tz) == 0 &&
		dtype == DTK_DATE && tm2timestamp(&tm, fsec, &tz, t) == 0;
}

/* Parse "YYYY-MM-DD", or that and a "T..." time part; false if not a date */
bool
fu_parse_date(const char *s, DateADT *d)
{
	int			y,
				m,
				day;

	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : !isdigit((unsigned char) s[i]))
			return false;
	if (s[10] != '\0' && s[10] != 'T')
		return false;
	y = atoi(s);
	m = atoi(s + 5);
	day = atoi(s + 8);
	if (m < 1 || m > 12 || day < 1 || day > day_tab[isleap(y)][m - 1])
		return false;
	*d = date2j(y, m, day) - POSTGRES_EPOCH_JDATE;
	return true;
}
