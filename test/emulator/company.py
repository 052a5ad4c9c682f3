"""Deterministic cost data for the fictional company "Northwind Robotics".

Everything here is a pure function of the calendar day: the value of a line
item is derived by hashing (day, template id), never from a random generator,
the run order, the wall clock or the emulator's notion of "today".  The API
code (aws_ce.py) and the expectation endpoint (control.py) both read from here,
so an FDW test can compare what it fetched with what the generator says.

Public API
----------
rows(day)        -> tuple of (Template, values); values is a tuple of Decimals
                    in METRICS order.  Cached; fast path used by aws_ce.py.
line_items(day)  -> list of plain dicts (one per line item) with every
                    dimension, the tags, the unit and the seven metrics as
                    Decimal.  Built fresh on each call, safe to mutate.
dim_value(t, key), tag_value(t, key), cost_category_value(t, name)
ACCOUNTS, SERVICES, REGIONS, TAG_KEYS, TAG_VALUES, COST_CATEGORIES, METRICS,
DATA_START, DATA_END, CURRENCY
"""

import datetime
import decimal
import functools
import hashlib
from decimal import Decimal

D = Decimal
CURRENCY = "USD"
DATA_START = datetime.date(2024, 1, 1)
DATA_END = datetime.date(2027, 12, 31)

# Response order of the metric map does not matter on the wire; this fixed
# order only indexes the value tuples.
METRICS = (
    "AmortizedCost",
    "BlendedCost",
    "NetAmortizedCost",
    "NetUnblendedCost",
    "NormalizedUsageAmount",
    "UnblendedCost",
    "UsageQuantity",
)
M_AMORTIZED, M_BLENDED, M_NET_AMORTIZED, M_NET_UNBLENDED, M_NORMALIZED, M_UNBLENDED, M_USAGE = range(7)
COST_METRICS = frozenset(("AmortizedCost", "BlendedCost", "NetAmortizedCost", "NetUnblendedCost", "UnblendedCost"))

ACCOUNTS = {
    "111111111111": "northwind-prod",
    "222222222222": "northwind-staging",
    "333333333333": "northwind-data",
    "444444444444": "northwind-sandbox",
}
PAYER_ACCOUNT = "100000000000"  # management account; it has no usage of its own

COST_CATEGORIES = {
    "BusinessUnit": {
        "111111111111": "Robotics Platform",
        "222222222222": "Robotics Platform",
        "333333333333": "Data & ML",
        "444444444444": "R&D",
    },
}

TAG_KEYS = ("env", "team")
TAG_VALUES = {"env": ("prod", "staging", "dev"), "team": ("platform", "data", "ml")}

# Services under their Cost Explorer SERVICE names (note the real spellings
# "AmazonCloudWatch" and "EC2 - Other").
EC2 = "Amazon Elastic Compute Cloud - Compute"
EC2_OTHER = "EC2 - Other"
S3 = "Amazon Simple Storage Service"
RDS = "Amazon Relational Database Service"
LAMBDA = "AWS Lambda"
DDB = "Amazon DynamoDB"
CW = "AmazonCloudWatch"
ELB = "Amazon Elastic Load Balancing"
VPC = "Amazon Virtual Private Cloud"
KMS = "AWS Key Management Service"
CLOUDFRONT = "Amazon CloudFront"
SP_SERVICE = "Savings Plans for AWS Compute usage"
TAX = "Tax"
SERVICES = (EC2, EC2_OTHER, S3, RDS, LAMBDA, DDB, CW, ELB, VPC, KMS, CLOUDFRONT, SP_SERVICE, TAX)
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "global", "NoRegion")

# Dimensions every line item carries a value for.  "No<Thing>" is what Cost
# Explorer shows for an empty value (NoRegion, NoInstanceType, NoUsageType and
# NoAZ are attested in the wild; the rest follow the same pattern).
DIMENSIONS = (
    "AZ", "BILLING_ENTITY", "CACHE_ENGINE", "DATABASE_ENGINE", "DEPLOYMENT_OPTION",
    "INSTANCE_TYPE", "INSTANCE_TYPE_FAMILY", "INVOICING_ENTITY", "LEGAL_ENTITY_NAME",
    "LINKED_ACCOUNT", "OPERATING_SYSTEM", "OPERATION", "PAYER_ACCOUNT", "PLATFORM",
    "PURCHASE_TYPE", "RECORD_TYPE", "REGION", "SAVINGS_PLANS_TYPE", "SAVINGS_PLAN_ARN",
    "SERVICE", "TENANCY", "USAGE_TYPE", "USAGE_TYPE_GROUP",
)
_EMPTY = {
    "AZ": "NoAZ",
    "CACHE_ENGINE": "NoCacheEngine",
    "DATABASE_ENGINE": "NoDatabaseEngine",
    "DEPLOYMENT_OPTION": "NoDeploymentOption",
    "INSTANCE_TYPE": "NoInstanceType",
    "INSTANCE_TYPE_FAMILY": "NoInstanceTypeFamily",
    "OPERATING_SYSTEM": "NoOperatingSystem",
    "OPERATION": "NoOperation",
    "PLATFORM": "NoPlatform",
    "REGION": "NoRegion",
    "SAVINGS_PLANS_TYPE": "NoSavingsPlansType",
    "SAVINGS_PLAN_ARN": "NoSavingsPlanArn",
    "TENANCY": "NoTenancy",
    "USAGE_TYPE": "NoUsageType",
    "USAGE_TYPE_GROUP": "NoUsageTypeGroup",
}

