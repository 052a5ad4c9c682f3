"""The Azure estate of "Northwind Robotics" and its Azure Monitor metric data.

Pure data and pure functions (nothing depends on the wall clock or the emulator's
"today"; the API modules decide what exists "now").

Subscriptions
    5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61  Northwind Production  (rg-web, rg-data, rg-batch, rg-ml)
    c7d3a9b2-1e4f-4a8c-b5d6-9e0f1a2b3c4d  Northwind Dev         (rg-dev)

Resources (ARM ids in ARM's casing: /subscriptions/<s>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>)
    125 VMs batch-worker-001..125   rg-batch  westeurope  Standard_D4s_v5 (001-040 covered by a reservation)
    VMs web-1 (westeurope), web-2 (northeurope), web-3 (eastus, untagged), api-1 (westeurope)  rg-web
    VM  ml-gpu-1  rg-ml   eastus       Standard_NC6s_v3  -- nearly idle (an expensive GPU box nobody uses)
    VM  dev-1     rg-dev  northeurope  Standard_B2ms     -- nearly idle (dev subscription)
    SQL databases nw-sql/orders, nw-sql/warehouse  rg-data westeurope
    storage accounts nwwebassets (rg-web westeurope), nwdatalake (rg-data westeurope), nwdevscratch (rg-dev northeurope, untagged)
    App Service sites nw-web-frontend (rg-web westeurope), nw-api-gateway (rg-web northeurope)

Metric samples: one per resource, metric and UTC minute (the minute's start time), a
deterministic function of (resource, metric, minute): a daily cycle in the resource's
local time, a weekend dip, hash noise.  Samples are integers in the metric's `scale`
(1000 for Percent/Seconds metrics, 1 for Bytes/Count), so bucket sums are exact.
Gap: no sample of any metric of any resource between 03:00 and 03:59 UTC on the 1st
of every month (platform maintenance).
"""

import datetime
import functools
import hashlib
import math

PROD = "5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61"
DEV = "c7d3a9b2-1e4f-4a8c-b5d6-9e0f1a2b3c4d"
SUBSCRIPTIONS = {PROD: "Northwind Production", DEV: "Northwind Dev"}
RESOURCE_GROUPS = {PROD: ("rg-web", "rg-data", "rg-batch", "rg-ml"), DEV: ("rg-dev",)}
LOCATIONS = ("westeurope", "northeurope", "eastus")
_TZ = {"westeurope": 1, "northeurope": 0, "eastus": -5}

VM = "Microsoft.Compute/virtualMachines"
SQLDB = "Microsoft.Sql/servers/databases"
STORAGE = "Microsoft.Storage/storageAccounts"
SITE = "Microsoft.Web/sites"
TYPES = (VM, SQLDB, STORAGE, SITE)
TYPE_ALIASES = {"virtual_machine": VM, "sql_database": SQLDB, "storage_account": STORAGE, "app_service": SITE}

M64 = (1 << 64) - 1
RETENTION_MINUTES = 93 * 1440


def _seed(*parts):
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _mix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def u01(seed, n):
    return _mix(seed ^ ((n * 0x100000001B3) & M64)) / 18446744073709551616.0


class Resource:
    __slots__ = ("sub", "rg", "type", "name", "location", "tags", "profile", "attrs", "id", "key", "seed", "index")

    def __init__(self, sub, rg, rtype, name, location, tags, profile, **attrs):
        self.sub, self.rg, self.type, self.name, self.location = sub, rg, rtype, name, location
        self.tags = tags
        self.profile = profile
        self.attrs = attrs
        ns, _, kind = rtype.partition("/")
        if rtype == SQLDB:
            server, db = name.split("/")
            path = "servers/%s/databases/%s" % (server, db)
        else:
            path = "%s/%s" % (kind, name)
        self.id = "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (sub, rg, ns, path)
        self.key = self.id.lower()
        self.seed = _seed("azure-resource", self.key)
        self.index = 0

    @property
    def short_name(self):
        return self.name.split("/")[-1]

    def __repr__(self):
        return "Resource(%s)" % self.id


def _tags(env, team, **more):
    t = {"env": env, "team": team}
    t.update(more)
    return t


