"""Deterministic GCP billing data of "Northwind Robotics": the standard usage cost
export of billing account 01AB23-CD45EF-6789AB, as BigQuery holds it in
`northwind-billing.billing_export.gcp_billing_export_v1_01AB23_CD45EF_6789AB`.

Everything is a pure function of the usage day (the UTC date of
usage_start_time): values come from hashing (day, template), never from a
random generator, the wall clock or the emulator's `today`.  The table holds
the rows of the days from DATA_START up to `today` (exclusive); which days
that is, is the caller's business (gcp_bigquery.py, expect()).

Rows
----
rows(day) -> tuple of flat row tuples, indexed by the C_* constants below
(memoized, bounded).  Column types as BigQuery stores them: TIMESTAMP = int
microseconds since the epoch, FLOAT64 = float, STRING = str or None,
labels = tuple of (key, value), credits = tuple of
(name, amount, full_name, id, type).  The `project` record is NULL on
account-level rows (every project.* field None).

  * hourly rows (usage_start_time on the hour, usage_end_time + 1 h) for the
    usage SKUs; daily rows for Cloud Monitoring, Cloud Logging, tax and
    adjustments; one monthly row for Support (usage window = the calendar
    month, booked on the 1st: export_time = the 1st + 30 h, which is before
    usage_end_time -- the only rows where it is).
  * cost_type: regular, tax (5 % of each project's and service's net cost of
    the day, one daily row per project and service; Support's tax is an
    account-level row), adjustment (an occasional goodwill correction with a
    negative cost).
  * credits (REPEATED RECORD, amounts negative): SUSTAINED_USAGE_DISCOUNT (N2,
    from the 8th of the month, growing), COMMITTED_USAGE_DISCOUNT (prod's
    us-central1-a N2 fleet), FREE_TIER (the zonal GKE cluster's management
    fee, Monitoring and Logging allotments), PROMOTION (northwind-ml's
    accelerator usage until 2025-06-30).  A row has 0, 1 or 2 credits.
  * labels (REPEATED RECORD key/value) env and team on most usage rows.
  * export_time = usage_end_time + 1.5..5 h; for about 4 % of (SKU, day)
    pairs the export is late (+ 26..56 h).  _PARTITIONTIME is the UTC day of
    export_time.  Late rows of a month's last day are invoiced in the next
    month.
  * cost_at_list: the cost at list prices.  Northwind's contract prices
    usage (regular) rows of Compute Engine 10 % and of BigQuery 5 % below
    list (CONTRACT_PERMILLE): there cost_at_list = round_half_up(cost / (1 -
    discount)) in micro-dollars, > cost when cost > 0; every other row
    (other services, tax, adjustments) has cost_at_list = cost.  Credits
    (sustained/committed use, free tier, promotions) are separate records,
    as in the real export: they lower net cost, not cost nor cost_at_list.
  * usage.amount_in_pricing_units = usage.amount / the units per pricing unit
    (3600 seconds an hour, 2**30 * 3600 byte-seconds a gibibyte hour...), in
    usage.pricing_unit; NULL (and no unit) on tax rows.
  * money has at most 6 decimal places (cost = micro-dollars / 1e6 as a
    float); usage.amount is an integral float below 2**53.

The detailed export
-------------------
`gcp_billing_export_resource_v1_01AB23_CD45EF_6789AB` (TABLE_NAME_DETAILED, same
dataset) holds the same charges, split per resource: detailed_rows(day) are the
rows of rows(day), each followed by two columns (C_RESOURCE_NAME,
C_RESOURCE_GLOBAL_NAME: the `resource` record).  A Compute Engine vCPU, RAM or
GPU row of a zone where gcp_resources.py has instances of the project becomes
one row per instance (its name, and
//compute.googleapis.com/projects/<project>/zones/<zone>/instances/<id>), its
cost, credits and usage split in integers of micro-dollars and units by the
instances' vCPUs (RAM: GiB), the last taking the remainder: per (SKU, hour)
the shares add up to the standard row exactly (cost_at_list: each share's cost
plus its share of the row's cost_at_list - cost).  Every other row is the
standard row with a NULL resource.

partition_bytes(day) -> {partition ordinal: {leaf column: bytes}} for the rows
of one usage day, computed from the day's plan without generating the rows
(BigQuery's sizes: 8 bytes per number/timestamp, 2 + UTF-8 length per
string, NULL 0, records the sum of their fields).  row_bytes(row) is the
brute-force counterpart for tests.

expect(params, today=None) -> the TSV of the expectation endpoint
/_emulator/expect/gcp_cost (see its docstring).

Service ids are the real public ones; SKU ids, project numbers and credit ids
are invented (well-formed, not real).
"""

import datetime
import decimal
import functools
import hashlib
from decimal import Decimal
from urllib.parse import parse_qs

import gcp_resources

BILLING_ACCOUNT = "01AB23-CD45EF-6789AB"
TABLE_PROJECT = "northwind-billing"
TABLE_DATASET = "billing_export"
TABLE_NAME = "gcp_billing_export_v1_01AB23_CD45EF_6789AB"
TABLE_NAME_DETAILED = "gcp_billing_export_resource_v1_01AB23_CD45EF_6789AB"
DATASET_LOCATION = "US"
CURRENCY = "USD"
DATA_START = datetime.date(2025, 1, 1)
MAX_EXPORT_LAG_DAYS = 4           # a row's partition is at most this many days after its usage day
TAX_RATE_PERMILLE = 50            # 5 %

DAY_US = 86400 * 1000000
HOUR_US = 3600 * 1000000
_EPOCH = datetime.date(1970, 1, 1)
_TWO53 = 2 ** 53

# --- the flat row layout --------------------------------------------------------------
(C_BILLING_ACCOUNT_ID, C_SERVICE_ID, C_SERVICE_DESCRIPTION, C_SKU_ID, C_SKU_DESCRIPTION,
 C_PROJECT_ID, C_PROJECT_NUMBER, C_PROJECT_NAME, C_LABELS,
 C_LOCATION_LOCATION, C_LOCATION_COUNTRY, C_LOCATION_REGION, C_LOCATION_ZONE,
 C_CURRENCY, C_CURRENCY_CONVERSION_RATE, C_USAGE_UNIT, C_USAGE_PRICING_UNIT, C_COST_TYPE,
 C_USAGE_START_TIME, C_USAGE_END_TIME, C_EXPORT_TIME, C_COST, C_USAGE_AMOUNT,
 C_USAGE_AMOUNT_IN_PRICING_UNITS, C_CREDITS, C_INVOICE_MONTH, C_PARTITIONTIME, C_COST_AT_LIST) = range(28)