SP_ARN = "arn:aws:savingsplans::111111111111:savingsplan/3f1c8a52-7d0e-4b8e-9c55-0e6f2d9a1b47"
SP_START = datetime.date(2024, 7, 1)
SP_RATE = D("0.1330")          # effective $/h of an m5.xlarge under the plan (on-demand 0.192)
SP_COMMITMENT_DAILY = D("26.40")  # $1.10/h commitment
PRIVATE_DISCOUNT_START = datetime.date(2025, 1, 1)
PRIVATE_DISCOUNT = D("0.03")   # drives the Net* metrics from this date on
TAX_RATE = D("0.08")
CREDIT_PROMO_END = datetime.date(2025, 6, 30)  # sandbox EC2 covered by promotional credits until then

Q10 = D("1E-10")
ZERO = D(0)

# Generation rounds (quantize); everything downstream must be exact, so the
# aggregating code uses EXACT, which traps on any rounding.
GEN = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN,
                        traps=[decimal.InvalidOperation, decimal.DivisionByZero,
                               decimal.Overflow, decimal.Inexact])

_REGION_PREFIX = {"us-east-1": "", "us-west-2": "USW2-", "eu-west-1": "EU-"}
_REGION_PREFIX_NEW = {"us-east-1": "USE1-", "us-west-2": "USW2-", "eu-west-1": "EU-"}
_NORMALIZATION = {"nano": "0.25", "micro": "0.5", "small": "1", "medium": "2", "large": "4",
                  "xlarge": "8", "2xlarge": "16", "4xlarge": "32"}


class Template:
    """One recurring line item (a resource / usage type) or a derived one."""

    __slots__ = ("tid", "dims", "tags", "cc", "unit", "q0", "price", "qexp", "profile",
                 "noise", "start", "end", "blend", "nf", "kind", "spikes", "source")

    def __init__(self, tid, dims, tags, unit, q0="0", price="0", qdp=3, profile="steady",
                 noise="0.06", start=None, end=None, blend=False, nf=None, kind="usage"):
        self.tid = tid
        self.dims = dims
        self.tags = tags
        self.cc = {name: mapping.get(dims["LINKED_ACCOUNT"]) for name, mapping in COST_CATEGORIES.items()}
        self.unit = unit
        self.q0 = D(q0)
        self.price = D(price)
        self.qexp = D(1).scaleb(-qdp)
        self.profile = profile
        self.noise = D(noise)
        self.start = start or DATA_START
        self.end = end or DATA_END
        self.blend = blend
        self.nf = D(nf) if nf is not None else None
        self.kind = kind
        self.spikes = {}
        self.source = None

    def active(self, day):
        return self.start <= day <= self.end

    def derive(self, suffix, kind, unit=None, tags=None, **dims):
        """A line item of another record type that mirrors this one."""
        nd = dict(self.dims)
        nd.update(dims)
        t = Template(self.tid + "|" + suffix, nd, {} if tags is None else tags,
                     self.unit if unit is None else unit, kind=kind)
        t.source = self
        return t

    def __repr__(self):
        return "Template(%s)" % self.tid


def _dims(account, service, region, usage_type, operation, record_type="Usage", **extra):
    d = {k: _EMPTY.get(k, "") for k in DIMENSIONS}
    d.update(
        LINKED_ACCOUNT=account, SERVICE=service, REGION=region, USAGE_TYPE=usage_type,
        OPERATION=operation, RECORD_TYPE=record_type, PAYER_ACCOUNT=PAYER_ACCOUNT,
        LEGAL_ENTITY_NAME="Amazon Web Services, Inc.", INVOICING_ENTITY="Amazon Web Services, Inc.",
        BILLING_ENTITY="AWS", PURCHASE_TYPE="On Demand Instances",
    )
    d.update(extra)
    return d


TEMPLATES = []
_BY_KEY = {}