RESOURCES = []
for _i in range(1, 126):
    RESOURCES.append(Resource(PROD, "rg-batch", VM, "batch-worker-%03d" % _i, "westeurope",
                              _tags("prod", "batch", **{"cost-center": "cc-4100"}), "batch",
                              size="Standard_D4s_v5", reserved=_i <= 40))
RESOURCES += [
    Resource(PROD, "rg-web", VM, "web-1", "westeurope", _tags("prod", "web"), "web", size="Standard_D2s_v5"),
    Resource(PROD, "rg-web", VM, "web-2", "northeurope", _tags("prod", "web"), "web", size="Standard_D2s_v5"),
    Resource(PROD, "rg-web", VM, "web-3", "eastus", {}, "web", size="Standard_D2s_v5"),
    Resource(PROD, "rg-web", VM, "api-1", "westeurope", _tags("prod", "platform"), "api", size="Standard_D8s_v5"),
    Resource(PROD, "rg-ml", VM, "ml-gpu-1", "eastus", _tags("prod", "ml"), "idle", size="Standard_NC6s_v3"),
    Resource(DEV, "rg-dev", VM, "dev-1", "northeurope", _tags("dev", "platform"), "idle", size="Standard_B2ms"),
    Resource(PROD, "rg-data", SQLDB, "nw-sql/orders", "westeurope", _tags("prod", "data"), "oltp", vcores=4,
             max_gb=250),
    Resource(PROD, "rg-data", SQLDB, "nw-sql/warehouse", "westeurope", _tags("prod", "data"), "analytics",
             vcores=8, max_gb=1024),
    Resource(PROD, "rg-web", STORAGE, "nwwebassets", "westeurope", _tags("prod", "web"), "web", gb=800,
             sku="Standard_LRS"),
    Resource(PROD, "rg-data", STORAGE, "nwdatalake", "westeurope", _tags("prod", "data"), "analytics", gb=24000,
             sku="Standard_LRS"),
    Resource(DEV, "rg-dev", STORAGE, "nwdevscratch", "northeurope", {}, "idle", gb=150, sku="Standard_LRS"),
    Resource(PROD, "rg-web", SITE, "nw-web-frontend", "westeurope", _tags("prod", "web"), "web", instances=3),
    Resource(PROD, "rg-web", SITE, "nw-api-gateway", "northeurope", _tags("prod", "platform"), "api", instances=2),
]
for _i, _r in enumerate(RESOURCES):
    _r.index = _i
BY_KEY = {r.key: r for r in RESOURCES}
IDLE = [r for r in RESOURCES if r.type == VM and r.profile == "idle"]


def find(resource_id):
    """The Resource of an ARM id (case-insensitive, trailing slash ignored), or None."""
    return BY_KEY.get(resource_id.rstrip("/").lower())


# --- metric catalogue -------------------------------------------------------------------------

class MetricDef:
    __slots__ = ("name", "localized", "unit", "description", "scale", "primary", "kind", "lo", "hi", "seed", "index")

    def __init__(self, name, localized, unit, description, primary, kind, lo, hi):
        self.name, self.localized, self.unit, self.description = name, localized, unit, description
        self.scale = 1000 if unit in ("Percent", "Seconds") else 1
        self.primary = primary      # the default aggregation ("Average" / "Total")
        self.kind = kind            # "cycle": lo..hi following the daily cycle; "flat": around lo..hi
        self.lo, self.hi = lo, hi
        self.seed = _seed("azure-metric", name)
        self.index = 0


