"""Deterministic CloudWatch metric data for the resources of resources.py.

Model
-----
Every series (namespace, metric name, dimension set) has a publishing
resolution `res` (60 s for detailed monitoring, RDS, Lambda, DynamoDB and the
load balancers; 300 s for EC2 basic monitoring; 86400 s for the daily S3
storage metrics, published at 00:00Z).  A sample exists at every multiple of
`res` while the resource is up.

The atom of the model is the clock hour: for series s and hour h (epoch hours)
`atom(s, h)` gives (n, mean, lo, hi): the number of samples in the hour and
their mean, minimum and maximum, or None when nothing was published (stopped
instance, cron function idle, outside the resource's lifetime).  It is a pure
function of (series, h): the workload profile, the region's local time, the
weekday, slow growth, known anomalies, and hash noise of (series, h).

Inside an hour the individual samples (`samples(s, h)`) are constructed so
that their minimum, maximum and mean are exactly the atom's.  A window [a, b)
is aggregated from whole-hour atoms plus the samples of partial hours, so
every statistic of every bucket is consistent: Minimum <= Average <= Maximum,
Sum = Average * SampleCount, sums and counts of sub-buckets add up to the
bucket's, and a period-P datapoint at t is a pure function of (series, t, P)
(plus where the request's EndTime or "now" clip it).

Extended statistics pNN are interpolated from (Minimum, Average, Maximum):
monotone in NN, p0 = Minimum, p100 = Maximum.

Aggregate series (EC2 per AutoScalingGroupName / InstanceType / no dimension,
RDS per DatabaseClass / EngineName, Lambda without dimension) combine the
windows of their member series.

Public API
----------
series_in(region)                      all series of a region (list, stable order)
find(region, namespace, name, dims)    the series with exactly that dimension set, or None
window_stats(s, a, b)                  (n, sum, min, max) over samples in [a, b)
parse_stat(text) / stat_value(st, parsed)
NAMESPACES, UNITS
"""

import datetime
import functools
import hashlib
import math
import random

import resources as R

HOUR = 3600
DAY = 86400
YEAR = 365 * DAY
TAU = 2 * math.pi


M64 = (1 << 64) - 1
TWO64 = 18446744073709551616.0


