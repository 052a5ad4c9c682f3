/*-------------------------------------------------------------------------
 *
 * cache.c
 *		  The result cache, shared by every connection of the cluster.
 *
 * PostgreSQL 15 has no DSM registry and the extension must work without
 * shared_preload_libraries, so the cache is a folder of files under the
 * data directory: one file per response page, written to a temporary name
 * and renamed into place (readers see a whole entry or none), checked by a
 * CRC when read (a corrupt entry is removed and fetched again).  Files are
 * not WAL-logged: the cache works in read-only transactions and on a hot
 * standby alike.
 *
 * An entry's name is <database>_<server>_<user mapping>_<key>, the key a
 * SHA-256 of the identity (server and user mapping options, hashed with
 * what the credential provider says it authenticates as) and the request
 * as sent: method, URL, body.  Two identities never share an entry, and
 * clear_cache() can tell a user's entries from their names.
 *
 * Least recently used entries go first when the folder outgrows
 * finops_usage.cache_size: a hit touches the file's modification time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "access/xact.h"
#include "commands/defrem.h"
#include "common/file_perm.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "engine.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#define CACHE_MAGIC		0x46554331	/* "FUC1" */
#define CACHE_VERSION	1
#define CACHE_FINAL		0x01

int			fu_cache_ttl = 3600;
int			fu_cache_ttl_final = 86400;
int			fu_cache_size_mb = 256;

/* An entry: this header, the key, the body */
typedef struct CacheHeader
{
	uint32		magic;
	uint32		version;
	TimestampTz created;
	int32		status;
	uint32		flags;
	uint32		key_len;
	uint32		pad;
	uint64		body_len;
	pg_crc32c	crc;			/* of the header before it, the key, the body */
} CacheHeader;

PG_FUNCTION_INFO_V1(finops_usage_clear_cache);

/* The cache's folders, made on first use */
static const char *
cache_dir(bool create)
{
	static char *dir = NULL;

	if (dir == NULL)
		dir = MemoryContextStrdup(TopMemoryContext,
								  psprintf("%s/finops_usage/cache", DataDir));
	if (create)
	{
		char	   *parent = psprintf("%s/finops_usage", DataDir);

		if (MakePGDirectory(parent) < 0 && errno != EEXIST)
			return NULL;
		if (MakePGDirectory(dir) < 0 && errno != EEXIST)
			return NULL;
	}
	return dir;
}

static void
hex(const uint8 *bytes, int n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < n; i++)
	{
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
sha256_hex(const char *data, size_t len, char *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (ctx == NULL ||
		pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute a SHA-256 hash");
	pg_cryptohash_free(ctx);
	hex(digest, sizeof(digest), out);
}

static void
append_options(StringInfo buf, List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);

		appendStringInfo(buf, "%s=%s", d->defname, defGetString(d));
		appendStringInfoChar(buf, '\0');
	}
}

/*
 * The identity a sender's entries belong to: its server and user mapping,
 * with every option (secrets included: a key replaced by another one is
 * another identity; only their hash is kept) and what the credential
 * provider says it authenticates as, without a network call.
 */
static const char *
sender_identity(FuSender *sender)
{
	if (sender->cache_identity == NULL)
	{
		StringInfoData buf;
		char	   *who;
		char		digest[PG_SHA256_DIGEST_LENGTH * 2 + 1];

		initStringInfo(&buf);
		appendStringInfo(&buf, "%u/%u/%u", MyDatabaseId, sender->server->serverid,
						 sender->user ? sender->user->umid : InvalidOid);
		appendStringInfoChar(&buf, '\0');
		append_options(&buf, sender->server->options);
		appendStringInfoChar(&buf, '\0');
		if (sender->user)
			append_options(&buf, sender->user->options);
		appendStringInfoChar(&buf, '\0');
		who = fu_auth_describe(sender->provider, sender->server, sender->user);
		if (who)
			appendStringInfoString(&buf, who);
		appendStringInfoChar(&buf, '\0');
		who = fu_auth_principal(sender->provider, sender->server, sender->user);
		if (who)
			appendStringInfoString(&buf, who);
		sha256_hex(buf.data, buf.len, digest);
		sender->cache_identity = MemoryContextStrdup(sender->cxt, digest);
		pfree(buf.data);
	}
	return sender->cache_identity;
}