def _add(account, service, region, ut, op, unit, q0, price, tags=None, **kw):
    dim_extra = {k: kw.pop(k) for k in list(kw) if k.isupper()}
    t = Template(None, _dims(account, service, region, ut, op, **dim_extra), tags or {}, unit, q0, price, **kw)
    t.tid = "|".join((account, service, ut, op, t.dims["AZ"], ",".join("%s=%s" % kv for kv in sorted(t.tags.items()))))
    assert t.tid not in _BY_KEY, t.tid
    _BY_KEY[t.tid] = t
    TEMPLATES.append(t)
    return t


def _ec2(account, region, az, itype, hours, price, tags, profile, op="RunInstances", platform="Linux/UNIX",
         spot=False, **kw):
    prefix = _REGION_PREFIX[region]
    ut = "%s%s:%s" % (prefix, "SpotUsage" if spot else "BoxUsage", itype)
    family, size = itype.split(".")
    return _add(account, EC2, region, ut, op, "Hrs", hours, price, tags, profile=profile, qdp=3, blend=True,
                nf=_NORMALIZATION[size], AZ=az, INSTANCE_TYPE=itype, INSTANCE_TYPE_FAMILY=family,
                PLATFORM=platform, OPERATING_SYSTEM="Windows" if platform == "Windows" else "Linux",
                TENANCY="Shared", PURCHASE_TYPE="Spot Instances" if spot else "On Demand Instances",
                USAGE_TYPE_GROUP="EC2: Running Hours", **kw)


def _ebs(account, region, az, gb, tags, profile="storage"):
    return _add(account, EC2_OTHER, region, _REGION_PREFIX[region] + "EBS:VolumeUsage.gp3", "CreateVolume-Gp3",
                "GB-Mo", D(gb) / 30, "0.08", tags, profile=profile, noise="0.01", qdp=6, AZ=az,
                USAGE_TYPE_GROUP="EC2: EBS - SSD(gp3)")


def _nat(account, hours, gb, tags, profile):
    a = _add(account, EC2_OTHER, "us-east-1", "NatGateway-Hours", "NatGateway", "Hrs", hours, "0.045", tags,
             profile="flat", noise="0.0", qdp=0, USAGE_TYPE_GROUP="EC2: NAT Gateway - Running Hours")
    b = _add(account, EC2_OTHER, "us-east-1", "NatGateway-Bytes", "NatGateway", "GB", gb, "0.045", tags,
             profile=profile, noise="0.15", qdp=6, USAGE_TYPE_GROUP="EC2: NAT Gateway - Data Processed")
    return a, b


def _s3(account, region, gb, tags, profile="storage", start=None):
    return _add(account, S3, region, _REGION_PREFIX[region] + "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo",
                D(gb) / 30, "0.023", tags, profile=profile, noise="0.01", qdp=8, start=start,
                USAGE_TYPE_GROUP="S3: Storage - Standard")


def _s3_requests(account, tier1, tier2, tags, profile):
    _add(account, S3, "us-east-1", "Requests-Tier1", "PutObject", "Requests", tier1, "0.000005", tags,
         profile=profile, noise="0.12", qdp=0, USAGE_TYPE_GROUP="S3: API Requests - Standard")
    _add(account, S3, "us-east-1", "Requests-Tier2", "GetObject", "Requests", tier2, "0.0000004", tags,
         profile=profile, noise="0.12", qdp=0, USAGE_TYPE_GROUP="S3: API Requests - Standard")


def _lambda(account, gb_seconds, requests, tags, profile):
    _add(account, LAMBDA, "us-east-1", "Lambda-GB-Second", "Invoke", "Lambda-GB-Second", gb_seconds,
         "0.0000166667", tags, profile=profile, noise="0.15", qdp=3)
    if requests:
        _add(account, LAMBDA, "us-east-1", "Request", "Invoke", "Requests", requests, "0.0000002", tags,
             profile=profile, noise="0.15", qdp=0)