_M = MetricDef
METRICS = {
    VM: [
        _M("Percentage CPU", "Percentage CPU", "Percent",
           "The percentage of allocated compute units that are currently in use by the Virtual Machine(s)",
           "Average", "cycle", 8.0, 70.0),
        _M("Network In Total", "Network In Total", "Bytes",
           "The number of bytes received on all network interfaces by the Virtual Machine(s) (Incoming Traffic)",
           "Total", "cycle", 2e6, 4e7),
        _M("Network Out Total", "Network Out Total", "Bytes",
           "The number of bytes out on all network interfaces by the Virtual Machine(s) (Outgoing Traffic)",
           "Total", "cycle", 1e6, 3e7),
        _M("Disk Read Bytes", "Disk Read Bytes", "Bytes", "Bytes read from disk during monitoring period",
           "Total", "cycle", 5e5, 2e7),
        _M("Disk Write Bytes", "Disk Write Bytes", "Bytes", "Bytes written to disk during monitoring period",
           "Total", "cycle", 5e5, 3e7),
        _M("Available Memory Bytes", "Available Memory Bytes", "Bytes",
           "Amount of physical memory, in bytes, immediately available for allocation to a process or for "
           "system use in the Virtual Machine", "Average", "flat", 2e9, 6e9),
    ],
    SQLDB: [
        _M("cpu_percent", "CPU percentage", "Percent", "CPU percentage", "Average", "cycle", 5.0, 65.0),
        _M("dtu_consumption_percent", "DTU percentage", "Percent", "DTU Percentage. Applies to DTU-based databases.",
           "Average", "cycle", 4.0, 60.0),
        _M("storage", "Data space used", "Bytes", "Data space used. Not applicable to data warehouses.",
           "Maximum", "flat", 6e10, 6.5e10),
        _M("storage_percent", "Data space used percent", "Percent",
           "Data space used percent. Not applicable to data warehouses or hyperscale databases.",
           "Maximum", "flat", 24.0, 27.0),
        _M("connection_successful", "Successful Connections", "Count", "Successful Connections", "Total", "cycle",
           2.0, 40.0),
    ],
    STORAGE: [
        _M("Transactions", "Transactions", "Count",
           "The number of requests made to a storage service or the specified API operation. This number includes "
           "successful and failed requests, as well as requests which produced errors. Use ResponseType dimension "
           "for the number of different type of response.", "Total", "cycle", 20.0, 900.0),
        _M("UsedCapacity", "Used capacity", "Bytes", "The amount of storage used by the storage account. For standard "
           "storage accounts, it's the sum of capacity used by blob, table, file, and queue. For premium storage "
           "accounts and Blob storage accounts, it is the same as BlobCapacity or FileCapacity.",
           "Average", "flat", 0.0, 0.0),
        _M("Availability", "Availability", "Percent",
           "The percentage of availability for the storage service or the specified API operation. Availability is "
           "calculated by taking the TotalBillableRequests value and dividing it by the number of applicable "
           "requests, including those that produced unexpected errors. All unexpected errors result in reduced "
           "availability for the storage service or the specified API operation.", "Average", "flat", 99.9, 100.0),
        _M("Ingress", "Ingress", "Bytes", "The amount of ingress data, in bytes. This number includes ingress from an "
           "external client into Azure Storage as well as ingress within Azure.", "Total", "cycle", 1e5, 5e7),
        _M("Egress", "Egress", "Bytes", "The amount of egress data. This number includes egress to external client "
           "from Azure Storage as well as egress within Azure. As a result, this number does not reflect billable "
           "egress.", "Total", "cycle", 1e5, 8e7),
    ],
    SITE: [
        _M("CpuTime", "CPU Time", "Seconds", "The amount of CPU consumed by the app, in seconds.", "Total", "cycle",
           0.5, 30.0),
        _M("Requests", "Requests", "Count", "The total number of requests regardless of their resulting HTTP status "
           "code.", "Total", "cycle", 50.0, 3000.0),
        _M("HttpResponseTime", "Response Time", "Seconds", "The time taken for the app to serve requests, in "
           "seconds.", "Average", "flat", 0.08, 0.35),
        _M("BytesReceived", "Data In", "Bytes", "The amount of incoming bandwidth consumed by the app, in MiB.",
           "Total", "cycle", 1e5, 2e7),
        _M("BytesSent", "Data Out", "Bytes", "The amount of outgoing bandwidth consumed by the app, in MiB.",
           "Total", "cycle", 5e5, 9e7),
    ],
}
for _t, _ms in METRICS.items():
    for _i, _m in enumerate(_ms):
        _m.index = _i
METRIC_BY_NAME = {t: {m.name.lower(): m for m in ms} for t, ms in METRICS.items()}

# how busy each profile is (multiplies the metric's lo..hi range); idle boxes sit near the floor
_LEVEL = {"batch": 1.0, "web": 0.7, "api": 0.8, "oltp": 0.8, "analytics": 1.0, "idle": 0.0}
# the daily cycle (local hour -> 0..1)
_CYCLE = [0.5 - 0.5 * math.cos(2 * math.pi * max(0.0, min(1.0, (h - 6) / 16.0))) for h in range(24)]


