"""The AWS resources of "Northwind Robotics" that publish CloudWatch metrics.

Pure data: a fixed inventory per region, built once at import.  Everything
that looks random (load balancer suffixes, per-resource quirks) is derived by
hashing the resource's name, so the inventory never depends on run order, the
wall clock or the emulator's "today".  metrics.py turns each resource into
metric series; control.py lists them for tests (/_emulator/resources).

A resource has a lifetime [launch, terminate) in epoch seconds (terminate None
= still running); only resources alive "now" are listed by default, but their
history is served for any window inside the lifetime.

The inventory loosely mirrors the cost data of company.py: the same instance
types and regions, the EU Windows instance and EU bucket from 2024-04-01, the
ML spot fleet from 2024-09-01, the sandbox t3.micro in us-west-2 running
2025-01-15..2026-03-31, Glacier Deep Archive from 2024-06-01.
"""

import datetime
import hashlib

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")  # regions with resources; any other valid region is empty
TYPES = ("ec2", "rds", "lambda", "dynamodb", "s3", "elb", "alb")

# Local-time offset (hours) driving the diurnal cycles of each region's workload.
TZ_OFFSET = {"us-east-1": -5, "us-west-2": -8, "eu-west-1": 0}

EPOCH_DAY = datetime.date(1970, 1, 1)


def epoch(day):
    """Epoch seconds of 00:00Z of a date (or an ISO date string)."""
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    return (day - EPOCH_DAY).days * 86400


DATA_START = epoch("2024-01-01")   # nothing is published before this
ALWAYS = None


def hex_id(*parts, n=16):
    return hashlib.md5("|".join(str(p) for p in parts).encode()).hexdigest()[:n]


class Resource:
    """One resource.  `rid` is the value of its CloudWatch dimension."""
    __slots__ = ("type", "region", "rid", "attrs", "launch", "terminate")

    def __init__(self, rtype, region, rid, launch=None, terminate=None, **attrs):
        self.type = rtype
        self.region = region
        self.rid = rid
        self.attrs = attrs
        self.launch = DATA_START if launch is None else epoch(launch)
        self.terminate = None if terminate is None else epoch(terminate)

    def __getitem__(self, k):
        return self.attrs[k]

    def get(self, k, default=None):
        return self.attrs.get(k, default)

    def alive_at(self, t):
        return self.launch <= t and (self.terminate is None or t < self.terminate)

    def overlaps(self, a, b):
        """Does the lifetime intersect [a, b)?"""
        return self.launch < b and (self.terminate is None or a < self.terminate)

    def __repr__(self):
        return "Resource(%s %s %s)" % (self.type, self.region, self.rid)


# --- EC2 -------------------------------------------------------------------------
# (count, instance type, profile, ASG or None, detailed monitoring, extra attrs)
# Profiles (see metrics.py): web, api, batch, busy, staging, dev (stopped nights and
# weekends), idle (CPU < 5 %), bastion (low), ml (spot: interrupted hours), windows.
_EC2_FLEETS = {
    "us-east-1": [
        (12, "m5.large", "web", "web-prod-asg", True, {}),
        (8, "m5.xlarge", "api", "api-prod-asg", True, {}),
        (6, "r5.2xlarge", "batch", "batch-data-asg", False, {}),
        (4, "m5.xlarge", "busy", "etl-prod-asg", True, {}),
        (8, "t3.large", "staging", "web-staging-asg", False, {}),
        (10, "t3.medium", "dev", None, False, {}),
        (10, "t3.micro", "idle", None, False, {}),
        (2, "t3.large", "bastion", None, False, {}),
        (2, "m5.large", "web", None, False, {"elb": "legacy-web-elb"}),
        (2, "t3.large", "bastion", None, False, {"role": "ci"}),
    ],
    "us-west-2": [
        (4, "c5.xlarge", "web", "web-usw2-asg", True, {}),
        (2, "g4dn.xlarge", "ml", "ml-training-asg", False, {"launch": "2024-09-01", "spot": True}),
        (3, "t3.micro", "idle", None, False, {}),
        (3, "t3.medium", "dev", None, False, {}),
        # the sandbox instance of the cost data; terminated, so only its history exists
        (1, "t3.micro", "idle", None, False, {"launch": "2025-01-15", "terminate": "2026-04-01"}),
    ],
    "eu-west-1": [
        (1, "m5.xlarge", "windows", None, True, {"launch": "2024-04-01", "platform": "windows"}),
        (4, "m5.large", "web", "web-eu-asg", True, {}),
        (3, "t3.small", "idle", None, False, {}),
    ],
}
_EC2_BASE = {"us-east-1": 0x0000, "us-west-2": 0x1000, "eu-west-1": 0x2000}
_AZS = {"us-east-1": ("us-east-1a", "us-east-1b", "us-east-1c"), "us-west-2": ("us-west-2a", "us-west-2b"),
        "eu-west-1": ("eu-west-1a", "eu-west-1b")}

