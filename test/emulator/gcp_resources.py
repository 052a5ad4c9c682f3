"""The Google Cloud estate of "Northwind Robotics" and its Cloud Monitoring data.

The inventory matches the billing export (gcp_billing.py) where they meet: the same
projects and project numbers, N2 machines in prod's us-central1-a/-b and europe-west1-b,
A2 (A100) training machines in northwind-ml's us-central1-a, prod's zonal GKE cluster in
us-central1-a, Cloud SQL in us-central1 (prod) and europe-west1 (data), buckets in the
US multi-region (prod, data) and europe-west1 (ml).

Pure data and pure functions: a fixed inventory (projects, GCE instances, Cloud
SQL databases, GCS buckets, GKE containers), a metric catalogue (type, kind,
value type, unit, labels, sample period) and a generator that gives the raw
sample of any series at any time as a function of (series, time) only:
hash noise of (series, minute), a daily cycle in the resource's local time, a
weekend dip and slow growth.  Nothing depends on the wall clock or the
emulator's "today"; the API (gcp_monitoring.py) and the expectation endpoint
(control.py) decide which samples exist "now": those whose end time t is a
multiple of the series' sample period with now - 42 days < t <= now.

Public API
----------
PROJECTS                 {project id: project number}
RESOURCES                every Resource, stable order
METRICS                  {metric type: MetricDef}, catalogue order
series_of(metric_type)   the Series of a type (stable order), [] when unknown
value(s, t)              the raw sample ending at t (int, float or Distribution), None = no point
increment(s, t)          CUMULATIVE: what the sample ending at t added since the previous one
reset_time(s, t)         CUMULATIVE: the start of the run the sample ending at t belongs to
samples(s, lo, hi)       [(t, value)] for sample ends t in (lo, hi], ascending, absent ones skipped
window(now)              (lo, hi): raw data exists for lo < t <= hi
"""

import functools
import hashlib
import math

DAY = 86400
YEAR = 365 * DAY
RETENTION = 42 * DAY            # Cloud Monitoring keeps most metrics six weeks
T0 = 1704067200                 # 2024-01-01T00:00:00Z: the origin of slow growth
TAU = 2 * math.pi
M64 = (1 << 64) - 1

# the same numbers as the billing export (gcp_billing.py)
PROJECTS = {"northwind-prod": "412730194385", "northwind-ml": "587201938466", "northwind-data": "730194385520"}
PROJECT_OF_NUMBER = {v: k for k, v in PROJECTS.items()}

# the label that identifies a resource of each type (the FDW's resource_id)
ID_LABEL = {"gce_instance": "instance_id", "cloudsql_database": "database_id", "gcs_bucket": "bucket_name",
            "k8s_container": "container_name"}
RESOURCE_TYPES = tuple(ID_LABEL)
# local time offset (hours) of a zone's or region's working day
_TZ = {"us-central1": -6, "europe-west1": 1, "us": -6}


def _seed(*parts):
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _mix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def _u(seed, n, tag=0):
    """Uniform [0, 1) from (seed, n, tag): integer arithmetic only."""
    return _mix(seed ^ ((n * 0x100000001B3 + tag * 0x9E3779B1) & M64)) / 18446744073709551616.0


def instance_id(name):
    """A 19-digit numeric instance id, as GCE assigns them."""
    return str(1000000000000000000 + _seed("gce-instance-id", name) % 8999999999999999999)


# --- inventory ----------------------------------------------------------------------------------

class Resource:
    __slots__ = ("type", "project", "name", "labels", "rid", "profile", "attrs", "tz", "seed")

    def __init__(self, rtype, project, name, labels, profile, tz, **attrs):
        self.type = rtype
        self.project = project
        self.name = name
        self.labels = dict(project_id=project, **labels)
        self.rid = self.labels[ID_LABEL[rtype]]
        self.profile = profile
        self.tz = tz
        self.attrs = attrs
        self.seed = _seed("gcp-resource", rtype, self.rid)

    def __repr__(self):
        return "Resource(%s %s)" % (self.type, self.rid)