def _build():
    prod = "111111111111"
    stg = "222222222222"
    data = "333333333333"
    sbx = "444444444444"
    pp = {"env": "prod", "team": "platform"}

    # --- prod: the customer-facing robotics fleet backend --------------------
    _ec2(prod, "us-east-1", "us-east-1a", "m5.large", "96", "0.096", pp, "web")
    _ec2(prod, "us-east-1", "us-east-1b", "m5.large", "72", "0.096", pp, "web")
    # Eight m5.xlarge that a Compute Savings Plan covers from SP_START on.
    od = _ec2(prod, "us-east-1", "us-east-1a", "m5.xlarge", "192", "0.192", pp, "flat", noise="0.02",
              end=SP_START - datetime.timedelta(days=1))
    sp = od.derive("sp", "sp_covered", tags=pp, RECORD_TYPE="SavingsPlanCoveredUsage",
                   PURCHASE_TYPE="Savings Plans", SAVINGS_PLANS_TYPE="ComputeSavingsPlans", SAVINGS_PLAN_ARN=SP_ARN)
    sp.q0, sp.price, sp.qexp, sp.profile, sp.noise, sp.blend, sp.nf = od.q0, od.price, od.qexp, "flat", od.noise, True, od.nf
    sp.start, sp.source = SP_START, None
    sp.tid = od.tid  # same hash stream: the fleet does not change when the plan starts
    TEMPLATES.append(sp)
    neg = sp.derive("negation", "sp_negation", tags=pp, RECORD_TYPE="SavingsPlanNegation")
    neg.start = SP_START
    TEMPLATES.append(neg)
    fee = Template("sp-fee", _dims(prod, SP_SERVICE, "global", "ComputeSP:1yrNoUpfront", "NoOperation",
                                   "SavingsPlanRecurringFee", PURCHASE_TYPE="Savings Plans",
                                   SAVINGS_PLANS_TYPE="ComputeSavingsPlans", SAVINGS_PLAN_ARN=SP_ARN),
                   {}, "Hrs", kind="sp_fee", start=SP_START)
    fee.source = sp
    TEMPLATES.append(fee)

    _ec2(prod, "us-west-2", "us-west-2a", "c5.xlarge", "48", "0.17", pp, "steady")
    _ec2(prod, "eu-west-1", "eu-west-1a", "m5.xlarge", "48", "0.398", pp, "steady", op="RunInstances:0002",
         platform="Windows", start=datetime.date(2024, 4, 1))
    _ebs(prod, "us-east-1", "us-east-1a", "4000", pp)
    _add(prod, EC2_OTHER, "us-east-1", "EBS:SnapshotUsage", "CreateSnapshot", "GB-Mo", D(6000) / 30, "0.05",
         {"env": "prod"}, profile="storage", noise="0.01", qdp=6, USAGE_TYPE_GROUP="EC2: EBS - Snapshots")
    _nat(prod, "72", "850", pp, "web")
    _add(prod, EC2_OTHER, "us-east-1", "DataTransfer-Out-Bytes", "RunInstances", "GB", "1200", "0.09", None,
         profile="web", noise="0.10", qdp=6, USAGE_TYPE_GROUP="EC2: Data Transfer - Internet (Out)")
    _ebs(prod, "us-west-2", "us-west-2a", "1000", pp)
    _add(prod, RDS, "us-east-1", "Multi-AZUsage:db.r5.large", "CreateDBInstance:0014", "Hrs", "48", "0.50",
         {"env": "prod", "team": "platform"}, profile="flat", noise="0.0", qdp=0, blend=True, nf="4",
         AZ="us-east-1a", INSTANCE_TYPE="db.r5.large", INSTANCE_TYPE_FAMILY="r5", DATABASE_ENGINE="PostgreSQL",
         DEPLOYMENT_OPTION="Multi-AZ", USAGE_TYPE_GROUP="RDS: Running Hours")
    _add(prod, RDS, "us-east-1", "RDS:Multi-AZ-GP2-Storage", "CreateDBInstance:0014", "GB-Mo", D(1000) / 30, "0.23",
         {"env": "prod", "team": "platform"}, profile="storage", noise="0.005", qdp=6, AZ="us-east-1a",
         DATABASE_ENGINE="PostgreSQL", DEPLOYMENT_OPTION="Multi-AZ", USAGE_TYPE_GROUP="RDS: Storage")
    _add(prod, RDS, "us-east-1", "RDS:ChargedBackupUsage", "CreateDBInstance:0014", "GB-Mo", D(500) / 30, "0.095",
         None, profile="storage", noise="0.02", qdp=6, DATABASE_ENGINE="PostgreSQL")
    _s3(prod, "us-east-1", "25000", pp)
    _s3_requests(prod, "2000000", "30000000", pp, "web")
    _lambda(prod, "900000", "5000000", pp, "web")
    _add(prod, DDB, "us-east-1", "ReadRequestUnits", "PayPerRequestThroughput", "ReadRequestUnits", "80000000",
         "0.000000125", pp, profile="web", noise="0.10", qdp=0)
    _add(prod, DDB, "us-east-1", "WriteRequestUnits", "PayPerRequestThroughput", "WriteRequestUnits", "12000000",
         "0.000000625", pp, profile="web", noise="0.10", qdp=0)
    _add(prod, DDB, "us-east-1", "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo", D(300) / 30, "0.25", pp,
         profile="storage", noise="0.01", qdp=8)
    _add(prod, CW, "us-east-1", "CW:MetricMonitorUsage", "MetricStorage", "Metrics", D(2500) / 30, "0.30", None,
         profile="steady", noise="0.02", qdp=6)
    _add(prod, CW, "us-east-1", "DataProcessing-Bytes", "PutLogEvents", "GB", "40", "0.50", pp,
         profile="web", noise="0.10", qdp=6)
    _add(prod, CW, "us-east-1", "CW:Requests", "GetMetricData", "Requests", "1500000", "0.00001", pp,
         profile="steady", noise="0.05", qdp=0)
    _add(prod, ELB, "us-east-1", "LoadBalancerUsage", "LoadBalancing:Application", "Hrs", "72", "0.0225", pp,
         profile="flat", noise="0.0", qdp=0)
    _add(prod, ELB, "us-east-1", "LCUUsage", "LoadBalancing:Application", "LCU-Hrs", "140", "0.008", pp,
         profile="web", noise="0.10", qdp=4)
    # Public IPv4 addresses are billed since 2024-02-01.
    _add(prod, VPC, "us-east-1", _REGION_PREFIX_NEW["us-east-1"] + "PublicIPv4:InUseAddress", "AssociateAddressVPC",
         "Hrs", "288", "0.005", None, profile="flat", noise="0.0", qdp=0, start=datetime.date(2024, 2, 1))
    _add(prod, VPC, "us-east-1", _REGION_PREFIX_NEW["us-east-1"] + "VpcEndpoint-Hours", "VpcEndpoint", "Hrs", "96",
         "0.01", pp, profile="flat", noise="0.0", qdp=0)
    _add(prod, KMS, "us-east-1", "us-east-1-KMS-Keys", "CreateKey", "Keys", D(25) / 30, "1", None,
         profile="flat", noise="0.0", qdp=8)
    _add(prod, KMS, "us-east-1", "us-east-1-KMS-Requests", "GenerateDataKey", "Requests", "900000", "0.000003", pp,
         profile="web", noise="0.08", qdp=0)
    _add(prod, CLOUDFRONT, "global", "US-DataTransfer-Out-Bytes", "GET", "GB", "2200", "0.085", pp,
         profile="web", noise="0.10", qdp=6)
    _add(prod, CLOUDFRONT, "global", "US-Requests-Tier2-HTTPS", "GET", "Requests", "40000000", "0.000001", pp,
         profile="web", noise="0.10", qdp=0)

    # --- staging --------------------------------------------------------------
    sp_tags = {"env": "staging", "team": "platform"}
    _ec2(stg, "us-east-1", "us-east-1a", "t3.large", "96", "0.0832", sp_tags, "staging")
    _ec2(stg, "us-east-1", "us-east-1b", "t3.medium", "48", "0.0416", {"env": "staging"}, "staging")
    _ebs(stg, "us-east-1", "us-east-1a", "800", sp_tags)
    _nat(stg, "24", "120", sp_tags, "staging")
    _add(stg, RDS, "us-east-1", "InstanceUsage:db.t3.medium", "CreateDBInstance:0014", "Hrs", "24", "0.072", sp_tags,
         profile="flat", noise="0.0", qdp=0, blend=True, nf="2", AZ="us-east-1b", INSTANCE_TYPE="db.t3.medium",
         INSTANCE_TYPE_FAMILY="t3", DATABASE_ENGINE="PostgreSQL", DEPLOYMENT_OPTION="Single-AZ",
         USAGE_TYPE_GROUP="RDS: Running Hours")
    _add(stg, RDS, "us-east-1", "RDS:GP2-Storage", "CreateDBInstance:0014", "GB-Mo", D(200) / 30, "0.115", sp_tags,
         profile="storage", noise="0.005", qdp=6, AZ="us-east-1b", DATABASE_ENGINE="PostgreSQL",
         DEPLOYMENT_OPTION="Single-AZ", USAGE_TYPE_GROUP="RDS: Storage")
    _s3(stg, "us-east-1", "2000", sp_tags)
    _lambda(stg, "60000", None, sp_tags, "staging")
    _add(stg, ELB, "us-east-1", "LoadBalancerUsage", "LoadBalancing:Application", "Hrs", "24", "0.0225", sp_tags,
         profile="flat", noise="0.0", qdp=0)
    _add(stg, CW, "us-east-1", "CW:MetricMonitorUsage", "MetricStorage", "Metrics", D(600) / 30, "0.30", None,
         profile="steady", noise="0.02", qdp=6)
    _add(stg, KMS, "us-east-1", "us-east-1-KMS-Keys", "CreateKey", "Keys", D(6) / 30, "1", None,
         profile="flat", noise="0.0", qdp=8)

    # --- data: the data lake and the ML team ---------------------------------
    dp = {"env": "prod", "team": "data"}
    ml = {"env": "dev", "team": "ml"}
    _ec2(data, "us-east-1", "us-east-1a", "r5.2xlarge", "72", "0.504", dp, "batch")
    _ec2(data, "us-west-2", "us-west-2b", "g4dn.xlarge", "60", "0.1578", ml, "ml", op="RunInstances:SV001",
         spot=True, noise="0.35", start=datetime.date(2024, 9, 1))
    _ebs(data, "us-east-1", "us-east-1a", "6000", dp)
    _s3(data, "us-east-1", "180000", dp)
    _add(data, S3, "us-east-1", "TimedStorage-GDA-ByteHrs", "DeepArchiveStorage", "GB-Mo", D(400000) / 30, "0.00099",
         dp, profile="storage", noise="0.005", qdp=8, start=datetime.date(2024, 6, 1),
         USAGE_TYPE_GROUP="S3: Storage - Glacier Deep Archive")
    _s3_requests(data, "6000000", "90000000", dp, "batch")
    _s3(data, "eu-west-1", "20000", dp, start=datetime.date(2024, 4, 1))
    _add(data, EC2_OTHER, "us-east-1", "USE1-USW2-AWS-Out-Bytes", "RunInstances", "GB", "300", "0.02", ml,
         profile="ml", noise="0.30", qdp=6, start=datetime.date(2024, 9, 1),
         USAGE_TYPE_GROUP="EC2: Data Transfer - Region to Region (Out)")
    _lambda(data, "300000", "800000", dp, "batch")
    _add(data, DDB, "us-east-1", "WriteRequestUnits", "PayPerRequestThroughput", "WriteRequestUnits", "40000000",
         "0.000000625", dp, profile="batch", noise="0.10", qdp=0)
    _add(data, DDB, "us-east-1", "ReadRequestUnits", "PayPerRequestThroughput", "ReadRequestUnits", "60000000",
         "0.000000125", dp, profile="batch", noise="0.10", qdp=0)
    _add(data, DDB, "us-east-1", "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo", D(1200) / 30, "0.25", dp,
         profile="storage", noise="0.01", qdp=8)
    _add(data, CW, "us-east-1", "DataProcessing-Bytes", "PutLogEvents", "GB", "25", "0.50", None,
         profile="batch", noise="0.10", qdp=6)
    _add(data, KMS, "us-east-1", "us-east-1-KMS-Requests", "GenerateDataKey", "Requests", "3000000", "0.000003", dp,
         profile="batch", noise="0.08", qdp=0)
    _nat(data, "48", "2000", dp, "batch")

    # --- sandbox: developers' playground, poorly tagged ----------------------
    dev = {"env": "dev"}
    s1 = _ec2(sbx, "us-east-1", "us-east-1a", "t3.micro", "72", "0.0104", dev, "dev")
    s2 = _ec2(sbx, "us-east-1", "us-east-1c", "t3.medium", "24", "0.0416", None, "dev")
    s3 = _ec2(sbx, "us-west-2", "us-west-2a", "t3.micro", "24", "0.0104", None, "dev",
              start=datetime.date(2025, 1, 15), end=datetime.date(2026, 3, 31))
    _ebs(sbx, "us-east-1", "us-east-1a", "300", None)
    _s3(sbx, "us-east-1", "500", dev)
    _lambda(sbx, "20000", None, {"env": "dev", "team": "ml"}, "dev")
    _add(sbx, CW, "us-east-1", "CW:MetricMonitorUsage", "MetricStorage", "Metrics", D(100) / 30, "0.30", None,
         profile="steady", noise="0.02", qdp=6)
    for src in (s1, s2, s3):
        c = src.derive("credit", "credit", unit="", RECORD_TYPE="Credit")
        c.start, c.end = max(src.start, DATA_START), min(src.end, CREDIT_PROMO_END)
        TEMPLATES.append(c)

    # Anomalies on fixed dates: (account, usage type, first day, last day, factor).
    for acct, ut, first, last, factor in (
        (data, "Lambda-GB-Second", "2024-08-13", "2024-08-14", "15"),    # recursive Lambda loop
        (stg, "NatGateway-Bytes", "2025-03-04", "2025-03-04", "25"),      # sync job through the NAT
        (prod, "BoxUsage:m5.large", "2025-11-28", "2025-11-28", "2.2"),   # launch day traffic
        (prod, "LCUUsage", "2025-11-28", "2025-11-28", "3"),
        (data, "Requests-Tier1", "2026-02-17", "2026-02-19", "40"),       # runaway crawler
        (data, "WriteRequestUnits", "2026-02-17", "2026-02-19", "8"),
        (data, "USW2-SpotUsage:g4dn.xlarge", "2026-07-06", "2026-07-06", "6"),  # big training run
        (sbx, "BoxUsage:t3.micro", "2027-05-10", "2027-05-12", "10"),
    ):
        first, last = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
        hit = False
        for t in TEMPLATES:
            if t.kind == "usage" and t.dims["LINKED_ACCOUNT"] == acct and t.dims["USAGE_TYPE"] == ut:
                d = first
                while d <= last:
                    t.spikes[d] = D(factor)
                    d += datetime.timedelta(days=1)
                hit = True
        assert hit, ut

    # Tax, booked on the 1st of each month for the previous month's charges.
    for acct in ACCOUNTS:
        t = Template("tax|" + acct, _dims(acct, TAX, "NoRegion", "NoUsageType", "NoOperation", "Tax",
                                          PURCHASE_TYPE="NoPurchaseType"), {}, "", kind="tax")
        _TAX[acct] = t

    # One-off events: (day, source template key parts, record type, amount).
    nat_bytes = next(t for t in TEMPLATES if t.dims["LINKED_ACCOUNT"] == stg and t.dims["USAGE_TYPE"] == "NatGateway-Bytes")
    lake = next(t for t in TEMPLATES if t.dims["LINKED_ACCOUNT"] == data and t.dims["USAGE_TYPE"] == "TimedStorage-ByteHrs"
                and t.dims["SERVICE"] == S3)
    refund = nat_bytes.derive("refund", "fixed", unit="", RECORD_TYPE="Refund")
    credit = lake.derive("migration-credit", "fixed", unit="", RECORD_TYPE="Credit")
    _FIXED[datetime.date(2025, 3, 20)] = [(refund, D("-850"))]
    _FIXED[datetime.date(2026, 1, 1)] = [(credit, D("-1000"))]


