/*-------------------------------------------------------------------------
 *
 * stats.c
 *		  API spend counted across every connection: the finops_usage.stats
 *		  view and reset_stats().
 *
 * Without shared_preload_libraries there is no shared memory to count in,
 * so each server has a small file under the data directory
 * (finops_usage/stats/<database>_<server>), updated under an exclusive
 * flock: read, add, write back.  An update is a few system calls, next to
 * an HTTP exchange.  Counters written before the postmaster last started
 * are ignored (the view counts since the cluster started or the last
 * reset_stats()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "engine.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "common/file_perm.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#define STATS_MAGIC		0x46555331	/* "FUS1" */

typedef struct StatsRecord
{
	uint32		magic;
	uint32		pad;
	TimestampTz pg_start;		/* the postmaster start these count from */
	TimestampTz since;
	FuStats		counts;
	pg_crc32c	crc;
} StatsRecord;

PG_FUNCTION_INFO_V1(finops_usage_stats_rows);
PG_FUNCTION_INFO_V1(finops_usage_reset_server_stats);

/*
 * Counts of this backend not yet written, by server: written when a scan
 * ends and when the transaction ends (an error included), not per page
 * (two file updates per page cost 10 % of a 600k-row scan).
 */
#define MAX_PENDING 16
typedef struct Pending
{
	Oid			serverid;
	FuStats		counts;
} Pending;
static Pending pending[MAX_PENDING];
static int	npending = 0;

/*
 * The counters' folder.  No palloc: this also runs in the abort callback.
 */
static bool
stats_dir(char *dir, bool create)
{
	char		parent[MAXPGPATH];

	snprintf(parent, sizeof(parent), "%s/finops_usage", DataDir);
	snprintf(dir, MAXPGPATH, "%s/stats", parent);
	if (create)
	{
		if (MakePGDirectory(parent) < 0 && errno != EEXIST)
			return false;
		if (MakePGDirectory(dir) < 0 && errno != EEXIST)
			return false;
	}
	return true;
}

static pg_crc32c
record_crc(const StatsRecord *r)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, r, offsetof(StatsRecord, crc));
	FIN_CRC32C(crc);
	return crc;
}

/* Read a record; anything else than a valid one of this postmaster is zero */
static void
read_record(int fd, StatsRecord *r)
{
	ssize_t		n = pg_pread(fd, r, sizeof(*r), 0);

	if (n != sizeof(*r) || r->magic != STATS_MAGIC || record_crc(r) != r->crc ||
		r->pg_start != PgStartTime)
	{
		memset(r, 0, sizeof(*r));
		r->magic = STATS_MAGIC;
		r->pg_start = PgStartTime;
		r->since = PgStartTime;
	}
}

/*
 * Update a server's counters: add delta, or with reset zero them from now.
 * Counting must never fail a query: a file that cannot be written is a
 * WARNING.
 */
static void
update(Oid serverid, const FuStats *delta, bool reset)
{
	char		dir[MAXPGPATH];
	char		path[MAXPGPATH];
	int			fd;
	StatsRecord r;

	if (!stats_dir(dir, true))
		goto failed;
	snprintf(path, sizeof(path), "%s/%u_%u", dir, MyDatabaseId, serverid);
	fd = open(path, O_RDWR | O_CREAT | PG_BINARY, pg_file_create_mode);
	if (fd < 0)
		goto failed;
	while (flock(fd, LOCK_EX) < 0)
	{
		if (errno != EINTR)
		{
			close(fd);
			goto failed;
		}
	}
	read_record(fd, &r);
	if (reset)
	{
		memset(&r.counts, 0, sizeof(r.counts));
		r.since = GetCurrentTimestamp();
	}
	else
	{
		r.counts.calls += delta->calls;
		r.counts.pages += delta->pages;
		r.counts.bytes += delta->bytes;
		r.counts.retries += delta->retries;
		r.counts.throttled += delta->throttled;
		r.counts.errors += delta->errors;
		r.counts.cache_hits += delta->cache_hits;
		r.counts.cache_misses += delta->cache_misses;
		r.counts.cost_pico += delta->cost_pico;
	}
	r.crc = record_crc(&r);
	if (pg_pwrite(fd, &r, sizeof(r), 0) != sizeof(r))
	{
		close(fd);
		goto failed;
	}
	close(fd);					/* and the lock with it */
	return;

failed:
	ereport(WARNING,
			(errcode_for_file_access(),
			 errmsg("could not update finops_usage statistics: %m")));
}