def _gce(project, name, zone, machine, profile):
    return Resource("gce_instance", project, name, {"instance_id": instance_id(name), "zone": zone}, profile,
                    _TZ[zone.rsplit("-", 1)[0]], machine_type=machine)


INSTANCES = [
    _gce("northwind-prod", "web-1", "us-central1-a", "n2-standard-4", "web"),
    _gce("northwind-prod", "web-2", "us-central1-b", "n2-standard-4", "web"),
    _gce("northwind-prod", "web-3", "europe-west1-b", "n2-standard-4", "web"),
    _gce("northwind-prod", "api-1", "us-central1-a", "n2-standard-8", "api"),
    _gce("northwind-prod", "batch-1", "us-central1-a", "n2-highmem-8", "batch"),
    _gce("northwind-prod", "batch-2", "us-central1-b", "n2-highmem-8", "idle"),      # left running, nearly idle
    _gce("northwind-ml", "ml-train-1", "us-central1-a", "a2-highgpu-1g", "ml"),
    _gce("northwind-ml", "ml-train-2", "us-central1-b", "a2-highgpu-1g", "idle"),    # a GPU box nobody uses
]
DATABASES = [
    Resource("cloudsql_database", "northwind-prod", "orders-db",
             {"database_id": "northwind-prod:orders-db", "region": "us-central1"}, "oltp", -6, disk_gb=500),
    Resource("cloudsql_database", "northwind-data", "warehouse-db",
             {"database_id": "northwind-data:warehouse-db", "region": "europe-west1"}, "analytics", 1, disk_gb=2000),
]
BUCKETS = [
    Resource("gcs_bucket", "northwind-prod", "northwind-prod-assets",
             {"bucket_name": "northwind-prod-assets", "location": "us"}, "web", -6, tb=3.2, growth=0.25, rate=90.0),
    Resource("gcs_bucket", "northwind-data", "northwind-data-lake",
             {"bucket_name": "northwind-data-lake", "location": "us"}, "batch", -6, tb=48.0, growth=0.6,
             rate=40.0),
    Resource("gcs_bucket", "northwind-ml", "northwind-ml-datasets",
             {"bucket_name": "northwind-ml-datasets", "location": "europe-west1"}, "ml", 1, tb=12.5, growth=0.4,
             rate=6.0),
]


def _k8s(namespace, pod, container, profile, cores, mem_mb):
    return Resource("k8s_container", "northwind-prod", container,
                    {"location": "us-central1-a", "cluster_name": "northwind-gke", "namespace_name": namespace,
                     "pod_name": pod, "container_name": container}, profile, -6, cores=cores, mem_mb=mem_mb)


CONTAINERS = [
    _k8s("storefront", "frontend-6d8f7c9b5-x7k2p", "frontend", "web", 0.5, 512),
    _k8s("storefront", "api-7c9d5f8b6-m4q8z", "api", "api", 1.0, 1024),
    _k8s("jobs", "worker-5b7c8d9f4-h2j6n", "worker", "steady", 0.8, 2048),
    _k8s("cache", "redis-0", "redis", "cache", 0.2, 4096),
]
RESOURCES = INSTANCES + DATABASES + BUCKETS + CONTAINERS


# --- activity ---------------------------------------------------------------------------------------

def _diurnal(t, tz):
    """0..1: lowest at 03:00, highest at 15:00 local time."""
    return 0.5 - 0.5 * math.cos(TAU * ((t / 3600.0 + tz - 3) / 24.0))