_TAX = {}
_FIXED = {}
_build()

# --- day-level factors --------------------------------------------------------

_PROFILES = {
    # growth per year, weekday factors Mon..Sun
    "flat": (D("0"), (1, 1, 1, 1, 1, 1, 1)),
    "steady": (D("0.20"), (1, 1, 1, 1, 1, D("0.97"), D("0.97"))),
    "web": (D("0.30"), (1, D("1.02"), D("1.03"), D("1.02"), 1, D("0.85"), D("0.82"))),
    "staging": (D("0.15"), (1, 1, 1, 1, D("0.95"), D("0.6"), D("0.6"))),
    "dev": (D("0.10"), (1, 1, 1, 1, D("0.9"), D("0.45"), D("0.4"))),
    "batch": (D("0.40"), (1, 1, 1, 1, 1, 1, 1)),
    "storage": (D("0.45"), (1, 1, 1, 1, 1, 1, 1)),
    "ml": (D("0.60"), (D("1.1"), D("1.1"), D("1.1"), D("1.1"), D("1.0"), D("0.7"), D("0.7"))),
}


@functools.lru_cache(maxsize=None)
def _profile_factor(profile, day):
    growth, weekly = _PROFILES[profile]
    f = (1 + growth * D((day - DATA_START).days) / 365) * D(weekly[day.weekday()])
    if profile == "batch":
        # month-end reporting jobs: the last three days of every month
        nxt = day + datetime.timedelta(days=3)
        if nxt.month != day.month:
            f *= D("1.35")
    if profile == "web" and day.month in (11, 12):
        f *= D("1.10")  # holiday season
    if profile in ("dev", "staging") and (day.month, day.day) in _HOLIDAYS:
        f *= D("0.3")
    return +f