/* Write what this backend counted */
void
fu_stats_flush(void)
{
	int			n = npending;

	/* an error while writing must not write the same counts twice */
	npending = 0;
	for (int i = 0; i < n; i++)
		update(pending[i].serverid, &pending[i].counts, false);
}

/* Count for a server, written at the end of the scan or transaction */
void
fu_stats_add(Oid serverid, const FuStats *delta)
{
	Pending    *p = NULL;

	for (int i = 0; i < npending; i++)
		if (pending[i].serverid == serverid)
			p = &pending[i];
	if (p == NULL)
	{
		if (npending == MAX_PENDING)
			fu_stats_flush();
		p = &pending[npending++];
		p->serverid = serverid;
		memset(&p->counts, 0, sizeof(p->counts));
	}
	p->counts.calls += delta->calls;
	p->counts.pages += delta->pages;
	p->counts.bytes += delta->bytes;
	p->counts.retries += delta->retries;
	p->counts.throttled += delta->throttled;
	p->counts.errors += delta->errors;
	p->counts.cache_hits += delta->cache_hits;
	p->counts.cache_misses += delta->cache_misses;
	p->counts.cost_pico += delta->cost_pico;
}

static void
stats_xact_callback(XactEvent event, void *arg)
{
	if (npending > 0 &&
		(event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		 event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT))
		fu_stats_flush();
}

void
fu_stats_init(void)
{
	RegisterXactCallback(stats_xact_callback, NULL);
}

/* USD to the pico-dollars the counters keep (exact for list prices) */
int64
fu_stats_pico(double usd)
{
	return (int64) (usd * 1e12 + 0.5);
}

/*
 * _stats_rows(): the counters of every server of this database that has
 * some, since the postmaster started or their reset.
 */
Datum
finops_usage_stats_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char		dir[MAXPGPATH];
	DIR		   *d;
	struct dirent *de;

	/* this backend's own counts first */
	fu_stats_flush();
	stats_dir(dir, false);
	InitMaterializedSRF(fcinfo, 0);
	d = AllocateDir(dir);
	if (d == NULL && errno == ENOENT)
		return (Datum) 0;
	while ((de = ReadDir(d, dir)) != NULL)
	{
		unsigned int db,
					srv;
		int			fd;
		StatsRecord r;
		Datum		values[11];
		bool		nulls[11] = {0};

		if (sscanf(de->d_name, "%u_%u", &db, &srv) != 2 || db != MyDatabaseId)
			continue;
		fd = OpenTransientFile(psprintf("%s/%s", dir, de->d_name), O_RDONLY | PG_BINARY);
		if (fd < 0)
			continue;
		while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
			;
		read_record(fd, &r);
		CloseTransientFile(fd);
		values[0] = ObjectIdGetDatum(srv);
		values[1] = Int64GetDatum(r.counts.calls);
		values[2] = Int64GetDatum(r.counts.pages);
		values[3] = Int64GetDatum(r.counts.bytes);
		values[4] = Int64GetDatum(r.counts.retries);
		values[5] = Int64GetDatum(r.counts.throttled);
		values[6] = Int64GetDatum(r.counts.errors);
		values[7] = Int64GetDatum(r.counts.cache_hits);
		values[8] = Int64GetDatum(r.counts.cache_misses);
		values[9] = Int64GetDatum(r.counts.cost_pico);
		values[10] = TimestampTzGetDatum(r.since);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	FreeDir(d);
	return (Datum) 0;
}

/* _reset_server_stats(server oid): zero a server's counters from now */
Datum
finops_usage_reset_server_stats(PG_FUNCTION_ARGS)
{
	fu_stats_flush();
	update(PG_GETARG_OID(0), NULL, true);
	PG_RETURN_VOID();
}