/* The key of a request as it will be sent, and the entry's file name */
static char *
request_key(FuSender *sender, FuRequest *req, char **path)
{
	StringInfoData key;
	char		digest[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	const char *body = req->cache_body ? req->cache_body : req->body;
	size_t		body_len = req->cache_body ? strlen(req->cache_body) :
		(req->body ? req->body_len : 0);
	ListCell   *lc;

	initStringInfo(&key);
	appendStringInfo(&key, "%s\n%s %s\n", sender_identity(sender), req->method,
					 fu_request_url(req));
	/* the provider's headers (an operation's name), not the signature's */
	foreach(lc, req->headers)
		appendStringInfo(&key, "%s\n", (char *) lfirst(lc));
	appendStringInfoChar(&key, '\n');
	if (body)
		appendBinaryStringInfo(&key, body, body_len);
	sha256_hex(key.data, key.len, digest);
	/*
	 * Half the hash is plenty to spread entries (the key is compared when
	 * read), and keeps every path under the data directory, lock and
	 * temporary files included, within the 99 bytes pg_basebackup's tar
	 * format allows
	 */
	digest[32] = '\0';
	*path = psprintf("%s/%u_%u_%u_%s", cache_dir(false), MyDatabaseId,
					 sender->server->serverid,
					 sender->user ? sender->user->umid : InvalidOid, digest);
	return key.data;
}

static pg_crc32c
entry_crc(const CacheHeader *h, const char *key, const char *body)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, h, offsetof(CacheHeader, crc));
	COMP_CRC32C(crc, key, h->key_len);
	COMP_CRC32C(crc, body, h->body_len);
	FIN_CRC32C(crc);
	return crc;
}

bool
fu_cache_enabled(void)
{
	return fu_cache_ttl > 0;
}