_HOLIDAYS = {(12, 24), (12, 25), (12, 26), (12, 31), (1, 1)}
_TWO64 = D(2 ** 64)


def _unit_interval(day, tid, salt):
    """A deterministic pseudo-random number in [0, 1) with 6 decimals."""
    h = hashlib.blake2b(("%s|%s|%s" % (day.isoformat(), tid, salt)).encode(), digest_size=8).digest()
    return (D(int.from_bytes(h, "big")) / _TWO64).quantize(D("0.000001"), rounding=decimal.ROUND_FLOOR)


def _quantity(t, day):
    f = _profile_factor(t.profile, day)
    if t.noise:
        f *= 1 + (2 * _unit_interval(day, t.tid, "n") - 1) * t.noise
    f *= t.spikes.get(day, 1)
    return (t.q0 * f).quantize(t.qexp)


def _net(x, day):
    if day >= PRIVATE_DISCOUNT_START:
        return (x * (1 - PRIVATE_DISCOUNT)).quantize(Q10)
    return x


def _usage_values(t, day):
    q = _quantity(t, day)
    unblended = (q * t.price).quantize(Q10)
    blended = unblended
    if t.blend:
        blended = (unblended * (1 + (_unit_interval(day, t.tid, "b") - D("0.5")) * D("0.03"))).quantize(Q10)
    normalized = (q * t.nf).quantize(Q10) if t.nf is not None else ZERO
    amortized = unblended
    net_unblended = _net(unblended, day)
    net_amortized = net_unblended
    if t.kind == "sp_covered":
        amortized = (q * SP_RATE).quantize(Q10)
        net_amortized = amortized
    v = [ZERO] * 7
    v[M_AMORTIZED], v[M_BLENDED], v[M_NET_AMORTIZED], v[M_NET_UNBLENDED] = amortized, blended, net_amortized, net_unblended
    v[M_NORMALIZED], v[M_UNBLENDED], v[M_USAGE] = normalized, unblended, q
    return tuple(v)