N_STATIC = 18
# the detailed export's rows go on: the resource record
C_RESOURCE_NAME, C_RESOURCE_GLOBAL_NAME = 28, 29

# Leaf columns (dotted paths) -> flat index; "labels" and "credits" are whole records.
LEAF_INDEX = {
    "billing_account_id": C_BILLING_ACCOUNT_ID,
    "service.id": C_SERVICE_ID, "service.description": C_SERVICE_DESCRIPTION,
    "sku.id": C_SKU_ID, "sku.description": C_SKU_DESCRIPTION,
    "usage_start_time": C_USAGE_START_TIME, "usage_end_time": C_USAGE_END_TIME,
    "project.id": C_PROJECT_ID, "project.number": C_PROJECT_NUMBER, "project.name": C_PROJECT_NAME,
    "labels": C_LABELS,
    "location.location": C_LOCATION_LOCATION, "location.country": C_LOCATION_COUNTRY,
    "location.region": C_LOCATION_REGION, "location.zone": C_LOCATION_ZONE,
    "export_time": C_EXPORT_TIME, "cost": C_COST, "currency": C_CURRENCY,
    "currency_conversion_rate": C_CURRENCY_CONVERSION_RATE,
    "usage.amount": C_USAGE_AMOUNT, "usage.unit": C_USAGE_UNIT,
    "usage.amount_in_pricing_units": C_USAGE_AMOUNT_IN_PRICING_UNITS, "usage.pricing_unit": C_USAGE_PRICING_UNIT,
    "credits": C_CREDITS, "invoice.month": C_INVOICE_MONTH, "cost_type": C_COST_TYPE,
    "cost_at_list": C_COST_AT_LIST,
}
LEAF_INDEX_DETAILED = dict(LEAF_INDEX, **{"resource.name": C_RESOURCE_NAME,
                                           "resource.global_name": C_RESOURCE_GLOBAL_NAME})
NUMBER_LEAVES = frozenset(("usage_start_time", "usage_end_time", "export_time", "cost", "currency_conversion_rate",
                           "usage.amount", "usage.amount_in_pricing_units", "cost_at_list"))

# The table's schema, in column order: (name, type, children).  Types are GoogleSQL
# names; RECORD children are (name, type, flat index); REPEATED records give the
# element fields (name, type, index in the element tuple).
SCHEMA = (
    ("billing_account_id", "STRING", C_BILLING_ACCOUNT_ID),
    ("service", "STRUCT", (("id", "STRING", C_SERVICE_ID), ("description", "STRING", C_SERVICE_DESCRIPTION))),
    ("sku", "STRUCT", (("id", "STRING", C_SKU_ID), ("description", "STRING", C_SKU_DESCRIPTION))),
    ("usage_start_time", "TIMESTAMP", C_USAGE_START_TIME),
    ("usage_end_time", "TIMESTAMP", C_USAGE_END_TIME),
    ("project", "STRUCT", (("id", "STRING", C_PROJECT_ID), ("number", "STRING", C_PROJECT_NUMBER),
                           ("name", "STRING", C_PROJECT_NAME))),
    ("labels", "ARRAY", (("key", "STRING", 0), ("value", "STRING", 1))),
    ("location", "STRUCT", (("location", "STRING", C_LOCATION_LOCATION), ("country", "STRING", C_LOCATION_COUNTRY),
                            ("region", "STRING", C_LOCATION_REGION), ("zone", "STRING", C_LOCATION_ZONE))),
    ("export_time", "TIMESTAMP", C_EXPORT_TIME),
    ("cost", "FLOAT64", C_COST),
    ("currency", "STRING", C_CURRENCY),
    ("currency_conversion_rate", "FLOAT64", C_CURRENCY_CONVERSION_RATE),
    ("usage", "STRUCT", (("amount", "FLOAT64", C_USAGE_AMOUNT), ("unit", "STRING", C_USAGE_UNIT),
                         ("amount_in_pricing_units", "FLOAT64", C_USAGE_AMOUNT_IN_PRICING_UNITS),
                         ("pricing_unit", "STRING", C_USAGE_PRICING_UNIT))),
    ("credits", "ARRAY", (("name", "STRING", 0), ("amount", "FLOAT64", 1), ("full_name", "STRING", 2),
                          ("id", "STRING", 3), ("type", "STRING", 4))),
    ("invoice", "STRUCT", (("month", "STRING", C_INVOICE_MONTH),)),
    ("cost_type", "STRING", C_COST_TYPE),
    ("cost_at_list", "FLOAT64", C_COST_AT_LIST),
)
SCHEMA_DETAILED = SCHEMA + (
    ("resource", "STRUCT", (("name", "STRING", C_RESOURCE_NAME), ("global_name", "STRING", C_RESOURCE_GLOBAL_NAME))),
)

# --- the company ----------------------------------------------------------------------
PROD = ("northwind-prod", "412730194385", "Northwind Production")
ML = ("northwind-ml", "587201938466", "Northwind ML")
DATA = ("northwind-data", "730194385520", "Northwind Data Platform")
PROJECTS = (PROD, ML, DATA)

CE = ("6F81-5844-456A", "Compute Engine")
GCS = ("95FF-2EF5-5EA1", "Cloud Storage")
BQ = ("24E6-581D-38E5", "BigQuery")
SQL = ("9662-B51E-5089", "Cloud SQL")
GKE = ("CCD8-9BF1-090E", "Kubernetes Engine")
NET = ("E505-1604-58F8", "Networking")
MON = ("58CD-E7C3-72CA", "Cloud Monitoring")
LOG = ("5490-F7B7-8DF6", "Cloud Logging")
SUP = ("2062-016F-44A2", "Support")
SERVICES = (CE, GCS, BQ, SQL, GKE, NET, MON, LOG, SUP)

_COUNTRY = {"us-central1": "US", "europe-west1": "BE"}


def _zone(z):
    r = z.rsplit("-", 1)[0]
    return (z, _COUNTRY[r], r, z)


def _region(r):
    return (r, _COUNTRY[r], r, None)


MULTI_US = ("us", "US", None, None)
GLOBAL = ("global", None, "global", None)
NOWHERE = (None, None, None, None)