def seed_of(*parts):
    """A 64-bit seed for a name (computed once per series / resource)."""
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _mix(x):
    """splitmix64 finaliser: a well-spread 64-bit value from x."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def _u(seed, h, tag=0):
    """Uniform [0, 1) from (seed, hour, tag): pure integer arithmetic, no state."""
    return _mix(seed ^ ((h * 0x100000001B3 + tag * 0x9E3779B1) & M64)) / TWO64


def _day(s):
    return R.epoch(s) // DAY


def _hour(s):
    """'YYYY-MM-DDTHH' -> epoch hour."""
    d, _, hh = s.partition("T")
    return R.epoch(d) // HOUR + int(hh or 0)


# --- workload profiles ----------------------------------------------------------

def _diurnal(h, tz):
    """0..1, lowest at 03:00 and highest at 15:00 local time."""
    lh = (h + tz) % 24
    return 0.5 - 0.5 * math.cos(TAU * (lh - 3) / 24)


def _weekday(h, tz):
    """Monday = 0 (1970-01-01 was a Thursday)."""
    return ((h + tz) // 24 + 3) % 7


def _growth(h, rate):
    return 1.0 + rate * (h * HOUR - R.DATA_START) / YEAR


def _season(h):
    # November-December uplift on web traffic (as in the cost data)
    doy = ((h * HOUR) % (365.2425 * DAY)) / DAY
    return 1.15 if doy >= 319 else 1.0


BLACK_FRIDAY = _day("2025-11-28")
ML_RUN = _day("2026-07-06")


@functools.lru_cache(maxsize=200000)
def load(region, rid, profile, h):
    """Activity 0..1 of a resource in hour h, or None when it is down (no data).

    Shared by all metrics of the resource so that they move together.  It has no
    long-term growth (auto scaling keeps utilisation flat); volume metrics such as
    request counts multiply in _growth() themselves.
    """
    tz = R.TZ_OFFSET[region]
    seed = _rseed(region, rid)
    u = _u(seed, h)
    d = _diurnal(h, tz)
    wd = _weekday(h, tz)
    day = h // 24
    if profile == "web":
        x = (0.16 + 0.52 * d) * (0.72 if wd >= 5 else 1.0) * _season(h)
        if day == BLACK_FRIDAY and region == "us-east-1":
            x *= 2.2
        x *= 0.9 + 0.2 * u
    elif profile == "api":
        x = (0.22 + 0.45 * d) * (0.8 if wd >= 5 else 1.0) * (0.92 + 0.16 * u)
    elif profile == "batch":
        hod = h % 24
        night = 1 <= hod < 5 or (_dom(day) >= 28 and 0 <= hod < 9)   # longer runs at month end
        x = (0.82 + 0.15 * u) if night else (0.05 + 0.05 * u)
    elif profile == "busy":
        x = 0.7 + 0.2 * u
    elif profile == "staging":
        x = (0.05 + 0.25 * d * (1 if wd < 5 else 0.2)) * (0.8 + 0.4 * u)
    elif profile == "dev":
        lh = (h + tz) % 24
        if wd >= 5 or not 7 <= lh < 20:
            return None
        x = 0.04 + 0.36 * u
    elif profile == "idle":
        x = 0.006 + 0.026 * u
    elif profile == "bastion":
        x = 0.02 + 0.05 * u
    elif profile == "ci":
        lh = (h + tz) % 24
        x = (0.55 + 0.3 * u) if lh in (2, 13) else (0.02 + 0.06 * u)
    elif profile == "ml":
        if u < 0.06:       # spot interruption: no data this hour
            return None
        x = 0.98 if day == ML_RUN else 0.78 + 0.18 * _u(seed, h, 1)
    elif profile == "windows":
        x = (0.14 + 0.3 * d * (1 if wd < 5 else 0.3)) * (0.85 + 0.3 * u)
    elif profile == "steady":
        x = (0.45 + 0.12 * d) * (0.93 + 0.14 * u)
    elif profile == "cron":
        if h % 24 != 2:
            return None
        x = 1.0
    elif profile == "rare":
        if u > 0.04:
            return None
        x = 0.3 + 0.7 * _u(seed, h, 2)
    elif profile in ("prod", "replica"):
        x = (0.2 + 0.45 * d) * _season(h) * (0.9 + 0.2 * u)
        if profile == "replica":
            x *= 0.6
        if day == BLACK_FRIDAY and region == "us-east-1":
            x *= 1.6
    elif profile == "analytics":
        hod = h % 24
        x = (0.7 + 0.2 * u) if 0 <= hod < 6 else (0.1 + 0.15 * u)
    else:
        raise ValueError("unknown profile %r" % profile)
    return min(x, 0.985)


@functools.lru_cache(maxsize=None)
def _rseed(region, rid):
    return seed_of("resource", region, rid)


@functools.lru_cache(maxsize=4096)
def _dom(day):
    """Day of month of an epoch day."""
    return (R.EPOCH_DAY + datetime.timedelta(days=day)).day


def _res_load(r, h):
    """Load of a resource honouring EC2 quirks (stopped ranges, weekend_off)."""
    profile = r["profile"]
    if r.type == "ec2":
        if profile == "bastion" and r.get("role") == "ci":
            profile = "ci"
        stopped = r.get("stopped")
        if stopped:
            day = h // 24
            for a, b in stopped:
                if _day(a) <= day < _day(b):
                    return None
        if r.get("weekend_off") and _weekday(h, R.TZ_OFFSET[r.region]) >= 5:
            return None
    return load(r.region, r.rid, profile, h)


# --- series ---------------------------------------------------------------------

class Series:
    __slots__ = ("idx", "region", "namespace", "name", "dims", "dimset", "unit", "res", "kind", "cap",
                 "resource", "fn", "members", "launch", "terminate", "key", "seed")

    def __init__(self, region, namespace, name, dims, unit, res, fn=None, resource=None, kind="gauge", cap=None,
                 members=None):
        self.region = region
        self.namespace = namespace
        self.name = name
        self.dims = tuple(dims)
        self.dimset = frozenset(self.dims)
        self.unit = unit
        self.res = res
        self.kind = kind
        self.cap = cap
        self.resource = resource
        self.fn = fn
        self.members = members
        if members:
            self.launch = min(m.launch for m in members)
            ends = [m.terminate for m in members]
            self.terminate = None if None in ends else max(ends)
        else:
            self.launch = resource.launch
            self.terminate = resource.terminate
        self.key = "%s|%s|%s|%s" % (region, namespace, name, ",".join("%s=%s" % d for d in self.dims))
        self.seed = seed_of(self.key)
        self.idx = None

    def overlaps(self, a, b):
        return self.launch < b and (self.terminate is None or a < self.terminate)

    def __repr__(self):
        return "Series(%s)" % self.key


def _spread(s, h, lo_rng, hi_rng):
    a = _u(s.seed, h, 11)
    b = _u(s.seed, h, 12)
    return lo_rng[0] + (lo_rng[1] - lo_rng[0]) * a, hi_rng[0] + (hi_rng[1] - hi_rng[0]) * b


def _noise(s, h, amp):
    return 1.0 + amp * (2.0 * _u(s.seed, h, 13) - 1.0)


# EC2 ---------------------------------------------------------------------------
_NIC = {"t3.micro": 0.4e6, "t3.small": 0.6e6, "t3.medium": 1.0e6, "t3.large": 1.5e6, "m5.large": 3.0e6,
        "m5.xlarge": 5.0e6, "r5.2xlarge": 8.0e6, "c5.xlarge": 6.0e6, "g4dn.xlarge": 9.0e6}   # bytes/s at full load
_DISK = {"batch": 12e6, "busy": 6e6, "ml": 20e6}                                              # bytes/s at full load


def _ec2_cpu(s, h):
    x = _res_load(s.resource, h)
    if x is None:
        return None
    if s.resource["profile"] == "idle":
        return 100.0 * x, *_spread(s, h, (0.1, 0.3), (0.05, 0.2))
    return 100.0 * x, *_spread(s, h, (0.15, 0.5), (0.1, 0.45))


def _ec2_net(factor):
    def fn(s, h):
        r = s.resource
        x = _res_load(r, h)
        if x is None:
            return None
        ratio = factor if r["profile"] in ("web", "api", "windows") else 0.6 * factor ** 0.2
        return s.res * _NIC[r["instance_type"]] * (0.03 + x) * 0.35 * ratio * _noise(s, h, 0.1), \
            *_spread(s, h, (0.3, 0.7), (0.3, 1.5))
    return fn


def _ec2_disk(factor):
    def fn(s, h):
        r = s.resource
        x = _res_load(r, h)
        if x is None:
            return None
        base = _DISK.get(r["profile"], 0.8e6)
        return s.res * base * (0.01 + x) * factor * _noise(s, h, 0.25), *_spread(s, h, (0.5, 0.95), (0.5, 3.0))
    return fn


def _ec2_status(s, h):
    r = s.resource
    if _res_load(r, h) is None:
        return None
    for a, b in r.get("incident", ()):
        if _hour(a) <= h < _hour(b):
            return 1.0, 0.0, 0.0
    return 0.0, 0.0, 0.0


# RDS ---------------------------------------------------------------------------
def _rds(kind):
    def fn(s, h):
        r = s.resource
        x = _res_load(r, h)
        if kind == "cpu":
            return min(100.0 * (0.04 + 0.8 * x), 99.0), *_spread(s, h, (0.2, 0.5), (0.2, 0.8))
        if kind == "conn":
            return (8 + 150 * x) * _noise(s, h, 0.05), *_spread(s, h, (0.05, 0.3), (0.05, 0.4))
        if kind == "read":
            return (30 + 2800 * x) * _noise(s, h, 0.1), *_spread(s, h, (0.3, 0.8), (0.3, 1.2))
        if kind == "write":
            return (15 + 900 * x) * _noise(s, h, 0.1), *_spread(s, h, (0.3, 0.8), (0.3, 1.2))
        # free storage: the database slowly fills the volume; vacuum/backups wiggle it a little
        total = r["storage_gb"] * 1e9
        used = 0.18 + 0.22 * (h * HOUR - r.launch) / YEAR + 0.002 * math.sin(h / 5.0)
        return total * max(0.02, 1.0 - used), *_spread(s, h, (0.0005, 0.002), (0.0005, 0.002))
    return fn


# Lambda --------------------------------------------------------------------------
def _lambda_rate(r, h):
    """Invocations per minute, or None when the function did not run this hour."""
    x = _res_load(r, h)
    if x is None:
        return None
    rate = r["rate"] * x * _growth(h, 0.3)
    loop = r.get("loop")
    if loop and _day(loop[0]) <= h // 24 < _day(loop[1]):
        rate *= 15
    return rate


def _lambda(kind):
    def fn(s, h):
        r = s.resource
        rate = _lambda_rate(r, h)
        if rate is None:
            return None
        loop = r.get("loop") and _day(r["loop"][0]) <= h // 24 < _day(r["loop"][1])
        if kind == "inv":
            return rate * _noise(s, h, 0.05), *_spread(s, h, (0.3, 0.9), (0.3, 1.5))
        if kind == "err":
            frac = 0.25 if loop else 0.002 + 0.015 * _u(s.seed, h // 24, 14)
            return rate * frac, *_spread(s, h, (0.5, 1.0), (0.5, 4.0))
        if kind == "thr":
            if not loop:
                return 0.0, 0.0, 0.0
            return rate * 0.3, *_spread(s, h, (0.5, 1.0), (0.3, 1.0))
        dur = r["duration_ms"] * (0.85 + 0.3 * _u(s.seed, h, 15))
        return dur, *_spread(s, h, (0.2, 0.6), (0.5, 2.5))
    return fn


# DynamoDB ------------------------------------------------------------------------
def _ddb(kind, op=None):
    def fn(s, h):
        r = s.resource
        x = _res_load(r, h)
        if x is None:
            return None
        spike = r.get("spike") and _day(r["spike"][0]) <= h // 24 < _day(r["spike"][1])
        g = _growth(h, 0.35)
        if kind == "rcu":
            return r["rcu"] * x * g * _noise(s, h, 0.06), *_spread(s, h, (0.2, 0.7), (0.2, 1.0))
        if kind == "wcu":
            return r["wcu"] * x * g * (8 if spike else 1) * _noise(s, h, 0.06), *_spread(s, h, (0.2, 0.7), (0.2, 1.0))
        base = {"GetItem": 3.2, "Query": 7.5, "PutItem": 5.1}[op]
        return base * (0.9 + 0.3 * x) * _noise(s, h, 0.08), *_spread(s, h, (0.2, 0.5), (0.5, 6.0))
    return fn


# S3 (one sample a day, at 00:00Z) --------------------------------------------------
def _s3_bytes(storage):
    def fn(s, h):
        r = s.resource
        years = (h * HOUR - R.DATA_START) / YEAR
        gb = r["gb"] * (1.0 + r["growth"] * years)
        if storage == "StandardStorage":
            gb *= 1.0 if r["extra_class"] is None else 0.55
        elif storage == "StandardIAStorage":
            gb *= 0.45
        else:  # DeepArchiveStorage
            if h * HOUR < R.epoch(r["archive_from"]):
                return None
            gb = 400000 * (0.2 + 0.8 * min(1.0, (h * HOUR - R.epoch(r["archive_from"])) / YEAR))
        gb *= 1.0 + 0.004 * math.sin((h // 24) / 3.0) + 0.002 * (_u(s.seed, h) - 0.5)
        return float(round(gb * 1e9)), 0.0, 0.0
    return fn


def _s3_objects(s, h):
    r = s.resource
    years = (h * HOUR - R.DATA_START) / YEAR
    gb = r["gb"] * (1.0 + r["growth"] * years)
    n = gb * 1e9 / (r["obj_kb"] * 1024.0) * (1.0 + 0.01 * (_u(s.seed, h) - 0.5))
    return float(max(1, round(n))), 0.0, 0.0


# Load balancers --------------------------------------------------------------------
def _elb(kind, share=1.0):
    def fn(s, h):
        r = s.resource
        x = _res_load(r, h)
        if kind == "req":
            return 1500 * x * share * _growth(h, 0.1) * _noise(s, h, 0.05), *_spread(s, h, (0.2, 0.6), (0.2, 1.0))
        if kind == "healthy":
            return float(r["hosts"]) * share, 0.0, 0.0
        if kind == "unhealthy":
            return (1.0, 0.0, 0.0) if _u(s.seed, h) < 0.01 else (0.0, 0.0, 0.0)
        return 0.04 + 0.2 * x * _noise(s, h, 0.1), *_spread(s, h, (0.3, 0.7), (0.5, 4.0))
    return fn


def _alb(kind, share=1.0):
    def fn(s, h):
        r = s.resource
        x = _res_load(r, h)
        if kind == "req":
            return r["rate"] * x * share * _growth(h, 0.3) * _noise(s, h, 0.05), *_spread(s, h, (0.2, 0.6), (0.2, 1.0))
        if kind == "conn":
            return (r["rate"] * 0.25 * x * share * _growth(h, 0.3) * _noise(s, h, 0.08),
                    *_spread(s, h, (0.2, 0.6), (0.2, 1.0)))
        return 0.025 + 0.12 * x * _noise(s, h, 0.1), *_spread(s, h, (0.3, 0.7), (0.5, 5.0))
    return fn


# --- catalogue -------------------------------------------------------------------

NAMESPACES = ("AWS/EC2", "AWS/RDS", "AWS/Lambda", "AWS/DynamoDB", "AWS/S3", "AWS/ELB", "AWS/ApplicationELB")

EC2_METRICS = (("CPUUtilization", "Percent", _ec2_cpu, "gauge", 100.0),
               ("NetworkIn", "Bytes", _ec2_net(1.0), "gauge", None),
               ("NetworkOut", "Bytes", _ec2_net(2.4), "gauge", None),
               ("DiskReadBytes", "Bytes", _ec2_disk(1.0), "gauge", None),
               ("DiskWriteBytes", "Bytes", _ec2_disk(1.6), "gauge", None),
               ("StatusCheckFailed", "Count", _ec2_status, "gauge", None))


def _build_region(region):
    out = []
    ec2 = R.resources(region, "ec2")
    per = {}
    for r in ec2:
        res = 60 if r["detailed"] else 300
        for name, unit, fn, kind, cap in EC2_METRICS:
            s = Series(region, "AWS/EC2", name, [("InstanceId", r.rid)], unit, res, fn, r, kind, cap)
            out.append(s)
            per[(r.rid, name)] = s
    # Aggregates EC2 publishes besides the per-instance series.
    asgs = sorted({r["asg"] for r in ec2 if r["asg"]})
    for asg in asgs:
        for name, unit in (("CPUUtilization", "Percent"), ("NetworkIn", "Bytes"), ("NetworkOut", "Bytes")):
            members = [per[(r.rid, name)] for r in ec2 if r["asg"] == asg]
            out.append(Series(region, "AWS/EC2", name, [("AutoScalingGroupName", asg)], unit, 60, members=members))
    for itype in sorted({r["instance_type"] for r in ec2}):
        members = [per[(r.rid, "CPUUtilization")] for r in ec2 if r["instance_type"] == itype]
        out.append(Series(region, "AWS/EC2", "CPUUtilization", [("InstanceType", itype)], "Percent", 60,
                          members=members))
    if ec2:
        for name, unit in (("CPUUtilization", "Percent"), ("NetworkIn", "Bytes"), ("NetworkOut", "Bytes")):
            out.append(Series(region, "AWS/EC2", name, [], unit, 60, members=[per[(r.rid, name)] for r in ec2]))

    rds = R.resources(region, "rds")
    rds_cpu = []
    for r in rds:
        d = [("DBInstanceIdentifier", r.rid)]
        cpu = Series(region, "AWS/RDS", "CPUUtilization", d, "Percent", 60, _rds("cpu"), r, cap=100.0)
        rds_cpu.append(cpu)
        out += [cpu,
                Series(region, "AWS/RDS", "DatabaseConnections", d, "Count", 60, _rds("conn"), r),
                Series(region, "AWS/RDS", "ReadIOPS", d, "Count/Second", 60, _rds("read"), r),
                Series(region, "AWS/RDS", "WriteIOPS", d, "Count/Second", 60, _rds("write"), r),
                Series(region, "AWS/RDS", "FreeStorageSpace", d, "Bytes", 60, _rds("free"), r)]
    for cls in sorted({r["db_class"] for r in rds}):
        out.append(Series(region, "AWS/RDS", "CPUUtilization", [("DatabaseClass", cls)], "Percent", 60,
                          members=[s for s in rds_cpu if s.resource["db_class"] == cls]))
    if rds:
        out.append(Series(region, "AWS/RDS", "CPUUtilization", [("EngineName", "postgres")], "Percent", 60,
                          members=rds_cpu))

    lam = R.resources(region, "lambda")
    lam_by = {}
    for r in lam:
        d = [("FunctionName", r.rid)]
        for name, unit, fn, kind in (("Invocations", "Count", _lambda("inv"), "count"),
                                     ("Errors", "Count", _lambda("err"), "count"),
                                     ("Throttles", "Count", _lambda("thr"), "count"),
                                     ("Duration", "Milliseconds", _lambda("dur"), "gauge")):
            s = Series(region, "AWS/Lambda", name, d, unit, 60, fn, r, kind)
            out.append(s)
            lam_by.setdefault(name, []).append(s)
    if lam:
        for name, unit in (("Invocations", "Count"), ("Errors", "Count"), ("Throttles", "Count"),
                           ("Duration", "Milliseconds")):
            out.append(Series(region, "AWS/Lambda", name, [], unit, 60, members=lam_by[name]))

    for r in R.resources(region, "dynamodb"):
        d = [("TableName", r.rid)]
        out += [Series(region, "AWS/DynamoDB", "ConsumedReadCapacityUnits", d, "Count", 60, _ddb("rcu"), r, "count"),
                Series(region, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", d, "Count", 60, _ddb("wcu"), r, "count")]
        for op in ("GetItem", "PutItem", "Query"):
            out.append(Series(region, "AWS/DynamoDB", "SuccessfulRequestLatency", d + [("Operation", op)],
                              "Milliseconds", 60, _ddb("lat", op), r))

    for r in R.resources(region, "s3"):
        out.append(Series(region, "AWS/S3", "BucketSizeBytes",
                          [("BucketName", r.rid), ("StorageType", "StandardStorage")], "Bytes", DAY,
                          _s3_bytes("StandardStorage"), r))
        if r["extra_class"]:
            out.append(Series(region, "AWS/S3", "BucketSizeBytes",
                              [("BucketName", r.rid), ("StorageType", r["extra_class"])], "Bytes", DAY,
                              _s3_bytes(r["extra_class"]), r))
        out.append(Series(region, "AWS/S3", "NumberOfObjects",
                          [("BucketName", r.rid), ("StorageType", "AllStorageTypes")], "Count", DAY, _s3_objects, r))

    for r in R.resources(region, "elb"):
        d = [("LoadBalancerName", r.rid)]
        out += [Series(region, "AWS/ELB", "RequestCount", d, "Count", 60, _elb("req"), r, "count"),
                Series(region, "AWS/ELB", "HealthyHostCount", d, "Count", 60, _elb("healthy"), r),
                Series(region, "AWS/ELB", "UnHealthyHostCount", d, "Count", 60, _elb("unhealthy"), r),
                Series(region, "AWS/ELB", "Latency", d, "Seconds", 60, _elb("lat"), r)]
        for az in r["azs"]:
            out.append(Series(region, "AWS/ELB", "HealthyHostCount", d + [("AvailabilityZone", az)], "Count", 60,
                              _elb("healthy", 1.0 / len(r["azs"])), r))

    for r in R.resources(region, "alb"):
        d = [("LoadBalancer", r.rid)]
        out += [Series(region, "AWS/ApplicationELB", "RequestCount", d, "Count", 60, _alb("req"), r, "count"),
                Series(region, "AWS/ApplicationELB", "ActiveConnectionCount", d, "Count", 60, _alb("conn"), r,
                       "count"),
                Series(region, "AWS/ApplicationELB", "TargetResponseTime", d, "Seconds", 60, _alb("trt"), r)]
        n_az = len(r["azs"])
        for i, az in enumerate(r["azs"]):
            share = (0.55 if i == 0 else 0.45) if n_az == 2 else 1.0 / n_az
            out.append(Series(region, "AWS/ApplicationELB", "RequestCount", d + [("AvailabilityZone", az)], "Count",
                              60, _alb("req", share), r, "count"))
        tgs = r["target_groups"]
        for i, tg in enumerate(tgs):
            share = 1.0 if len(tgs) == 1 else (0.8 if i == 0 else 0.2 / (len(tgs) - 1))
            td = [("TargetGroup", tg)] + d
            out += [Series(region, "AWS/ApplicationELB", "RequestCount", td, "Count", 60, _alb("req", share), r,
                           "count"),
                    Series(region, "AWS/ApplicationELB", "TargetResponseTime", td, "Seconds", 60, _alb("trt"), r)]
    return out


def _build():
    by_region, index, flat = {}, {}, []
    for region in R.REGIONS:
        lst = _build_region(region)
        for s in lst:
            s.idx = len(flat)
            flat.append(s)
            k = (region, s.namespace, s.name, s.dimset)
            assert k not in index, k
            index[k] = s
        by_region[region] = lst
    return by_region, index, flat


_BY_REGION, _INDEX, _ALL = _build()
UNITS = sorted({s.unit for s in _ALL})


def series_in(region):
    return _BY_REGION.get(region, [])


def find(region, namespace, name, dims):
    """dims: iterable of (Name, Value); order does not matter, duplicates do."""
    dims = list(dims)
    ds = frozenset(dims)
    if len(ds) != len(dims):
        return None
    return _INDEX.get((region, namespace, name, ds))


# --- the value model -----------------------------------------------------------------

def _first_sample(res, a):
    """First multiple of res >= a."""
    return -(-a // res) * res


def _n_in_hour(res, hs):
    if res <= HOUR:
        return HOUR // res
    return 1 if hs % res == 0 else 0


EPS = 0.004


@functools.lru_cache(maxsize=400000)
def _atom(idx, h):
    s = _ALL[idx]
    hs = h * HOUR
    n = _n_in_hour(s.res, hs)
    if not n:
        return None
    r = s.resource
    if hs < r.launch or (r.terminate is not None and hs >= r.terminate):
        return None
    v = s.fn(s, h)
    if v is None:
        return None
    mean, lo_f, hi_f = v
    if s.kind == "count":
        mean = round(mean * n) / n
    if n == 1 or mean == 0.0 or (lo_f == 0.0 and hi_f == 0.0):
        return (n, mean, mean, mean)
    lo = mean * (1.0 - lo_f)
    hi = mean * (1.0 + hi_f)
    if s.cap is not None:
        if mean >= s.cap:
            return (n, s.cap, s.cap, s.cap)
        hi = min(hi, s.cap)
    if lo < 0.0:
        lo = 0.0
    # The samples of the hour must be able to have exactly this mean with one sample
    # at lo and one at hi: keep mu = (mean - lo) / (hi - lo) inside (1/n, 1 - 1/n).
    lim_lo = 1.0 / n + EPS
    lim_hi = 1.0 - 1.0 / n - EPS
    mu = (mean - lo) / (hi - lo)
    if mu > lim_hi:
        lo = (mean - lim_hi * hi) / (1.0 - lim_hi)
    elif mu < lim_lo:
        hi = (mean - (1.0 - lim_lo) * lo) / lim_lo
        if s.cap is not None and hi > s.cap:
            hi = s.cap
    return (n, mean, lo, hi)


@functools.lru_cache(maxsize=20000)
def _samples(idx, h):
    """The n sample values of hour h (list), with exactly the atom's min, max and mean."""
    a = _atom(idx, h)
    if a is None:
        return None
    n, mean, lo, hi = a
    if n == 1 or hi - lo <= 0.0:
        return [mean] * n
    s = _ALL[idx]
    rng = random.Random(_mix(s.seed ^ (h * 0x100000001B3)))   # seeded by (series, hour): pure
    u = [rng.random() for _ in range(n)]
    i_lo = int(rng.random() * n)
    i_hi = int(rng.random() * (n - 1))
    if i_hi >= i_lo:
        i_hi += 1
    interior = [k for k in range(n) if k != i_lo and k != i_hi]
    mu = (mean - lo) / (hi - lo)
    target = (n * mu - 1.0) / (n - 2)          # mean of the interior, in [0, 1]
    target = min(1.0, max(0.0, target))
    vals = [u[k] for k in interior]
    ubar = sum(vals) / len(vals)
    c = 1.0
    if ubar > min(vals):
        c = min(c, target / (ubar - min(vals)))
    if max(vals) > ubar:
        c = min(c, (1.0 - target) / (max(vals) - ubar))
    out = [0.0] * n
    span = hi - lo
    for k, v in zip(interior, vals):
        out[k] = min(hi, max(lo, lo + span * (target + c * (v - ubar))))   # clamp away rounding
    out[i_lo] = lo
    out[i_hi] = hi
    return out