def _negated_costs(v):
    """Mirror the cost metrics of a line with the opposite sign; no usage."""
    out = [-x for x in v]
    out[M_NORMALIZED] = ZERO
    out[M_USAGE] = ZERO
    return tuple(out)


def _costs(amount, amortized=None, net=None, qty=ZERO):
    v = [amount] * 7
    v[M_AMORTIZED] = amount if amortized is None else amortized
    v[M_NET_AMORTIZED] = v[M_AMORTIZED]
    v[M_NET_UNBLENDED] = amount if net is None else net
    v[M_NORMALIZED] = ZERO
    v[M_USAGE] = qty
    return tuple(v)


@functools.lru_cache(maxsize=None)
def _charges(day):
    """Every line item of a day except tax."""
    out = []
    with decimal.localcontext(GEN):
        by_tid = {}
        for t in TEMPLATES:
            if not t.active(day):
                continue
            if t.kind in ("usage", "sp_covered"):
                v = _usage_values(t, day)
                by_tid[id(t)] = v
                out.append((t, v))
            elif t.kind == "sp_negation":
                cov = by_tid[id(t.source)]
                v = list(_negated_costs(cov))
                v[M_AMORTIZED] = v[M_NET_AMORTIZED] = ZERO  # the plan's cost is in the fee line
                out.append((t, tuple(v)))
            elif t.kind == "sp_fee":
                cov = by_tid[id(t.source)]
                unused = SP_COMMITMENT_DAILY - cov[M_AMORTIZED]
                out.append((t, _costs(SP_COMMITMENT_DAILY, amortized=unused, qty=D(24))))
            elif t.kind == "credit":
                out.append((t, _negated_costs(by_tid[id(t.source)])))
        for t, amount in _FIXED.get(day, ()):
            out.append((t, _costs(amount)))
    return tuple(out)