L_PROD = (("env", "prod"), ("team", "platform"))
L_DATA = (("env", "prod"), ("team", "data"))
L_ML = (("env", "dev"), ("team", "ml"))
L_ML_STG = (("env", "staging"), ("team", "ml"))

GIB = 2 ** 30
TIB = 2 ** 40
MIB = 2 ** 20
# usage.unit, usage.pricing_unit, usage units per pricing unit
SECONDS = ("seconds", "hour", 3600)
RAM = ("byte-seconds", "gibibyte hour", GIB * 3600)
STORAGE = ("byte-seconds", "gibibyte month", GIB * 3600 * 730)
EGRESS = ("bytes", "gibibyte", GIB)
SCAN = ("bytes", "tebibyte", TIB)
REQUESTS = ("requests", "requests", 1)
MONVOL = ("bytes", "mebibyte", MIB)

# credits: (name, full_name, id, type)
CR_SUD = ("Sustained Usage Discount", "Sustained Usage Discount", "SUD-6F81-5844-456A", "SUSTAINED_USAGE_DISCOUNT")
CR_CUD_CPU = ("Committed use discount: CPU", "Committed use discount: CPU in us-central1 (1 year)",
              "commitments/4821937", "COMMITTED_USAGE_DISCOUNT")
CR_CUD_RAM = ("Committed use discount: RAM", "Committed use discount: RAM in us-central1 (1 year)",
              "commitments/4821938", "COMMITTED_USAGE_DISCOUNT")
CR_FREE = ("Free Tier", "Free Tier", "FREE-TIER", "FREE_TIER")
CR_PROMO = ("Google for Startups Cloud Program", "Google for Startups Cloud Program credit (Northwind Robotics)",
            "pc-7f3a91c2", "PROMOTION")
PROMO_END = datetime.date(2025, 6, 30)

# Northwind's contract prices, permille below list, per service id: the usage
# (regular) rows of these services cost less than cost_at_list
CONTRACT_PERMILLE = {"6F81-5844-456A": 100, "24E6-581D-38E5": 50}     # Compute Engine, BigQuery

# hour-of-day and weekday factors (Mon..Sun) and yearly growth per profile
_DIURNAL = (0.62, 0.58, 0.55, 0.54, 0.55, 0.6, 0.7, 0.82, 0.95, 1.06, 1.14, 1.2,
            1.22, 1.22, 1.2, 1.17, 1.13, 1.08, 1.02, 0.96, 0.88, 0.8, 0.72, 0.66)
_NIGHTLY = tuple(1.6 if h < 6 else 0.8 for h in range(24))
_FLAT24 = (1.0,) * 24
_PROFILES = {
    "web": (0.30, (1.0, 1.02, 1.03, 1.02, 1.0, 0.85, 0.82), _DIURNAL),
    "batch": (0.40, (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0), _NIGHTLY),
    "ml": (0.60, (1.1, 1.1, 1.1, 1.1, 1.0, 0.6, 0.5), _FLAT24),
    "flat": (0.0, (1.0,) * 7, _FLAT24),
    "storage": (0.35, (1.0,) * 7, _FLAT24),
    "steady": (0.20, (1.0, 1.0, 1.0, 1.0, 1.0, 0.97, 0.97), _FLAT24),
}


class Template:
    """One recurring line item: a SKU used by a project at a location."""

    __slots__ = ("tid", "project", "service", "sku", "loc", "labels", "unit", "punit", "factor", "price",
                 "base", "grain", "profile", "noise", "credits", "start", "end", "cost_type", "static",
                 "static_bytes", "label_bytes", "spikes")

    def __init__(self, project, service, sku, loc, labels, units, price, base, grain="hour", profile="steady",
                 noise=0.05, credits=(), start=None, end=None, cost_type="regular"):
        self.project = project
        self.service = service
        self.sku = sku
        self.loc = loc
        self.labels = labels
        self.unit, self.punit, self.factor = units if units else (None, None, 1)
        self.price = price                  # USD per pricing unit
        # pricing units per row at the start of the data; storage SKUs are given in GiB held
        self.base = base / 730.0 if units is STORAGE else base
        self.grain = grain                  # "hour", "day", "month"
        self.profile = profile
        self.noise = noise
        self.credits = credits
        self.start = start or DATA_START
        self.end = end or datetime.date(2099, 12, 31)
        self.cost_type = cost_type
        self.spikes = {}
        p = project or (None, None, None)
        self.tid = "|".join(str(x) for x in (p[0], service[0], sku[0], loc[0], grain, cost_type))
        self.static = (BILLING_ACCOUNT, service[0], service[1], sku[0], sku[1], p[0], p[1], p[2], labels,
                       loc[0], loc[1], loc[2], loc[3], CURRENCY, 1.0, self.unit, self.punit, cost_type)
        assert len(self.static) == N_STATIC
        sb = {}
        for name, idx in LEAF_INDEX.items():
            if idx < N_STATIC and name != "labels":
                v = self.static[idx]
                sb[name] = 0 if v is None else (8 if isinstance(v, float) else 2 + len(v.encode()))
        self.static_bytes = sb
        self.label_bytes = sum(4 + len(k.encode()) + len(v.encode()) for k, v in labels)

    def active(self, day):
        return self.start <= day <= self.end

    def __repr__(self):
        return "Template(%s)" % self.tid


def _sku(sid, desc):
    return (sid, desc)