static bool
read_all(int fd, void *buf, size_t len)
{
	char	   *p = buf;

	while (len > 0)
	{
		ssize_t		n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* Remove a corrupt entry, unless a writer has replaced it since */
static void
unlink_if_same(const char *path, const struct stat *read)
{
	struct stat now;

	if (stat(path, &now) == 0 && now.st_ino == read->st_ino &&
		now.st_dev == read->st_dev)
		(void) unlink(path);
}

/*
 * Look an entry up.  A hit fills req->http as an answer would (status,
 * body), touches the entry and returns true.  An entry older than this
 * session's TTL is not used; a corrupt one is removed.  With probe, only
 * say whether there is a usable entry, reading its header.
 */
static bool
cache_read(FuSender *sender, FuRequest *req, const char *key, const char *path,
		   bool probe)
{
	int			fd;
	struct stat st;
	CacheHeader h;
	char	   *stored_key = NULL;
	char	   *body = NULL;
	bool		corrupt = false;
	bool		hit = false;
	int64		ttl;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !read_all(fd, &h, sizeof(h)) ||
		h.magic != CACHE_MAGIC || h.version != CACHE_VERSION ||
		h.key_len > MaxAllocSize || h.body_len > MaxAllocHugeSize ||
		st.st_size != (off_t) (sizeof(h) + h.key_len + h.body_len))
		corrupt = true;
	else
	{
		ttl = (h.flags & CACHE_FINAL) ? fu_cache_ttl_final : fu_cache_ttl;
		if (GetCurrentTimestamp() - h.created > ttl * USECS_PER_SEC ||
			h.created > GetCurrentTimestamp() + USECS_PER_SEC)
			;					/* too old for this reader */
		else if (probe)
			hit = true;
		else
		{
			stored_key = palloc(h.key_len + 1);
			body = MemoryContextAllocHuge(sender->cxt, h.body_len + 1);
			if (!read_all(fd, stored_key, h.key_len) ||
				!read_all(fd, body, h.body_len) ||
				entry_crc(&h, stored_key, body) != h.crc)
				corrupt = true;
			else if (h.key_len == strlen(key) &&
					 memcmp(stored_key, key, h.key_len) == 0)
				hit = true;		/* else another request with the same hash */
		}
	}
	CloseTransientFile(fd);
	if (stored_key)
		pfree(stored_key);
	if (corrupt)
		unlink_if_same(path, &st);
	if (!hit || probe)
	{
		if (body)
			pfree(body);
		return hit;
	}
	body[h.body_len] = '\0';
	req->http.status = h.status;
	req->http.resp = body;
	req->http.resp_len = h.body_len;
	req->http.attempts = 0;
	req->http.throttles = 0;
	req->http.failed = false;
	(void) utime(path, NULL);	/* recently used */
	return true;
}

static bool
cache_get(FuSender *sender, FuRequest *req, bool probe)
{
	char	   *path;
	char	   *key;
	bool		hit;

	if (!fu_cache_enabled())
		return false;
	key = request_key(sender, req, &path);
	hit = cache_read(sender, req, key, path, probe);
	pfree(key);
	pfree(path);
	return hit;
}

/* Read a request's answer from the cache (false: it is gone) */
bool
fu_cache_get(FuSender *sender, FuRequest *req)
{
	return cache_get(sender, req, false);
}

/* Is there an answer to a request, young enough for this session? */
bool
fu_cache_probe(FuSender *sender, FuRequest *req)
{
	return cache_get(sender, req, true);
}

/*
 * Connections that miss the same page at once fetch it once: the first
 * takes an exclusive flock on the entry's ".l" file until the page is
 * stored; the others wait for the lock, then read the entry.
 *
 * A backend that holds a claim never waits for one (two scans, of one
 * backend or of two, each holding a page the other waits for would wait
 * forever, and flock locks of one process block each other), and nobody
 * waits longer than one attempt of a request may take: a claim held by an
 * idle cursor costs a second fetch, not a hung query.  At most
 * max_concurrency claims are held at once.  Claims are plain descriptors
 * (counted with AcquireExternalFD), closed when the page is stored and at
 * the end of the transaction whatever happens.
 */
static List *held_claims = NIL;		/* int fds, in TopMemoryContext */

static void
claims_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	foreach(lc, held_claims)
	{
		close(lfirst_int(lc));
		ReleaseExternalFD();
	}
	list_free(held_claims);
	held_claims = NIL;
}

static void
claim_keep(FuRequest *req, int fd)
{
	static bool registered = false;
	MemoryContext old;

	if (!registered)
	{
		RegisterXactCallback(claims_xact_callback, NULL);
		registered = true;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	held_claims = lappend_int(held_claims, fd);
	MemoryContextSwitchTo(old);
	req->cache_lock = fd;
}

/* Give up a claim (the page is stored, or will not be) */
void
fu_cache_release(FuRequest *req)
{
	if (req->cache_lock < 0)
		return;
	if (list_member_int(held_claims, req->cache_lock))
	{
		held_claims = list_delete_int(held_claims, req->cache_lock);
		close(req->cache_lock);
		ReleaseExternalFD();
	}
	req->cache_lock = -1;
}

/*
 * Claim a request's page before fetching it.  Returns true when, after
 * waiting for another connection's fetch, the entry was there: req is
 * answered.
 */
bool
fu_cache_claim(FuSender *sender, FuRequest *req)
{
	char	   *path;
	char	   *key;
	char	   *lock;
	int			fd;
	bool		hit = false;
	TimestampTz deadline;

	if (!fu_cache_enabled() || req->cache_lock >= 0 ||
		list_length(held_claims) >= fu_max_concurrency ||
		cache_dir(true) == NULL || !AcquireExternalFD())
		return false;
	key = request_key(sender, req, &path);
	lock = psprintf("%s.l", path);
	fd = open(lock, O_RDWR | O_CREAT | PG_BINARY, pg_file_create_mode);
	pfree(lock);
	if (fd < 0)
	{
		ReleaseExternalFD();
		goto out;
	}
	/* a lock file in use stays young: eviction removes old ones */
	(void) futimens(fd, NULL);
	deadline = GetCurrentTimestamp() + (TimestampTz) fu_request_timeout_ms * 1000;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		if ((errno != EWOULDBLOCK && errno != EINTR) || held_claims != NIL ||
			GetCurrentTimestamp() > deadline)
		{
			/* fetch it without a claim */
			close(fd);
			ReleaseExternalFD();
			goto out;
		}
		/* another connection is fetching it: wait for its answer */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (cache_read(sender, req, key, path, false))
		{
			close(fd);
			ReleaseExternalFD();
			hit = true;
			goto out;
		}
	}
	if (cache_read(sender, req, key, path, false))
	{
		close(fd);
		ReleaseExternalFD();
		hit = true;
	}
	else
		claim_keep(req, fd);
out:
	pfree(key);
	pfree(path);
	return hit;
}