# Per-instance quirks (index within the region, 1-based) -> attrs.
_EC2_QUIRKS = {
    # stopped for ten days in October 2026 (maintenance), data gap
    ("us-east-1", 0x11): {"stopped": (("2026-10-10", "2026-10-20"),)},
    # a web node that failed its status check for a few hours
    ("us-east-1", 0x03): {"incident": (("2026-11-03T14", "2026-11-03T17"),)},
    # launched late (scale-out): no data before 2026-06-01
    ("us-east-1", 0x0c): {"launch": "2026-06-01"},
    # stopped every weekend although it is not a dev box
    ("us-east-1", 0x2f): {"weekend_off": True},
}


def _ec2(region):
    out = []
    i = 0
    azs = _AZS[region]
    for count, itype, profile, asg, detailed, extra in _EC2_FLEETS[region]:
        for _ in range(count):
            i += 1
            attrs = dict(extra)
            attrs.update(_EC2_QUIRKS.get((region, i), {}))
            launch = attrs.pop("launch", None)
            terminate = attrs.pop("terminate", None)
            rid = "i-0a1b2c3d4e5f6%04x" % (_EC2_BASE[region] + i)
            out.append(Resource("ec2", region, rid, launch, terminate, instance_type=itype, profile=profile,
                                asg=asg, detailed=detailed, az=azs[i % len(azs)], **attrs))
    return out


# --- RDS, Lambda, DynamoDB, S3, ELB, ALB ----------------------------------------------
_RDS = {
    "us-east-1": [("northwind-prod-db", "db.r5.large", "prod"), ("northwind-prod-db-replica", "db.r5.large", "replica"),
                  ("northwind-staging-db", "db.t3.medium", "staging"),
                  ("northwind-analytics-db", "db.r5.large", "analytics")],
    "us-west-2": [("northwind-usw2-db", "db.t3.medium", "staging")],
    "eu-west-1": [("northwind-eu-db", "db.t3.medium", "prod")],
}
# (name, profile, avg duration ms, invocations/min at peak, extra)
_LAMBDA = {
    "us-east-1": [("image-resize", "web", 850, 120, {}), ("order-webhook", "web", 180, 60, {}),
                  ("nightly-report", "cron", 42000, 1, {}), ("thumbnail-generator", "web", 420, 90, {}),
                  ("auth-authorizer", "api", 12, 900, {}), ("telemetry-ingest", "steady", 65, 400, {}),
                  ("etl-trigger", "batch", 2300, 20, {"loop": ("2024-08-13", "2024-08-15")}),
                  ("slack-notifier", "rare", 300, 1, {}), ("cost-report", "cron", 9000, 1, {}),
                  ("log-shipper", "steady", 140, 200, {})],
    "us-west-2": [("ml-preprocess", "batch", 15000, 6, {"launch": "2024-09-01"}),
                  ("usw2-webhook", "web", 200, 30, {}), ("cleanup-cron", "cron", 5000, 1, {})],
    "eu-west-1": [("eu-webhook", "web", 190, 25, {}), ("eu-image-resize", "web", 900, 40, {})],
}
# (name, profile, peak RCU/min, peak WCU/min, extra)
_DDB = {
    "us-east-1": [("sessions", "web", 5200, 1400, {}), ("orders", "web", 1800, 600, {}),
                  ("telemetry-events", "steady", 2400, 9000, {"spike": ("2026-02-17", "2026-02-20")}),
                  ("feature-flags", "api", 3000, 2, {}), ("robot-registry", "steady", 400, 40, {})],
    "us-west-2": [("ml-jobs", "batch", 300, 120, {"launch": "2024-09-01"}), ("usw2-sessions", "web", 900, 250, {})],
    "eu-west-1": [("eu-sessions", "web", 700, 200, {})],
}
# (bucket, GB at 2024-01-01, growth per year, mean object size KB, extra storage class or None, extra)
_S3 = {
    "us-east-1": [("northwind-prod-assets", 850, 0.35, 420, None, {}),
                  ("northwind-data-lake", 42000, 0.6, 9000, None, {}),
                  ("northwind-logs", 6000, 0.9, 35, "StandardIAStorage", {}),
                  ("northwind-backups", 2500, 0.3, 250000, "DeepArchiveStorage", {"archive_from": "2024-06-01"}),
                  ("northwind-static-site", 2.5, 0.1, 60, None, {}),
                  ("northwind-ml-datasets", 9000, 1.2, 1800, None, {})],
    "us-west-2": [("northwind-usw2-artifacts", 300, 0.4, 12000, None, {}),
                  ("northwind-ml-models", 1200, 1.5, 450000, None, {"launch": "2024-09-01"})],
    "eu-west-1": [("northwind-eu-assets", 120, 0.5, 380, None, {"launch": "2024-04-01"}),
                  ("northwind-eu-logs", 90, 0.8, 30, None, {})],
}
_ELB = {"us-east-1": [("legacy-web-elb", "web", 2), ("legacy-api-elb", "api", 2)],
        "us-west-2": [("usw2-legacy-elb", "web", 2)],
        "eu-west-1": [("eu-legacy-elb", "steady", 1)]}