N2_CORE_US = _sku("B7D4-21A3-5E8C", "N2 Instance Core running in Americas")
N2_RAM_US = _sku("C1E2-8F40-7A19", "N2 Instance Ram running in Americas")
N2_CORE_EU = _sku("4A9B-6C3D-0E21", "N2 Instance Core running in EMEA")
N2_RAM_EU = _sku("8D2F-3B71-C604", "N2 Instance Ram running in EMEA")
A100 = _sku("0F3E-92B8-1D57", "Nvidia Tesla A100 GPU running in Americas")
A2_CORE = _sku("6E18-D4A0-B2F3", "A2 Instance Core running in Americas")
A2_RAM = _sku("9B05-E7C2-4F8A", "A2 Instance Ram running in Americas")
PD = _sku("D973-5D65-BAB2", "Storage PD Capacity")
SSD = _sku("B188-61DD-52E4", "SSD backed PD Capacity")
GKE_ZONAL = _sku("E1A3-7D09-42C6", "Zonal Kubernetes Clusters")
GKE_REGIONAL = _sku("F2B4-8E1A-53D7", "Regional Kubernetes Clusters")
SQL_CPU = _sku("3C47-0A9E-D1B8", "Cloud SQL for PostgreSQL: Zonal - vCPU in Americas")
SQL_RAM = _sku("5E61-2C0F-A3D9", "Cloud SQL for PostgreSQL: Zonal - RAM in Americas")
SQL_STORAGE = _sku("7A83-4E21-C5FB", "Cloud SQL for PostgreSQL: Zonal - Standard storage in Americas")
SQL_CPU_EU = _sku("1D92-6B3C-E4A0", "Cloud SQL for PostgreSQL: Regional - vCPU in EMEA")
GCS_US = _sku("E5C0-6256-F2D1", "Standard Storage US Multi-region")
GCS_NEARLINE = _sku("A703-5CB6-E0BF", "Nearline Storage US Multi-region")
GCS_BE = _sku("2E27-4F75-95CD", "Standard Storage Belgium")
GCS_CLASS_A = _sku("1A8C-3D5E-7F90", "Multi-Region Standard Class A Operations")
GCS_CLASS_B = _sku("2B9D-4E6F-8A01", "Multi-Region Standard Class B Operations")
EGRESS_US = _sku("9DE9-9092-B3BC", "Network Internet Data Transfer Out from Americas to Americas")
EGRESS_EU = _sku("4C2B-8A1E-6D3F", "Network Internet Data Transfer Out from EMEA to Americas")
INTER_REGION = _sku("6B8F-E63D-832B", "Network Inter Region Data Transfer Out from Americas to EMEA")
INTER_ZONE = _sku("DE9E-AFBC-A15A", "Network Inter Zone Data Transfer Out")
LB_RULE = _sku("F1E4-3D2C-B5A6", "Cloud Load Balancer Forwarding Rule Minimum Service Charge")
BQ_ANALYSIS = _sku("F17B-412E-CB64", "Analysis")
BQ_ACTIVE = _sku("3362-E469-6BEF", "Active Logical Storage")
BQ_LONG = _sku("A2D6-D1D3-2E86", "Long Term Logical Storage")
MON_VOLUME = _sku("5C7A-0B3E-9D21", "Metric Volume")
LOG_STORAGE = _sku("8E3F-1C2D-4B5A", "Log Storage cost")
SUP_FEE = _sku("B3C8-4F1D-2E7A", "Enhanced Support")
TAX_SKU = _sku("7D1E-0C2F-B4A9", "Sales Tax")
ADJ_SKU = _sku("A6E0-9B3D-5C1F", "Goodwill adjustment")

SUD = ("sud",)
CUD_CPU = ("cud", CR_CUD_CPU, 250)        # permille of the cost
CUD_RAM = ("cud", CR_CUD_RAM, 250)
FREE_ALL = ("free_all",)
PROMO = ("promo", 500)
FREE_MON = ("free_cap", 1290000)           # micro-dollars a day
FREE_LOG = ("free_cap", 833333)


