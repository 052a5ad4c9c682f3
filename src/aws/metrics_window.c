/*-------------------------------------------------------------------------
 *
 * metrics_window.c
 *		  The time window and period of an aws_metrics scan: CloudWatch's
 *		  rules for periods, for the age of data, and for buckets.
 *
 * A row is one bucket [ts, ts + period): buckets are aligned to the period
 * counted from Monday 1970-01-05 00:00 UTC (hours on the hour, days at
 * midnight UTC, weeks on Mondays), so a row never depends on the window a
 * query asks for.  The request covers the whole buckets whose start lies
 * in the ts window (the bucket still under way ends now), and no partial
 * bucket: every value covers exactly its bucket.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "metrics.h"
#include "utils/rel.h"

#define BUCKET_ANCHOR		(4 * SECS_PER_DAY)	/* Monday 1970-01-05 */
#define MAX_DEFAULT_POINTS	1440
#define MAX_PERIOD			(366 * SECS_PER_DAY)

/*
 * A period value in its text form: 1, 5, 10, 20 or 30 seconds (high
 * resolution), or a multiple of 60 up to a year.  The engine checks each
 * period qual's values with it before the scan begins.
 */
bool
fu_cw_valid_period(const char *text)
{
	char	   *end;
	long long	period;

	errno = 0;
	period = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' ||
		period <= 0 || period > MAX_PERIOD)
		return false;
	if (period >= 60)
		return period % 60 == 0;
	return period == 1 || period == 5 || period == 10 || period == 20 ||
		period == 30;
}

/* A period value of a qual (any integer type), checked by the engine */
int
fu_cw_period_value(FuQual *q, Datum d)
{
	if (q->valtype == INT2OID)
		return DatumGetInt16(d);
	if (q->valtype == INT4OID)
		return DatumGetInt32(d);
	return (int) DatumGetInt64(d);
}

/*
 * The coarsest resolution CloudWatch keeps for data of this age: older
 * points come back only for periods that are multiples of it, and for
 * other periods nothing comes back at all, silently.
 */
static int
resolution_for_age(int64 age)
{
	/* an hour's margin: the request reaches CloudWatch a little later */
	age += 3600;
	if (age > 63 * SECS_PER_DAY)
		return 3600;
	if (age > 15 * SECS_PER_DAY)
		return 300;
	if (age > 3 * 3600)
		return 60;
	return 1;					/* high resolution: 1, 5, 10, 20, 30 s */
}

/* The first bucket start at or after t */
static int64
bucket_ceil(int64 t, int period)
{
	int64		r = (t - BUCKET_ANCHOR) % period;

	if (r < 0)
		r += period;
	return r == 0 ? t : t + period - r;
}

/* [lo, hi) in epoch seconds from the ts quals; infinite sides unbounded */
static void
qual_window(FuScan *scan, double *lo, double *hi)
{
	ListCell   *lc;

	*lo = -INFINITY;
	*hi = INFINITY;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		double		e;
		double		slack;

		if (!q->known || q->col != COL_TS)
			continue;
		e = fu_qual_epoch(q);
		/* a date or a timestamp without zone: a day either way, rechecked */
		slack = (q->valtype == TIMESTAMPTZOID) ? 0 : SECS_PER_DAY;
		if (q->op == FU_OP_GT || q->op == FU_OP_GE || q->op == FU_OP_EQ)
			*lo = Max(*lo, floor(e - slack));
		/* EndTime is exclusive */
		if (q->op == FU_OP_LT)
			*hi = Min(*hi, ceil(e + slack));
		else if (q->op == FU_OP_LE || q->op == FU_OP_EQ)
			*hi = Min(*hi, floor(e + slack) + 1);
	}
}

/*
 * The default period: the finest CloudWatch keeps for data of this age
 * that gives a series at most 1,440 points (daily for S3's storage
 * metrics).
 */
static int
default_period(MState *st, int resolution)
{
	static const int ladder[] = {60, 300, 900, 3600, 21600, 86400, 0};
	int			period = 86400;
	ListCell   *lc;

	resolution = Max(resolution, 60);
	for (int i = 0; ladder[i]; i++)
		if (ladder[i] % resolution == 0 &&
			(st->end - st->start) / ladder[i] <= MAX_DEFAULT_POINTS)
		{
			period = ladder[i];
			break;
		}
	foreach(lc, st->types)
		period = Max(period, ((const ResourceType *) lfirst(lc))->default_period);
	return period;
}

/*
 * Set st->start, st->end (whole buckets) and st->period from the quals.
 * False when no bucket starts in the window: nothing to ask.
 */
bool
fu_cw_window(FuScan *scan, MState *st)
{
	int64		now = fu_now_epoch();
	double		lo;
	double		hi;
	int			resolution;
	int64		nbuckets;

	qual_window(scan, &lo, &hi);
	/* "after +infinity", "before -infinity", or an empty range: no rows */
	if (lo >= hi || (isinf(lo) && lo > 0) || (isinf(hi) && hi < 0))
		return false;
	st->default_start = isinf(lo);
	st->default_end = isinf(hi);
	hi = Min(hi, (double) now);
	if (isinf(lo))
		lo = hi - SECS_PER_DAY;
	/* a window far outside what CloudWatch keeps is empty as well */
	if (lo >= hi || lo < -1e15)
		return false;
	st->start = (int64) lo;
	st->end = (int64) hi;

	/* datapoints of the window's start are the oldest asked for */
	resolution = resolution_for_age(now - st->start);
	if (st->default_period)
		st->period = default_period(st, resolution);
	else if (st->period % resolution != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("period %d of \"%s\" is finer than CloudWatch keeps for data this old",
						st->period, RelationGetRelationName(scan->rel)),
				 errdetail("Datapoints older than three hours exist only at multiples of 60 seconds, older than 15 days at multiples of 300, older than 63 days at multiples of 3600; CloudWatch returns nothing for a finer period."),
				 errhint("Use period = %d, or a multiple of it.", Max(resolution, 60))));

	/* the whole buckets that start in the window; the last may be under way */
	st->start = bucket_ceil(st->start, st->period);
	if (st->start >= st->end)
		return false;
	nbuckets = (st->end - st->start + st->period - 1) / st->period;
	st->end = Min(st->start + nbuckets * st->period, now);
	return true;
}