# (name, profile, peak requests/min, target groups)
_ALB = {"us-east-1": [("web-prod", "web", 9000, ("web-prod-tg", "static-prod-tg")),
                      ("api-prod", "api", 14000, ("api-prod-tg",)),
                      ("web-staging", "staging", 400, ("web-staging-tg",))],
        "us-west-2": [("web-usw2", "web", 2500, ("web-usw2-tg",))],
        "eu-west-1": [("web-eu", "web", 1800, ("web-eu-tg",))]}


def _alb_id(region, name):
    # The first ALB matches the brief's example value app/web-prod/50dc6c495c0c9188.
    if (region, name) == ("us-east-1", "web-prod"):
        return "app/web-prod/50dc6c495c0c9188"
    return "app/%s/%s" % (name, hex_id("alb", region, name))


def _build():
    inv = {}
    for region in REGIONS:
        r = {t: [] for t in TYPES}
        r["ec2"] = _ec2(region)
        for name, cls, profile in _RDS[region]:
            r["rds"].append(Resource("rds", region, name, db_class=cls, profile=profile, engine="postgres",
                                     storage_gb=500 if cls == "db.r5.large" else 100))
        for name, profile, dur, rate, extra in _LAMBDA[region]:
            extra = dict(extra)
            launch = extra.pop("launch", None)
            r["lambda"].append(Resource("lambda", region, name, launch, profile=profile, duration_ms=dur,
                                        rate=rate, **extra))
        for name, profile, rcu, wcu, extra in _DDB[region]:
            extra = dict(extra)
            launch = extra.pop("launch", None)
            r["dynamodb"].append(Resource("dynamodb", region, name, launch, profile=profile, rcu=rcu, wcu=wcu,
                                          **extra))
        for name, gb, growth, obj_kb, extra_class, extra in _S3[region]:
            extra = dict(extra)
            launch = extra.pop("launch", None)
            r["s3"].append(Resource("s3", region, name, launch, gb=gb, growth=growth, obj_kb=obj_kb,
                                    extra_class=extra_class, **extra))
        for name, profile, hosts in _ELB[region]:
            r["elb"].append(Resource("elb", region, name, profile=profile, hosts=hosts, azs=_AZS[region][:2]))
        for name, profile, rate, tgs in _ALB[region]:
            tg_ids = tuple("targetgroup/%s/%s" % (tg, hex_id("tg", region, tg)) for tg in tgs)
            r["alb"].append(Resource("alb", region, _alb_id(region, name), profile=profile, rate=rate,
                                     target_groups=tg_ids, azs=_AZS[region][:2], name=name))
        inv[region] = r
    return inv


INVENTORY = _build()


def resources(region, rtype=None):
    """All resources of a region (optionally of one type), terminated ones included."""
    r = INVENTORY.get(region)
    if r is None:
        return []
    if rtype is not None:
        return list(r[rtype])
    return [x for t in TYPES for x in r[t]]


def live(region, rtype, now):
    """Resources of a type alive at epoch `now` (what the console would list)."""
    return [x for x in resources(region, rtype) if x.alive_at(now)]