def _build():
    T = Template
    z_a, z_b, z_c, z_f = (_zone("us-central1-" + s) for s in "abcf")
    e_b, e_c, e_d = (_zone("europe-west1-" + s) for s in "bcd")
    usc, euw = _region("us-central1"), _region("europe-west1")
    out = [
        # --- northwind-prod: the fleet backend ---
        T(PROD, CE, N2_CORE_US, z_a, L_PROD, SECONDS, 0.031611, 32, profile="web", credits=(CUD_CPU, SUD)),
        T(PROD, CE, N2_RAM_US, z_a, L_PROD, RAM, 0.004237, 128, profile="web", credits=(CUD_RAM, SUD)),
        T(PROD, CE, N2_CORE_US, z_b, L_PROD, SECONDS, 0.031611, 16, profile="web", credits=(SUD,)),
        T(PROD, CE, N2_RAM_US, z_b, L_PROD, RAM, 0.004237, 64, profile="web", credits=(SUD,)),
        T(PROD, CE, N2_CORE_EU, e_b, L_PROD, SECONDS, 0.034806, 8, profile="web", credits=(SUD,)),
        T(PROD, CE, N2_RAM_EU, e_b, L_PROD, RAM, 0.004664, 32, profile="web", credits=(SUD,)),
        T(PROD, CE, PD, z_a, L_PROD, STORAGE, 0.04, 700, profile="storage", noise=0.01),
        T(PROD, CE, SSD, z_b, L_PROD, STORAGE, 0.17, 400, profile="storage", noise=0.01),
        T(PROD, GKE, GKE_ZONAL, z_a, L_PROD, SECONDS, 0.10, 1, profile="flat", noise=0.0, credits=(FREE_ALL,)),
        T(PROD, SQL, SQL_CPU, z_c, L_PROD, SECONDS, 0.0413, 8, profile="flat", noise=0.0),
        T(PROD, SQL, SQL_RAM, z_c, L_PROD, RAM, 0.007, 32, profile="flat", noise=0.0),
        T(PROD, SQL, SQL_STORAGE, z_c, L_PROD, STORAGE, 0.17, 500, profile="storage", noise=0.005),
        T(PROD, GCS, GCS_US, MULTI_US, L_PROD, STORAGE, 0.026, 700, profile="storage", noise=0.01),
        T(PROD, GCS, GCS_CLASS_A, MULTI_US, L_PROD, REQUESTS, 0.000005, 40000, profile="web", noise=0.12),
        T(PROD, GCS, GCS_CLASS_B, MULTI_US, L_PROD, REQUESTS, 0.0000004, 400000, profile="web", noise=0.12),
        T(PROD, NET, EGRESS_US, usc, L_PROD, EGRESS, 0.12, 30, profile="web", noise=0.10),
        T(PROD, NET, INTER_REGION, usc, L_PROD, EGRESS, 0.05, 5, profile="web", noise=0.10),
        T(PROD, NET, LB_RULE, GLOBAL, (), SECONDS, 0.025, 1, profile="flat", noise=0.0),
        # --- northwind-ml: training ---
        T(ML, CE, A100, z_a, L_ML, SECONDS, 2.933908, 2, profile="ml", noise=0.35, credits=(PROMO,),
          start=datetime.date(2025, 2, 1)),
        T(ML, CE, A2_CORE, z_a, L_ML, SECONDS, 0.017407, 24, profile="ml", noise=0.35, credits=(PROMO,),
          start=datetime.date(2025, 2, 1)),
        T(ML, CE, A2_RAM, z_a, L_ML, RAM, 0.002330, 170, profile="ml", noise=0.35, credits=(PROMO,),
          start=datetime.date(2025, 2, 1)),
        T(ML, CE, N2_CORE_EU, e_c, L_ML_STG, SECONDS, 0.034806, 4, profile="steady", credits=(SUD,)),
        T(ML, GCS, GCS_BE, euw, L_ML, STORAGE, 0.020, 800, profile="storage", noise=0.01),
        T(ML, BQ, BQ_ANALYSIS, MULTI_US, L_ML, SCAN, 6.25, 0.05, profile="ml", noise=0.5),
        T(ML, NET, INTER_ZONE, usc, (), EGRESS, 0.01, 50, profile="ml", noise=0.2),
        # --- northwind-data: the data platform ---
        T(DATA, BQ, BQ_ANALYSIS, MULTI_US, L_DATA, SCAN, 6.25, 0.4, profile="batch", noise=0.3),
        T(DATA, BQ, BQ_ACTIVE, MULTI_US, L_DATA, STORAGE, 0.02, 650, profile="storage", noise=0.01),
        T(DATA, BQ, BQ_LONG, MULTI_US, (), STORAGE, 0.01, 700, profile="storage", noise=0.01),
        T(DATA, CE, N2_CORE_US, z_f, L_DATA, SECONDS, 0.031611, 24, profile="batch", credits=(SUD,)),
        T(DATA, CE, N2_RAM_US, z_f, L_DATA, RAM, 0.004237, 96, profile="batch", credits=(SUD,)),
        T(DATA, GKE, GKE_REGIONAL, euw, L_DATA, SECONDS, 0.10, 1, profile="flat", noise=0.0),
        T(DATA, SQL, SQL_CPU_EU, e_d, L_DATA, SECONDS, 0.0994, 4, profile="flat", noise=0.0),
        T(DATA, GCS, GCS_US, MULTI_US, L_DATA, STORAGE, 0.026, 600, profile="storage", noise=0.01,
          start=datetime.date(2025, 3, 1)),
        T(DATA, GCS, GCS_NEARLINE, MULTI_US, (), STORAGE, 0.010, 700, profile="storage", noise=0.01),
        T(DATA, NET, EGRESS_EU, euw, L_DATA, EGRESS, 0.12, 8, profile="batch", noise=0.15),
        # --- daily rows ---
        T(PROD, MON, MON_VOLUME, GLOBAL, (), MONVOL, 0.258, 40, grain="day", profile="steady", credits=(FREE_MON,)),
        T(ML, MON, MON_VOLUME, GLOBAL, (), MONVOL, 0.258, 6, grain="day", profile="steady", credits=(FREE_MON,)),
        T(DATA, MON, MON_VOLUME, GLOBAL, (), MONVOL, 0.258, 15, grain="day", profile="steady", credits=(FREE_MON,)),
        T(PROD, LOG, LOG_STORAGE, GLOBAL, (("env", "prod"),), EGRESS, 0.50, 20, grain="day", profile="web",
          credits=(FREE_LOG,)),
        T(DATA, LOG, LOG_STORAGE, GLOBAL, (), EGRESS, 0.50, 8, grain="day", profile="batch", credits=(FREE_LOG,)),
        # --- monthly, account level ---
        T(None, SUP, SUP_FEE, GLOBAL, (), None, 500.0, 1, grain="month", profile="flat", noise=0.0),
    ]
    # Anomalies on fixed dates: (project, sku, first day, last day, factor).
    for proj, sku, first, last, factor in (
        (DATA, BQ_ANALYSIS, "2025-03-10", "2025-03-11", 12.0),      # a runaway scheduled query
        (PROD, EGRESS_US, "2025-11-28", "2025-11-28", 3.0),        # launch day
        (ML, A100, "2026-02-16", "2026-02-18", 4.0),               # a big training run
        (DATA, BQ_ANALYSIS, "2026-09-01", "2026-09-01", 8.0),
    ):
        d, last = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
        hit = [t for t in out if t.project == proj and t.sku == sku]
        assert hit, sku
        while d <= last:
            for t in hit:
                t.spikes[d] = factor
            d += datetime.timedelta(days=1)
    return tuple(out)


TEMPLATES = _build()
_TAX_TEMPLATES = {}
for _p in PROJECTS + (None,):
    for _s in SERVICES:
        _TAX_TEMPLATES[(_p and _p[0], _s[0])] = Template(_p, _s, TAX_SKU, NOWHERE, (), None, 0.0, 0, grain="day",
                                                         cost_type="tax")
ADJUSTMENT = Template(PROD, CE, ADJ_SKU, _zone("us-central1-a"), (), SECONDS, 0.0, 0, grain="day",
                      cost_type="adjustment")


# --- deterministic numbers ---------------------------------------------------------------

def _digest(day, tid, salt=""):
    return hashlib.blake2b(("%s|%s|%s" % (day.isoformat(), tid, salt)).encode(), digest_size=64).digest()


def _u16(b, i):
    """The i-th 16-bit value of a digest as a number in [0, 1)."""
    return ((b[2 * i] << 8) | b[2 * i + 1]) / 65536.0


def day_us(day):
    return (day - _EPOCH).days * DAY_US


@functools.lru_cache(maxsize=4096)
def _day_factor(profile, day):
    growth, weekly, _ = _PROFILES[profile]
    f = (1 + growth * (day - DATA_START).days / 365.0) * weekly[day.weekday()]
    if profile == "batch" and (day + datetime.timedelta(days=3)).month != day.month:
        f *= 1.35   # month-end reporting
    return f


def _month_start(day):
    return day.replace(day=1)


def _next_month(day):
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def _sud_permille(day):
    d = day.day
    return 0 if d < 8 else 100 if d < 15 else 200 if d < 22 else 300


# --- the plan of a day: which rows exist, when they are exported ----------------------------

class _Entry:
    __slots__ = ("t", "hours", "start_us", "row_us", "delay_us", "late", "credit_recs", "digest")

    def __init__(self, t, hours, start_us, row_us, delay_us, late, credit_recs, digest):
        self.t = t
        self.hours = hours            # row offsets from start_us (row k starts at start_us + k * row_us)
        self.start_us = start_us
        self.row_us = row_us          # length of a row's usage window
        self.delay_us = delay_us      # export_time - usage_end_time (Support: export - start)
        self.late = late
        self.credit_recs = credit_recs  # the credit kinds the rows carry (records without the amount)
        self.digest = digest