typedef struct CacheFile
{
	char	   *name;
	time_t		mtime;
	off_t		size;
} CacheFile;

static int
cmp_mtime(const void *a, const void *b)
{
	const CacheFile *x = a;
	const CacheFile *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Keep the folder within finops_usage.cache_size: remove the least
 * recently used entries, and temporary files an interrupted writer left.
 */
static void
evict(const char *dir)
{
	DIR		   *d;
	struct dirent *de;
	CacheFile  *files = NULL;
	int			n = 0;
	int			cap = 0;
	uint64		total = 0;
	uint64		limit = (uint64) fu_cache_size_mb * 1024 * 1024;
	time_t		now = time(NULL);

	d = AllocateDir(dir);
	if (d == NULL)
		return;					/* removed meanwhile: nothing to keep small */
	while ((de = ReadDir(d, dir)) != NULL)
	{
		char	   *path;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		path = psprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		{
			pfree(path);
			continue;
		}
		if (strchr(de->d_name, '.') != NULL)	/* a lock or a temporary file */
		{
			if (now - st.st_mtime > 3600)
				(void) unlink(path);
			pfree(path);
			continue;
		}
		if (n == cap)
		{
			cap = cap ? cap * 2 : 64;
			files = files ? repalloc(files, cap * sizeof(CacheFile)) :
				palloc(cap * sizeof(CacheFile));
		}
		files[n].name = path;
		files[n].mtime = st.st_mtime;
		files[n].size = st.st_size;
		total += st.st_size;
		n++;
	}
	FreeDir(d);
	if (total > limit)
	{
		qsort(files, n, sizeof(CacheFile), cmp_mtime);
		for (int i = 0; i < n && total > limit; i++)
		{
			if (unlink(files[i].name) == 0 || errno == ENOENT)
				total -= files[i].size;
		}
	}
	for (int i = 0; i < n; i++)
		pfree(files[i].name);
	if (files)
		pfree(files);
}

static bool
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC; /* a short write sets no errno */
			return false;
		}
		p += n;
		len -= n;
	}
	return true;
}

/*
 * The key of a request's answer, taken when the answer arrives: parsing it
 * turns the request into the next page's.
 */
FuCacheKey *
fu_cache_key(FuSender *sender, FuRequest *req)
{
	FuCacheKey *k = palloc(sizeof(FuCacheKey));

	k->key = request_key(sender, req, &k->path);
	return k;
}

/*
 * A cache that cannot be written costs the next query a fetch, not this
 * one its rows: say so once per session, then in the server log only.
 */
static void
write_failed(const char *what, const char *path)
{
	static bool warned = false;

	ereport(warned ? LOG : WARNING,
			(errcode_for_file_access(),
			 errmsg("could not %s \"%s\": %m", what, path),
			 errdetail("The finops_usage result cache is not written.")));
	warned = true;
}