def in_gap(minute):
    """The monthly maintenance gap: 03:00-03:59 UTC on the 1st of each month (minute = epoch // 60)."""
    day = minute // 1440
    if (minute % 1440) // 60 != 3:
        return False
    return datetime.date.fromordinal(719163 + day).day == 1


def _idle_value(r, m, u):
    """Nearly idle: CPU 0.3-1.9 %, tiny traffic; memory mostly free."""
    if m.unit == "Percent":
        return 0.3 + 1.6 * u
    if m.name == "Available Memory Bytes":
        return m.hi * (0.92 + 0.05 * u)
    return m.lo * 0.02 * (0.5 + u)


def sample(r, m, minute):
    """The raw sample (an int, in m.scale units) of resource r, metric m at the UTC minute
    starting at minute*60; None in the maintenance gap.  Pure: no clock involved."""
    if in_gap(minute):
        return None
    u = u01(r.seed ^ m.seed, minute)
    if m.name == "UsedCapacity":
        days = minute / 1440.0 - 20089          # 2025-01-01
        gb = r.attrs["gb"] * (1.0 + 0.0008 * days)
        return int(gb * 1073741824) + int(u * 1048576)
    if m.name == "storage":
        days = minute / 1440.0 - 20089
        base = r.attrs["max_gb"] * (0.24 + 0.00002 * days) * 1073741824
        return int(base + u * 1e7)
    if m.name == "storage_percent":
        days = minute / 1440.0 - 20089
        return int(1000 * (24.0 + 0.002 * days + 0.05 * u))
    if m.name == "Availability":
        return 100000 if u < 0.995 else int(1000 * (99.0 + u))
    if r.profile == "idle":
        v = _idle_value(r, m, u)
    else:
        level = _LEVEL[r.profile]
        if m.kind == "flat":
            v = m.lo + (m.hi - m.lo) * u
        else:
            hour = ((minute // 60) + _TZ[r.location]) % 24
            c = _CYCLE[hour]
            if r.profile == "batch":            # batch runs at night, hard
                c = 1.0 - 0.7 * c
            weekday = ((minute // 1440) + 3) % 7       # 0 = Monday
            if weekday >= 5:
                c *= 0.55
            v = (m.lo + (m.hi - m.lo) * level * c) * (0.8 + 0.4 * u)
            if m.unit == "Percent":
                v = min(v, 99.5)
    return int(v * m.scale) if m.scale != 1 else int(v)


@functools.lru_cache(maxsize=262144)
def hour_agg(ri, mi, hour):
    """(sum, count, min, max) of the samples of RESOURCES[ri], its metric mi, in UTC hour `hour`
    (epoch // 3600); None when the hour has no sample."""
    r = RESOURCES[ri]
    m = METRICS[r.type][mi]
    return minutes_agg(r, m, hour * 60, hour * 60 + 60)


def minutes_agg(r, m, lo, hi):
    """(sum, count, min, max) over the minutes lo <= t < hi, or None."""
    s = n = 0
    mn = mx = None
    for t in range(lo, hi):
        v = sample(r, m, t)
        if v is None:
            continue
        s += v
        n += 1
        if mn is None or v < mn:
            mn = v
        if mx is None or v > mx:
            mx = v
    return None if n == 0 else (s, n, mn, mx)


def _merge(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (a[0] + b[0], a[1] + b[1], min(a[2], b[2]), max(a[3], b[3]))


def aggregate(r, m, lo, hi):
    """(sum, count, min, max) of the samples with lo <= t < hi (minutes), whole hours from a cache."""
    if hi <= lo:
        return None
    first_full = -(-lo // 60) * 60
    last_full = (hi // 60) * 60
    if first_full >= last_full:
        return minutes_agg(r, m, lo, hi)
    acc = minutes_agg(r, m, lo, first_full)
    for h in range(first_full // 60, last_full // 60):
        acc = _merge(acc, hour_agg(r.index, m.index, h))
    return _merge(acc, minutes_agg(r, m, last_full, hi))


def resources_of(sub=None, rg=None, rtype=None, location=None):
    out = []
    for r in RESOURCES:
        if sub is not None and r.sub.lower() != sub.lower():
            continue
        if rg is not None and r.rg.lower() != rg.lower():
            continue
        if rtype is not None and r.type.lower() != rtype.lower():
            continue
        if location is not None and r.location.lower() != location.lower():
            continue
        out.append(r)
    return out