_TAXABLE = ("Usage", "SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee")


def _tax_lines(day):
    prev_last = day - datetime.timedelta(days=1)
    d = prev_last.replace(day=1)
    if d < DATA_START:
        return ()
    base = {a: ZERO for a in ACCOUNTS}
    with decimal.localcontext(EXACT):
        while d <= prev_last:
            for t, v in _charges(d):
                if t.dims["RECORD_TYPE"] in _TAXABLE:
                    base[t.dims["LINKED_ACCOUNT"]] += v[M_UNBLENDED]
            d += datetime.timedelta(days=1)
    with decimal.localcontext(GEN):
        return tuple((_TAX[a], _costs((base[a] * TAX_RATE).quantize(D("0.01")))) for a in sorted(ACCOUNTS))


@functools.lru_cache(maxsize=None)
def rows(day):
    """All line items of `day` as (Template, values) pairs; () outside the data range."""
    if not DATA_START <= day <= DATA_END:
        return ()
    out = _charges(day)
    if day.day == 1:
        out = out + _tax_lines(day)
    return out


# --- accessors ----------------------------------------------------------------

def dim_value(t, key):
    return t.dims[key]


def tag_value(t, key):
    """The tag's value, or None when the line item does not carry the tag."""
    return t.tags.get(key)


def cost_category_value(t, name):
    return t.cc.get(name)


def line_items(day):
    """The line items of one day as plain dicts (Decimal metrics)."""
    out = []
    for t, v in rows(day):
        item = {"day": day, "id": t.tid, "unit": t.unit or None, "tags": dict(t.tags),
                "cost_categories": {k: x for k, x in t.cc.items() if x is not None}}
        item.update(t.dims)
        for name, x in zip(METRICS, v):
            item[name] = x
        out.append(item)
    return out


def dimension_values(key):
    """Every value a dimension takes anywhere in the data set (sorted)."""
    vals = {t.dims[key] for t in TEMPLATES}
    vals.update(t.dims[key] for t in _TAX.values())
    for events in _FIXED.values():
        vals.update(t.dims[key] for t, _ in events)
    return sorted(vals)