def _credit_kinds(t, day):
    recs = []
    for c in t.credits:
        k = c[0]
        if k == "sud":
            if _sud_permille(day):
                recs.append(CR_SUD)
        elif k == "cud":
            recs.append(c[1])
        elif k == "promo":
            if day <= PROMO_END:
                recs.append(CR_PROMO)
        else:  # free_all, free_cap
            recs.append(CR_FREE)
    return tuple(recs)


def _export(dg, day, tid):
    late = dg[62] < 10                      # ~4 % of (template, day)
    if late:
        delay_s = 26 * 3600 + int(_u16(dg, 30) * 30 * 3600)
    else:
        delay_s = 5400 + int(_u16(dg, 29) * 3.5 * 3600)
    return delay_s * 1000000, late


@functools.lru_cache(maxsize=2048)
def plan(day):
    """The rows of `day` without their values: a tuple of _Entry."""
    if day < DATA_START:
        return ()
    start = day_us(day)
    out = []
    services_of = {}
    for t in TEMPLATES:
        if not t.active(day):
            continue
        if t.grain == "month" and day.day != 1:
            continue
        dg = _digest(day, t.tid)
        delay, late = _export(dg, day, t.tid)
        if t.grain == "hour":
            e = _Entry(t, tuple(range(24)), start, HOUR_US, delay, late, _credit_kinds(t, day), dg)
        elif t.grain == "day":
            e = _Entry(t, (0,), start, DAY_US, delay, late, _credit_kinds(t, day), dg)
        else:
            span = day_us(_next_month(day)) - start
            e = _Entry(t, (0,), start, span, 30 * HOUR_US - span, False, (), dg)
        out.append(e)
        services_of.setdefault((t.project and t.project[0], t.service[0]), True)
    for key in services_of:
        tt = _TAX_TEMPLATES[key]
        dg = _digest(day, tt.tid)
        if key[0] is None:
            # Support's tax, booked with the fee
            span = day_us(_next_month(day)) - start
            out.append(_Entry(tt, (0,), start, span, 30 * HOUR_US - span, False, (), dg))
        else:
            delay, late = _export(dg, day, tt.tid)
            out.append(_Entry(tt, (0,), start, DAY_US, delay, late, (), dg))
    if day.day == 15 and _digest(_month_start(day), "adjustment")[0] < 96:
        dg = _digest(day, ADJUSTMENT.tid)
        delay, late = _export(dg, day, ADJUSTMENT.tid)
        out.append(_Entry(ADJUSTMENT, (0,), start, DAY_US, delay, late, (), dg))
    return tuple(out)


def _invoice_month(day, late):
    if late and (day + datetime.timedelta(days=1)).day == 1:
        day = day + datetime.timedelta(days=1)
    return "%04d%02d" % (day.year, day.month)


def _credit_amounts(recs, t, day, cost_micros):
    """Micro-dollar amounts (negative) of the credits of one row, in record order."""
    out = []
    rest = cost_micros
    for c, rec in zip([c for c in t.credits if _credit_applies(c, day)], recs):
        k = c[0]
        if k == "cud":
            a = cost_micros * c[2] // 1000
        elif k == "sud":
            a = rest * _sud_permille(day) // 1000
        elif k == "promo":
            a = rest * c[1] // 1000
        elif k == "free_all":
            a = rest
        else:  # free_cap
            a = min(rest, c[1])
        rest -= a
        out.append(-a)
    return out


def _credit_applies(c, day):
    k = c[0]
    if k == "sud":
        return _sud_permille(day) > 0
    if k == "promo":
        return day <= PROMO_END
    return True


def _quantity_micro(t, day, dg, k, hour):
    """Usage units of one row (an int) and its cost in micro-dollars."""
    growth_f = _day_factor(t.profile, day)
    f = growth_f * _PROFILES[t.profile][2][hour] * t.spikes.get(day, 1.0)
    if t.noise:
        f *= 1.0 + (2.0 * _u16(dg, k) - 1.0) * t.noise
    units = int(round(t.base * f * t.factor))
    if units >= _TWO53:
        units = _TWO53 - 1
    cost_micros = int(round(units * t.price * 1000000.0 / t.factor))
    return units, cost_micros


@functools.lru_cache(maxsize=96)
def rows(day):
    """All rows whose usage starts on `day` (a tuple of flat tuples)."""
    out = []
    net_by = {}
    for e in plan(day):
        t = e.t
        if t.cost_type == "tax":
            net = net_by.get((t.project and t.project[0], t.service[0]), 0)
            cost_micros = (net * TAX_RATE_PERMILLE + 500) // 1000 if net > 0 else 0
            units = 0
            apu = None
        elif t.cost_type == "adjustment":
            cost_micros = -(5000000 + int(_u16(e.digest, 1) * 40000000))
            units = 0
            apu = 0.0
        else:
            units = cost_micros = 0
        inv = _invoice_month(day, e.late)
        for k, h in enumerate(e.hours):
            s = e.start_us + h * e.row_us
            end = s + e.row_us
            if t.cost_type == "regular":
                if t.grain == "month":
                    units, cost_micros = 1, int(round(t.price * (1.2 if day.year >= 2026 else 1.0) * 1000000))
                else:
                    units, cost_micros = _quantity_micro(t, day, e.digest, k, h if t.grain == "hour" else 12)
                apu = units / t.factor
                if e.credit_recs:
                    amounts = _credit_amounts(e.credit_recs, t, day, cost_micros)
                    credits = tuple((r[0], a / 1000000.0, r[1], r[2], r[3]) for r, a in zip(e.credit_recs, amounts))
                    net = cost_micros + sum(amounts)
                else:
                    credits = ()
                    net = cost_micros
                key = (t.project and t.project[0], t.service[0])
                net_by[key] = net_by.get(key, 0) + net
            else:
                credits = ()
            export = end + e.delay_us
            part = export - export % DAY_US
            out.append(t.static + (s, end, export, cost_micros / 1000000.0, float(units), apu, credits, inv, part,
                                   list_micros(t, cost_micros) / 1000000.0))
    return tuple(out)