def _weekend(t, tz):
    return ((int(t // 3600) + tz) // 24 + 3) % 7 >= 5     # 1970-01-01 was a Thursday


@functools.lru_cache(maxsize=65536)
def load(r, minute):
    """Activity 0..1 of a resource in the minute ending at minute*60 (shared by its metrics)."""
    t = minute * 60
    u = _u(r.seed, minute)
    p = r.profile
    if p == "web":
        x = (0.18 + 0.5 * _diurnal(t, r.tz)) * (0.75 if _weekend(t, r.tz) else 1.0) * (0.92 + 0.16 * u)
    elif p == "api":
        x = (0.25 + 0.4 * _diurnal(t, r.tz)) * (0.85 if _weekend(t, r.tz) else 1.0) * (0.9 + 0.2 * u)
    elif p == "batch":
        hod = (t // 3600) % 24
        x = (0.84 + 0.12 * u) if 1 <= hod < 5 else (0.05 + 0.04 * u)
    elif p == "idle":
        x = 0.01 + 0.02 * u                     # CPU 1-3 %
    elif p == "ml":
        x = 0.72 + 0.22 * u
    elif p == "oltp":
        x = (0.15 + 0.5 * _diurnal(t, r.tz)) * (0.9 + 0.2 * u)
    elif p == "analytics":
        hod = (t // 3600) % 24
        x = (0.7 + 0.2 * u) if hod < 6 else (0.12 + 0.1 * u)
    elif p == "steady":
        x = 0.45 + 0.1 * u
    elif p == "cache":
        x = 0.1 + 0.05 * u
    else:
        raise ValueError(p)
    return min(x, 0.99)


def _noise(s, minute, amp, tag=7):
    return 1.0 + amp * (2.0 * _u(s.seed, minute, tag) - 1.0)


# --- distributions ------------------------------------------------------------------------------

class Distribution:
    """A Distribution value: count, mean, sum of squared deviation, exponential buckets.

    buckets: list of ints, numFiniteBuckets + 2 entries (underflow, finite..., overflow); a
    generated sample computes them on first use from its normal shape (sd), since most
    reads (ALIGN_MEAN) never look at them."""
    __slots__ = ("count", "mean", "ssd", "_buckets", "_sd")

    def __init__(self, count, mean, ssd, buckets=None, sd=None):
        self.count = count
        self.mean = mean
        self.ssd = ssd
        self._buckets = buckets
        self._sd = sd

    @property
    def buckets(self):
        if self._buckets is None:
            cum = [int(round(self.count * _normal_cdf(b, self.mean, self._sd))) for b in _RTT_BOUNDS] + [self.count]
            self._buckets = [cum[0]] + [cum[i] - cum[i - 1] for i in range(1, len(cum))]
        return self._buckets

    def __eq__(self, other):
        return isinstance(other, Distribution) and (self.count, self.mean, self.ssd, self.buckets) == \
            (other.count, other.mean, other.ssd, other.buckets)

    def __repr__(self):
        return "Distribution(%d, %r, %r)" % (self.count, self.mean, self.ssd)


RTT_BUCKETS = {"numFiniteBuckets": 24, "growthFactor": 1.4, "scale": 0.05}


def bucket_bounds(opts=RTT_BUCKETS):
    """Upper bounds of buckets 0..N (underflow + finite); the overflow bucket has none."""
    n, g, s = opts["numFiniteBuckets"], opts["growthFactor"], opts["scale"]
    return [s * g ** i for i in range(n + 1)]


_RTT_BOUNDS = bucket_bounds()


def _normal_cdf(x, mean, sd):
    return 0.5 * (1.0 + math.erf((x - mean) / (sd * math.sqrt(2.0))))


def _rtt(s, t):
    r = s.resource
    minute = t // 60
    x = load(r, minute)
    count = int(30 + 600 * x * _u(s.seed, minute, 1))
    base = 0.32 if r.labels["zone"].startswith("europe") else 0.24
    mean = round(base * (1.0 + 0.8 * x) * (0.9 + 0.2 * _u(s.seed, minute, 2)), 6)
    sd = mean * (0.25 + 0.2 * _u(s.seed, minute, 3))
    ssd = round(sd * sd * (count - 1), 6)
    return Distribution(count, mean, ssd, sd=sd)


# --- metric value functions (t = end of the sample, a multiple of the sample period) ----------------

# bytes/s at full load
_NIC = {"n2-standard-4": 2.5e6, "n2-standard-8": 5e6, "n2-highmem-8": 5e6, "a2-highgpu-1g": 8e6}
_DISK = {"batch": 40e6, "ml": 60e6}


def _cpu(s, t):
    return round(load(s.resource, t // 60), 6)


def _net(factor):
    def fn(s, t):
        r = s.resource
        minute = t // 60
        return int(_NIC[r.attrs["machine_type"]] * 60 * (0.03 + load(r, minute)) * 0.4 * factor *
                   _noise(s, minute, 0.1))
    return fn


def _disk_read(s, t):
    r = s.resource
    minute = t // 60
    return int(_DISK.get(r.profile, 2e6) * 60 * (0.01 + load(r, minute)) * _noise(s, minute, 0.3))


def _sql_cpu(s, t):
    return round(min(0.04 + 0.8 * load(s.resource, t // 60), 0.99), 6)


def _sql_mem(s, t):
    minute = t // 60
    return round(0.52 + 0.18 * load(s.resource, minute) + 0.02 * _u(s.seed, minute), 6)


def _sql_disk(s, t):
    r = s.resource
    # fills up slowly (saturating: 30 % in 2024, 61 % late 2026, never full), wiggles with vacuum
    used = 0.3 + 0.5 * (1.0 - math.exp(-(t - T0) / (3.0 * YEAR))) + 0.004 * math.sin(t / 7200.0)
    return int(r.attrs["disk_gb"] * 1e9 * used)


def _gcs_bytes(s, t):
    r = s.resource
    b = r.attrs["tb"] * 1e12 * (1.0 + r.attrs["growth"] * (t - T0) / YEAR) * (1.0 + 0.002 * math.sin(t / 43200.0))
    return float(int(b))


# (method, response_code, share of the bucket's traffic); NOT_FOUND is sparse: most minutes have no point
_GCS_CALLS = (("ReadObject", "OK", 0.62), ("WriteObject", "OK", 0.12), ("ListObjects", "OK", 0.08),
              ("GetObjectMetadata", "OK", 0.18), ("ReadObject", "NOT_FOUND", None))


def _gcs_requests(s, t):
    r = s.resource
    minute = t // 60
    share = s.attrs["share"]
    if share is None:
        u = _u(s.seed, minute, 5)
        return 1 + int(u * 30) if u < 0.1 else None
    n = int(r.attrs["rate"] * 60 * share * (0.2 + load(r, minute)) * _noise(s, minute, 0.2))
    return n if n > 0 else None


RESTART_EVERY = 14 * DAY        # containers are redeployed every two weeks (a cumulative reset)


def reset_time(s, t):
    """The start of the run of a CUMULATIVE series the sample ending at t belongs to ((B, B + 14 d])."""
    off = s.attrs["reset_offset"]
    return ((t - off - 1) // RESTART_EVERY) * RESTART_EVERY + off


def _core_usage(s, t):
    r = s.resource
    b = reset_time(s, t)
    a = r.attrs["cores"] * 0.25
    amp = r.attrs["cores"] * 0.35 if r.profile in ("web", "api") else 0.0
    w = TAU / DAY
    # integral of a + amp * diurnal over (b, t], plus a jitter smaller than a quarter minute of `a`
    phase = (r.tz - 3) * 3600.0
    integral = a * (t - b) + amp * (0.5 * (t - b) - 0.5 / w * (math.sin(w * (t + phase)) - math.sin(w * (b + phase))))
    return round(integral + 15.0 * a * _u(s.seed, t // 60, 9), 6)


def _container_mem(s, t):
    r = s.resource
    minute = t // 60
    base = r.attrs["mem_mb"] * 1048576
    if s.attrs["memory_type"] == "non-evictable":
        return int(base * (0.35 + 0.3 * load(r, minute)) * _noise(s, minute, 0.03))
    return int(base * (0.1 + 0.1 * _u(s.seed, minute, 4)))


# --- catalogue ----------------------------------------------------------------------------------------

class MetricDef:
    __slots__ = ("type", "kind", "vtype", "unit", "rtype", "period", "display", "description", "labels", "fn",
                 "label_sets")

    def __init__(self, mtype, kind, vtype, unit, rtype, period, display, description, labels, fn, label_sets):
        self.type = mtype
        self.kind = kind
        self.vtype = vtype
        self.unit = unit
        self.rtype = rtype
        self.period = period
        self.display = display
        self.description = description
        self.labels = labels            # ((key, description), ...)
        self.fn = fn
        self.label_sets = label_sets    # resource -> [(metric labels dict, series attrs dict)]


def _name_only(r):
    return [({"instance_name": r.name}, {})]


def _net_labels(r):
    return [({"instance_name": r.name, "loadbalanced": "false"}, {})]


def _disk_labels(r):
    return [({"device_name": r.name, "device_type": "permanent", "instance_name": r.name,
              "storage_type": "pd-balanced"}, {})]


def _none(r):
    return [({}, {})]


def _gcs_labels(r):
    return [({"method": m, "response_code": c}, {"share": share}) for m, c, share in _GCS_CALLS]


def _mem_labels(r):
    return [({"memory_type": mt}, {"memory_type": mt}) for mt in ("evictable", "non-evictable")]


def _rtt_labels(r):
    return [({"remote_zone": r.labels["zone"]}, {})]


def _core_labels(r):
    return [({}, {"reset_offset": (_seed("restart", r.rid) % (RESTART_EVERY // 3600)) * 3600})]


_C = "compute.googleapis.com/instance/"
METRICS = {m.type: m for m in (
    MetricDef(_C + "cpu/utilization", "GAUGE", "DOUBLE", "10^2.%", "gce_instance", 60, "CPU utilization",
              "Fractional utilization of allocated CPU on this instance. Values are typically numbers between 0.0 "
              "and 1.0.", (("instance_name", "The name of the VM instance."),), _cpu, _name_only),
    MetricDef(_C + "network/received_bytes_count", "DELTA", "INT64", "By", "gce_instance", 60, "Received bytes",
              "Count of bytes received from the network.",
              (("instance_name", "The name of the VM instance."),
               ("loadbalanced", "Whether traffic was sent from an L3 loadbalanced IP address assigned to the VM.")),
              _net(1.0), _net_labels),
    MetricDef(_C + "network/sent_bytes_count", "DELTA", "INT64", "By", "gce_instance", 60, "Sent bytes",
              "Count of bytes sent over the network.",
              (("instance_name", "The name of the VM instance."),
               ("loadbalanced", "Whether traffic was sent from an L3 loadbalanced IP address assigned to the VM.")),
              _net(0.7), _net_labels),
    MetricDef(_C + "disk/read_bytes_count", "DELTA", "INT64", "By", "gce_instance", 60, "Disk read bytes",
              "Count of bytes read from disk.",
              (("instance_name", "The name of the VM instance."), ("device_name", "The name of the disk device."),
               ("device_type", "The disk type: ephemeral or permanent."),
               ("storage_type", "The storage type: pd-standard, pd-ssd or pd-balanced.")),
              _disk_read, _disk_labels),
    MetricDef("networking.googleapis.com/vm_flow/rtt", "DELTA", "DISTRIBUTION", "ms", "gce_instance", 60,
              "RTT", "Distribution of the round-trip time of TCP flows of the VM.",
              (("remote_zone", "The zone of the remote end of the flows."),), _rtt, _rtt_labels),
    MetricDef("cloudsql.googleapis.com/database/cpu/utilization", "GAUGE", "DOUBLE", "10^2.%", "cloudsql_database",
              60, "CPU utilization", "Current CPU utilization represented as a percentage of the reserved CPU that "
              "is currently in use. Values are typically numbers between 0.0 and 1.0.", (), _sql_cpu, _none),
    MetricDef("cloudsql.googleapis.com/database/memory/utilization", "GAUGE", "DOUBLE", "10^2.%",
              "cloudsql_database", 60, "Memory utilization", "RAM utilization in terms of the memory quota. Values "
              "are typically numbers between 0.0 and 1.0.", (), _sql_mem, _none),
    MetricDef("cloudsql.googleapis.com/database/disk/bytes_used", "GAUGE", "INT64", "By", "cloudsql_database", 60,
              "Bytes used", "Data utilization in bytes.", (), _sql_disk, _none),
    MetricDef("storage.googleapis.com/storage/total_bytes", "GAUGE", "DOUBLE", "By", "gcs_bucket", 300,
              "Total bytes", "Total size of all objects in the bucket, grouped by storage class.",
              (("storage_class", "Storage class of the data."),), _gcs_bytes,
              lambda r: [({"storage_class": "STANDARD"}, {})]),
    MetricDef("storage.googleapis.com/api/request_count", "DELTA", "INT64", "1", "gcs_bucket", 60,
              "Request count", "Delta count of API calls, grouped by the API method name and response code.",
              (("response_code", "The response code of the requests."), ("method", "The name of the API method "
                                                                                 "called.")),
              _gcs_requests, _gcs_labels),
    MetricDef("kubernetes.io/container/cpu/core_usage_time", "CUMULATIVE", "DOUBLE", "s", "k8s_container", 60,
              "CPU usage time", "Cumulative CPU usage on all cores used by the container in seconds.", (),
              _core_usage, _core_labels),
    MetricDef("kubernetes.io/container/memory/used_bytes", "GAUGE", "INT64", "By", "k8s_container", 60,
              "Memory usage", "Memory usage in bytes, broken down by type: evictable and non-evictable.",
              (("memory_type", "Either `evictable` or `non-evictable`."),), _container_mem, _mem_labels),
)}


class Series:
    __slots__ = ("metric", "labels", "resource", "attrs", "seed", "key")

    def __init__(self, metric, labels, resource, attrs):
        self.metric = metric
        self.labels = labels
        self.resource = resource
        self.attrs = attrs
        self.key = "%s|%s|%s" % (metric.type, resource.rid, ",".join("%s=%s" % kv for kv in sorted(labels.items())))
        self.seed = _seed("gcp-series", self.key)

    def __repr__(self):
        return "Series(%s)" % self.key


def _build_series():
    out = {}
    for m in METRICS.values():
        out[m.type] = [Series(m, labels, r, attrs) for r in RESOURCES if r.type == m.rtype
                       for labels, attrs in m.label_sets(r)]
    return out


SERIES = _build_series()


def series_of(metric_type):
    return SERIES.get(metric_type, [])


# --- raw samples ----------------------------------------------------------------------------------------

def window(now):
    """(lo, hi) in whole seconds: raw samples exist for lo < t <= hi."""
    hi = int(math.floor(now))
    return hi - RETENTION, hi


def value(s, t):
    """The raw sample of series s ending at t (t a multiple of the sample period), None = no point."""
    return s.metric.fn(s, t)


def increment(s, t):
    """CUMULATIVE: how much the sample ending at t adds to the previous one (its own value after a reset)."""
    v = value(s, t)
    prev = t - s.metric.period
    if reset_time(s, prev) != reset_time(s, t):
        return v
    return v - value(s, prev)


def samples(s, lo, hi):
    """[(t, value)] for sample ends t with lo < t <= hi, ascending; absent samples skipped."""
    p = s.metric.period
    t = (lo // p + 1) * p
    out = []
    fn = s.metric.fn
    while t <= hi:
        v = fn(s, t)
        if v is not None:
            out.append((t, v))
        t += p
    return out