/* bytes this backend stored since it last kept the directory small */
static uint64 stored_since_evict = 0;

/*
 * Store an answer of a request (its status and body as received), final
 * when the provider marked every row of it final.
 */
void
fu_cache_put(FuCacheKey *k, FuRequest *req, const char *body, size_t len,
			 bool final)
{
	static uint32 counter = 0;
	const char *dir;
	char	   *path = k->path;
	char	   *key = k->key;
	char	   *tmp = NULL;
	CacheHeader h;
	int			fd = -1;
	bool		ok;
	uint64		limit = (uint64) fu_cache_size_mb * 1024 * 1024;

	if (!fu_cache_enabled() || sizeof(h) + strlen(key) + (uint64) len > limit)
		return;
	dir = cache_dir(true);
	if (dir == NULL)
	{
		write_failed("create directory", psprintf("%s/finops_usage/cache", DataDir));
		return;
	}
	memset(&h, 0, sizeof(h));
	h.magic = CACHE_MAGIC;
	h.version = CACHE_VERSION;
	h.created = GetCurrentTimestamp();
	h.status = (int32) req->http.status;
	h.flags = final ? CACHE_FINAL : 0;
	h.key_len = strlen(key);
	h.body_len = len;
	h.crc = entry_crc(&h, key, body);

	/* a name a crashed backend of the same pid left is skipped */
	for (int tries = 0; tries < 10 && fd < 0; tries++)
	{
		tmp = psprintf("%s/t.%d.%u", dir, MyProcPid, counter++);
		fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
	{
		write_failed("create file", tmp);
		return;
	}
	ok = write_all(fd, &h, sizeof(h)) && write_all(fd, key, h.key_len) &&
		write_all(fd, body, len);
	if (CloseTransientFile(fd) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0)
	{
		write_failed("write file", ok ? path : tmp);
		(void) unlink(tmp);
		return;
	}

	/*
	 * Keeping the directory within cache_size reads all of it: do it when
	 * this backend has stored a sixteenth of the size, and when its scan
	 * ends (fu_cache_trim)
	 */
	stored_since_evict += sizeof(h) + h.key_len + len;
	if (stored_since_evict >= limit / 16)
		fu_cache_trim();
}

/* Keep the directory within cache_size, if this backend stored anything */
void
fu_cache_trim(void)
{
	if (stored_since_evict == 0)
		return;
	stored_since_evict = 0;
	evict(cache_dir(false));
}

/*
 * clear_cache(): remove entries, and return how many.  A superuser
 * removes every entry; anyone else only those of the user mappings its
 * own queries use, in this database.
 */
Datum
finops_usage_clear_cache(PG_FUNCTION_ARGS)
{
	const char *dir = cache_dir(false);
	bool		all = superuser();
	DIR		   *d;
	struct dirent *de;
	int64		removed = 0;

	d = AllocateDir(dir);
	if (d == NULL && errno == ENOENT)
		PG_RETURN_INT64(0);
	while ((de = ReadDir(d, dir)) != NULL)
	{
		unsigned int db,
					srv,
					um;
		int			len;

		bool		lock;

		/* entries and their lock files; temporary files are left alone */
		if (sscanf(de->d_name, "%u_%u_%u_%n", &db, &srv, &um, &len) != 3)
			continue;
		lock = strchr(de->d_name, '.') != NULL;
		if (!all && (db != MyDatabaseId || um == InvalidOid ||
					 fu_mapping_oid(GetUserId(), srv) != um ||
					 pg_foreign_server_aclcheck(srv, GetUserId(), ACL_USAGE) != ACLCHECK_OK))
			continue;
		/* a lock file removed while held costs at most a second fetch */
		if (unlink(psprintf("%s/%s", dir, de->d_name)) == 0 && !lock)
			removed++;
	}
	FreeDir(d);
	PG_RETURN_INT64(removed);
}