def list_micros(t, cost_micros):
    """cost_at_list of a row of template t in micro-dollars: cost / (1 - contract discount), rounded half up."""
    p = CONTRACT_PERMILLE.get(t.service[0], 0) if t.cost_type == "regular" else 0
    return (cost_micros * 1000 + (1000 - p) // 2) // (1000 - p) if p else cost_micros


# --- the detailed export ---------------------------------------------------------------------

_INSTANCE_SKUS = {N2_CORE_US: 0, N2_CORE_EU: 0, A2_CORE: 0, A100: 0, N2_RAM_US: 1, N2_RAM_EU: 1, A2_RAM: 1}
# machine type -> (vCPUs, GiB)
_MACHINES = {"n2-standard-4": (4, 16), "n2-standard-8": (8, 32), "n2-highmem-8": (8, 64), "a2-highgpu-1g": (12, 85)}


def global_name(r):
    return "//compute.googleapis.com/projects/%s/zones/%s/instances/%s" % (r.project, r.labels["zone"], r.rid)


@functools.lru_cache(maxsize=None)
def instances_of(t):
    """((name, global name, weight), ...) of the instances a template's rows are split over; () for none."""
    kind = _INSTANCE_SKUS.get(t.sku)
    if t.service != CE or kind is None or t.project is None or t.loc[3] is None:
        return ()
    return tuple((r.name, global_name(r), _MACHINES[r.attrs["machine_type"]][kind])
                 for r in gcp_resources.INSTANCES if r.project == t.project[0] and r.labels["zone"] == t.loc[3])


def _shares(x, weights):
    total = sum(weights)
    out = [x * w // total for w in weights[:-1]]
    return out + [x - sum(out)]


@functools.lru_cache(maxsize=96)
def detailed_rows(day):
    """The rows of the detailed export whose usage starts on `day`."""
    out = []
    flat = rows(day)
    i = 0
    for e in plan(day):
        inst = instances_of(e.t)
        for r in flat[i:i + len(e.hours)]:
            if not inst:
                out.append(r + (None, None))
                continue
            weights = [w for _, _, w in inst]
            cost_micros = int(round(r[C_COST] * 1000000))
            costs = _shares(cost_micros, weights)
            # the list-price premium split alike: each share's list >= its cost
            premium = _shares(int(round(r[C_COST_AT_LIST] * 1000000)) - cost_micros, weights)
            units = _shares(int(r[C_USAGE_AMOUNT]), weights)
            credits = [_shares(int(round(c[1] * 1000000)), weights) for c in r[C_CREDITS]]
            for k, (name, gname, _) in enumerate(inst):
                cr = tuple((c[0], credits[j][k] / 1000000.0) + c[2:] for j, c in enumerate(r[C_CREDITS]))
                out.append(r[:C_COST] + (costs[k] / 1000000.0, float(units[k]), units[k] / e.t.factor, cr) +
                           r[C_CREDITS + 1:C_COST_AT_LIST] + ((costs[k] + premium[k]) / 1000000.0, name, gname))
        i += len(e.hours)
    assert i == len(flat)
    return tuple(out)


def table_rows(day, detailed=False):
    return detailed_rows(day) if detailed else rows(day)


def row_day(row):
    return _EPOCH + datetime.timedelta(microseconds=row[C_USAGE_START_TIME])


# --- sizes (totalBytesProcessed) ------------------------------------------------------------

def _credit_rec_bytes(rec):
    return 8 + sum(2 + len(x.encode()) for x in rec)


@functools.lru_cache(maxsize=None)
def partition_bytes(day, detailed=False):
    """{partition day ordinal: {leaf column: bytes, "#rows": n}} for the rows of usage day `day`."""
    out = {}
    for e in plan(day):
        t = e.t
        # the detailed export: k rows for one, each with its resource
        inst = instances_of(t) if detailed else ()
        k = len(inst) or 1
        res_bytes = {"resource.name": sum(2 + len(x[0].encode()) for x in inst),
                     "resource.global_name": sum(2 + len(x[1].encode()) for x in inst)}
        per_row = dict(t.static_bytes)
        per_row["labels"] = t.label_bytes
        for name in NUMBER_LEAVES:
            per_row[name] = 8
        if t.cost_type == "tax":
            per_row["usage.amount_in_pricing_units"] = 0
        per_row["invoice.month"] = 8
        per_row["credits"] = sum(_credit_rec_bytes(r) for r in e.credit_recs)
        counts = {}
        for h in e.hours:
            end = e.start_us + (h + 1) * e.row_us
            p = (end + e.delay_us) // DAY_US
            counts[p] = counts.get(p, 0) + 1
        for p, n in counts.items():
            p_ord = _EPOCH.toordinal() + p
            acc = out.get(p_ord)
            if acc is None:
                acc = out[p_ord] = {"#rows": 0}
            acc["#rows"] += n * k
            for name, b in per_row.items():
                if b:
                    acc[name] = acc.get(name, 0) + b * n * k
            for name, b in res_bytes.items():
                if b:
                    acc[name] = acc.get(name, 0) + b * n
    return out


def value_bytes(v):
    if v is None:
        return 0
    if isinstance(v, (int, float)):
        return 8
    if isinstance(v, str):
        return 2 + len(v.encode())
    return sum(value_bytes(x) for x in v)


def row_bytes(row):
    """{leaf column: bytes} of one row (either table's), computed from its values (for tests)."""
    leaves = LEAF_INDEX_DETAILED if len(row) > C_RESOURCE_NAME else LEAF_INDEX
    return {name: value_bytes(row[idx]) for name, idx in leaves.items()}


# --- the expectation endpoint ---------------------------------------------------------------

# FDW column name -> row index (text columns only; "day" = DATE(usage_start_time))
GROUP_COLUMNS = {
    "billing_account_id": C_BILLING_ACCOUNT_ID, "invoice_month": C_INVOICE_MONTH, "cost_type": C_COST_TYPE,
    "service": C_SERVICE_DESCRIPTION, "service_id": C_SERVICE_ID, "sku": C_SKU_DESCRIPTION, "sku_id": C_SKU_ID,
    "project_id": C_PROJECT_ID, "project_name": C_PROJECT_NAME, "region": C_LOCATION_REGION,
    "zone": C_LOCATION_ZONE, "location": C_LOCATION_LOCATION, "country": C_LOCATION_COUNTRY,
    "currency": C_CURRENCY, "usage_unit": C_USAGE_UNIT, "pricing_unit": C_USAGE_PRICING_UNIT, "day": None,
    "resource_name": C_RESOURCE_NAME, "resource_global_name": C_RESOURCE_GLOBAL_NAME,
}


class ExpectError(ValueError):
    pass


def _numeric(x):
    """FLOAT64 -> NUMERIC for the generator's values (at most 6 decimals): the shortest repr."""
    return Decimal(repr(x))


def _copy_escape(s):
    if s is None:
        return "\\N"
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _plain(d):
    if not d:
        return "0"
    return format(d.normalize(_EXACT), "f")


_EXACT = decimal.Context(prec=80, traps=[decimal.Inexact, decimal.InvalidOperation])
_Q9 = Decimal("1e-9")


def _numeric9(x):
    """FLOAT64 -> NUMERIC as BigQuery casts any float: the exact binary value to 9 places, half away from 0."""
    return Decimal(x).quantize(_Q9, rounding=decimal.ROUND_HALF_UP)


# the sums= columns: FDW column -> its NUMERIC value of a row (None: NULL, not added)
EXTRA_SUMS = {
    "cost_at_list": lambda r: _numeric(r[C_COST_AT_LIST]),
    "pricing_quantity": lambda r: None if r[C_USAGE_AMOUNT_IN_PRICING_UNITS] is None
    else _numeric9(r[C_USAGE_AMOUNT_IN_PRICING_UNITS]),
}


def expect(params, today=None):
    """GET /_emulator/expect/gcp_cost?start=YYYY-MM-DD&end=YYYY-MM-DD[&group=c1,c2][&<column>=v...]

    Rows with usage_start_time in [start 00:00Z, end 00:00Z) (and before `today`, when
    given), optionally filtered: every other parameter names a GROUP_COLUMNS column and a
    value; repeating it gives a set; "\\N" (or an empty value) selects NULL.  One line per
    group, sorted by the group values (NULL last):
    "<group values...>\\t<cost>\\t<credits>\\t<net_cost>\\t<usage_amount>\\t<rows>", the sums
    being exact sums of the per-row NUMERIC values (FLOAT64 -> NUMERIC), plain decimals.
    Without group: one line of totals (zeros when no row matches).  table=detailed: the
    detailed export's rows (default standard, where the resource columns are NULL).
    sums=c1,c2 (of EXTRA_SUMS: cost_at_list, pricing_quantity) appends the exact sums of
    those columns, in that order, after <rows>.
    params: a query string, or a dict of name -> value or list of values.
    """
    if isinstance(params, (bytes, str)):
        if isinstance(params, bytes):
            params = params.decode()
        params = parse_qs(params, keep_blank_values=True)
    multi = {}
    for k, v in params.items():
        multi[k] = list(v) if isinstance(v, (list, tuple)) else [v]
    table = multi.pop("table", ["standard"])
    if table not in (["standard"], ["detailed"]):
        raise ExpectError("table is standard or detailed")
    detailed = table == ["detailed"]
    if "today" in multi and today is None:
        today = _parse_date(multi["today"][0], "today")
    for k in ("start", "end"):
        if k not in multi:
            raise ExpectError("start and end are required")
        if len(multi[k]) != 1:
            raise ExpectError("%s given twice" % k)
    start = _parse_date(multi["start"][0], "start")
    end = _parse_date(multi["end"][0], "end")
    extra = []
    for g in multi.pop("sums", []):
        extra += [x for x in g.split(",") if x]
    for x in extra:
        if x not in EXTRA_SUMS:
            raise ExpectError("unknown sums column %r (one of %s)" % (x, ", ".join(sorted(EXTRA_SUMS))))
    group = []
    for g in multi.get("group", []):
        group += [x for x in g.split(",") if x]
    for g in group:
        if g not in GROUP_COLUMNS:
            raise ExpectError("unknown group column %r (one of %s)" % (g, ", ".join(sorted(GROUP_COLUMNS))))
    filters = []
    for k, vals in multi.items():
        if k in ("start", "end", "group", "today"):
            continue
        if k not in GROUP_COLUMNS or k == "day":
            raise ExpectError("unknown parameter %r" % k)
        filters.append((GROUP_COLUMNS[k], {None if v in ("", "\\N") else v for v in vals}))
    gidx = [GROUP_COLUMNS[g] for g in group]
    last = end if today is None else min(end, today)
    sums = {}
    day = max(start, DATA_START)
    while day < last:
        iso = day.isoformat()
        for r in table_rows(day, detailed):
            if not detailed:
                r = r + (None, None)
            if not all(r[i] in wanted for i, wanted in filters):
                continue
            key = tuple(iso if i is None else r[i] for i in gidx)
            cost = _numeric(r[C_COST])
            credits = Decimal(0)
            for c in r[C_CREDITS]:
                credits = _EXACT.add(credits, _numeric(c[1]))
            usage = _numeric(r[C_USAGE_AMOUNT]) if r[C_USAGE_AMOUNT] is not None else Decimal(0)
            acc = sums.get(key)
            if acc is None:
                acc = sums[key] = [Decimal(0), Decimal(0), Decimal(0), Decimal(0), 0] + [Decimal(0)] * len(extra)
            acc[0] = _EXACT.add(acc[0], cost)
            acc[1] = _EXACT.add(acc[1], credits)
            acc[2] = _EXACT.add(acc[2], _EXACT.add(cost, credits))
            acc[3] = _EXACT.add(acc[3], usage)
            acc[4] += 1
            for j, x in enumerate(extra):
                v = EXTRA_SUMS[x](r)
                if v is not None:
                    acc[5 + j] = _EXACT.add(acc[5 + j], v)
        day += datetime.timedelta(days=1)
    if not group and not sums:
        sums[()] = [Decimal(0)] * 4 + [0] + [Decimal(0)] * len(extra)
    lines = []
    for key in sorted(sums, key=lambda k: tuple((x is None, x or "") for x in k)):
        a = sums[key]
        cols = [_copy_escape(x) for x in key] + [_plain(a[0]), _plain(a[1]), _plain(a[2]), _plain(a[3]), str(a[4])]
        cols += [_plain(x) for x in a[5:]]
        lines.append("\t".join(cols) + "\n")
    return "".join(lines)


def _parse_date(s, name):
    try:
        return datetime.date.fromisoformat(s)
    except (TypeError, ValueError):
        raise ExpectError("%s must be a date YYYY-MM-DD" % name)