def _combine(parts):
    n, tot, lo, hi = 0, 0.0, math.inf, -math.inf
    for pn, pt, pl, ph in parts:
        if pn:
            n += pn
            tot += pt
            if pl < lo:
                lo = pl
            if ph > hi:
                hi = ph
    return n, tot, lo, hi


def window_stats(s, a, b):
    """(n, sum, min, max) over the samples of series s at times in [a, b) (epoch seconds, ints)."""
    if s.members:
        return _combine(window_stats(m, a, b) for m in s.members)
    a = max(a, s.launch)
    if s.terminate is not None:
        b = min(b, s.terminate)
    if b <= a:
        return 0, 0.0, math.inf, -math.inf
    n, tot, lo, hi = 0, 0.0, math.inf, -math.inf
    res = s.res
    idx = s.idx
    if res > HOUR:
        # sparse (daily) samples: visit the sample times only
        t = _first_sample(res, a)
        while t < b:
            at = _atom(idx, t // HOUR)
            if at is not None:
                n += 1
                tot += at[1]
                lo = min(lo, at[1])
                hi = max(hi, at[1])
            t += res
        return n, tot, lo, hi
    h = a // HOUR
    h_end = (b - 1) // HOUR
    while h <= h_end:
        hs = h * HOUR
        he = hs + HOUR
        at = _atom(idx, h)
        if at is not None:
            if a <= hs and he <= b:
                cnt, mean, alo, ahi = at
                n += cnt
                tot += cnt * mean
                if alo < lo:
                    lo = alo
                if ahi > hi:
                    hi = ahi
            else:
                vals = _samples(idx, h)
                k0 = (max(a, hs) - hs + res - 1) // res
                k1 = (min(b, he) - hs + res - 1) // res
                for v in vals[k0:k1]:
                    n += 1
                    tot += v
                    if v < lo:
                        lo = v
                    if v > hi:
                        hi = v
        h += 1
    return n, tot, lo, hi


def hour_buckets(s, h, period):
    """[(t, (n, sum, min, max))] for the period-long buckets tiling hour h (3600 % period == 0),
    those with samples only.  Same values as window_stats() on each bucket, computed in one
    pass over the hour's samples (the fast path of GetMetricData for sub-hour periods)."""
    if s.members or s.res > HOUR:
        raise ValueError("hour_buckets: plain sub-hourly series only")
    at = _atom(s.idx, h)
    if at is None:
        return []
    vals = _samples(s.idx, h)
    res = s.res
    hs = h * HOUR
    out = []
    for j in range(HOUR // period):
        k0 = -(-j * period // res)
        k1 = -(-(j + 1) * period // res)
        if k1 > k0:
            n, tot, lo, hi = 0, 0.0, math.inf, -math.inf
            for v in vals[k0:k1]:
                n += 1
                tot += v
                if v < lo:
                    lo = v
                if v > hi:
                    hi = v
            out.append((hs + j * period, (n, tot, lo, hi)))
    return out


# --- statistics -------------------------------------------------------------------------

BASIC_STATS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


def parse_stat(text):
    """'Average' | ... | 'p99' | 'p99.9' -> parsed form, or None when not supported."""
    if text in BASIC_STATS:
        return text
    if isinstance(text, str) and len(text) >= 2 and text[0] == "p":
        body = text[1:]
        ip, dot, fp = body.partition(".")
        if ip.isdigit() and len(ip) <= 3 and (not dot or (fp.isdigit() and 1 <= len(fp) <= 2)) \
                and not (len(ip) > 1 and ip[0] == "0"):
            q = float(body)
            if 0.0 <= q <= 100.0:
                return ("p", q)
    return None


def percentile(n, lo, mean, hi, q):
    if n <= 1 or hi <= lo:
        return mean
    med = mean - 0.15 * (mean - lo)           # right-skewed: median a little below the mean
    if q <= 50.0:
        return lo + (med - lo) * (q / 50.0) ** 0.7
    return med + (hi - med) * ((q - 50.0) / 50.0) ** 2.5


def stat_value(st, parsed):
    """Value of a statistic for window stats st = (n, sum, min, max) with n > 0."""
    n, tot, lo, hi = st
    if parsed == "SampleCount":
        return float(n)
    if parsed == "Sum":
        return tot
    if parsed == "Minimum":
        return lo
    if parsed == "Maximum":
        return hi
    mean = tot / n
    if mean < lo:        # float rounding of sum/n must not leave [min, max]
        mean = lo
    elif mean > hi:
        mean = hi
    if parsed == "Average":
        return mean
    return min(hi, max(lo, percentile(n, lo, mean, hi, parsed[1])))
