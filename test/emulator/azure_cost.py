"""Azure Cost Management for the emulator: Northwind's Azure usage data (pure functions of the
day) and the Query API (POST {scope}/providers/Microsoft.CostManagement/query).

Data: one row per resource, meter and day from DATA_START (2025-01-01) to the emulator's
today (exclusive), plus a monthly reservation Purchase row and a rare Refund.  Amounts are
integers in micro-units (1e-6 EUR / 1e-6 of the unit), so every sum is exact; the answer
prints them as plain JSON numbers with at most 6 decimals.

ActualCost (and its legacy alias Usage) vs AmortizedCost: on the 1st of each month the
reservation "nw-batch-d4sv5-1y" (40 x D4s v5, westeurope) is bought: a Purchase row of
days_in_month x 40 x 3.456 EUR in ActualCost only.  The usage of the reserved VMs
(batch-worker-001..040, PricingModel Reservation) costs 0 in ActualCost and 3.456 EUR per VM
and day in AmortizedCost, so a month's amortized usage equals its purchase exactly.

Casing as Cost Management answers it: ResourceId and ResourceType are lower-case
(/subscriptions/<s>/resourcegroups/rg-batch/providers/microsoft.compute/virtualmachines/batch-worker-001,
microsoft.compute/virtualmachines); filters compare values case-insensitively.
"""

import base64
import calendar
import datetime
import functools
import hashlib
import json

import azure_resources as R

DATA_START = datetime.date(2025, 1, 1)
CURRENCY = "EUR"
API_VERSIONS = ("2025-03-01", "2024-08-01", "2023-11-01", "2023-08-01", "2023-03-01", "2022-10-01", "2021-10-01",
                "2019-11-01")
DEFAULT_PAGE_SIZE = 1000
MAX_DAYS = 366

DIMENSIONS = ("ResourceGroup", "ResourceGroupName", "ResourceId", "ResourceType", "ResourceLocation", "ServiceName",
              "ServiceFamily", "ServiceTier", "MeterCategory", "MeterSubCategory", "Meter", "MeterId",
              "SubscriptionId", "SubscriptionName", "ChargeType", "PublisherType", "PricingModel", "ReservationId",
              "ReservationName", "BillingPeriod", "InvoiceId", "Product", "BenefitId", "BenefitName")
DIM = {name: i for i, name in enumerate(DIMENSIONS)}
CANONICAL_DIM = {name.lower(): name for name in DIMENSIONS}
AGG_COLUMNS = {"cost": ("Cost", 0), "costusd": ("CostUSD", 1), "pretaxcost": ("PreTaxCost", 0),
               "pretaxcostusd": ("PreTaxCostUSD", 1), "usagequantity": ("UsageQuantity", 2)}
TYPES = {"actualcost": "ActualCost", "amortizedcost": "AmortizedCost", "usage": "Usage"}
TIMEFRAMES = {t.lower(): t for t in ("MonthToDate", "BillingMonthToDate", "TheLastMonth", "TheLastBillingMonth",
                                     "WeekToDate", "Custom")}
GRANULARITIES = {"daily": "Daily", "none": "None", "monthly": "Monthly"}

RESERVATION_ID = ("/providers/Microsoft.Capacity/reservationOrders/0d5f3c2a-8b1e-4f7a-9c6d-3e2b1a0f9e8d/"
                  "reservations/6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d")
RESERVATION_NAME = "nw-batch-d4sv5-1y"
RESERVED_DAILY = 3456000          # 3.456 EUR per reserved VM and day (micro-units)
RESERVED_VMS = 40

# size -> (MeterSubCategory, Meter, EUR per hour x 1e4)
VM_SIZES = {"Standard_D2s_v5": ("Dv5/Dsv5 Series", "D2s v5", 1008),
            "Standard_D4s_v5": ("Dv5/Dsv5 Series", "D4s v5", 2016),
            "Standard_D8s_v5": ("Dv5/Dsv5 Series", "D8s v5", 4032),
            "Standard_NC6s_v3": ("NCSv3 Series", "NC6s v3", 27540),
            "Standard_B2ms": ("BS Series", "B2ms", 832)}
_LOC_LABEL = {"westeurope": "EU West", "northeurope": "EU North", "eastus": "US East"}


class CostError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad(message):
    return CostError(400, "BadRequest", "Invalid query definition: " + message)


def _meter_id(*parts):
    h = hashlib.md5(("azure-meter|" + "|".join(parts)).encode()).hexdigest()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])


def usd_rate(day):
    """EUR -> USD rate of the day, 4 decimals (x 1e4)."""
    return 10400 + (day.toordinal() * 37) % 120


def _half_up(num, den):
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def _row(day, r, service, family, category, sub, meter, charge, pricing, actual, amort, qty, tags=None, res=True,
         reservation=False, location=None):
    """One usage row: (dims tuple, tags, tags with lower-case keys, actual (cost, usd, qty) | None, amortized | None)."""
    rate = usd_rate(day)
    loc = location if location is not None else (r.location if r is not None else "")

    def values(cost):
        return None if cost is None else (cost, _half_up(cost * rate, 10000), qty)

    rid = r.key if (r is not None and res) else ""
    rtype = r.type.lower() if (r is not None and res) else ""
    rg = r.rg if (r is not None and res) else ""
    subid = r.sub if r is not None else R.PROD
    dims = (rg, rg, rid, rtype, loc, service, family, sub, category, sub, meter,
            _meter_id(category, sub, meter, loc), subid, R.SUBSCRIPTIONS[subid], charge, "Azure", pricing,
            RESERVATION_ID if reservation else "", RESERVATION_NAME if reservation else "",
            day.strftime("%Y%m01"), "", "%s %s - %s - %s" % (category, sub, meter, _LOC_LABEL.get(loc, loc or "Global")),
            RESERVATION_ID if reservation else "", RESERVATION_NAME if reservation else "")
    tags = dict(r.tags if (r is not None and tags is None) else (tags or {}))
    return (dims, tags, {k.lower(): v for k, v in tags.items()}, values(actual), values(amort))


@functools.lru_cache(maxsize=1024)
def rows_of(day):
    """Every usage row of `day` (a date), stable order; empty before DATA_START."""
    if day < DATA_START:
        return ()
    out = []
    o = day.toordinal()
    weekend = day.weekday() >= 5
    dim = calendar.monthrange(day.year, day.month)[1]
    for r in R.RESOURCES:
        u = R.u01(r.seed, o)
        if r.type == R.VM:
            sub, meter, price = VM_SIZES[r.attrs["size"]]
            n = int(r.name[-3:]) if r.name.startswith("batch-worker-") else 0
            if r.attrs.get("reserved"):
                out.append(_row(day, r, "Virtual Machines", "Compute", "Virtual Machines", sub, meter, "Usage",
                                "Reservation", 0, RESERVED_DAILY, 24000000, reservation=True))
                continue
            if n > 80:
                if weekend or u < 0.25:
                    continue                            # stopped (deallocated): no usage row
                h100 = 600 + int(1800 * R.u01(r.seed ^ 7, o))   # 6.00 .. 23.99 hours
            else:
                h100 = 2400
            out.append(_row(day, r, "Virtual Machines", "Compute", "Virtual Machines", sub, meter, "Usage",
                            "OnDemand", h100 * price, h100 * price, h100 * 10000))
            if r.profile in ("web", "api"):
                gb100 = 300 + int(2500 * u)
                out.append(_row(day, r, "Bandwidth", "Networking", "Bandwidth", "Rtn Preference: MGN",
                                "Standard Data Transfer Out", "Usage", "OnDemand", gb100 * 800, gb100 * 800,
                                gb100 * 10000))
        elif r.type == R.SQLDB:
            q100 = r.attrs["vcores"] * 2400
            out.append(_row(day, r, "SQL Database", "Databases", "SQL Database", "General Purpose - Compute Gen5",
                            "vCore", "Usage", "OnDemand", q100 * 1876, q100 * 1876, q100 * 10000))
        elif r.type == R.STORAGE:
            gb = r.attrs["gb"] * (1.0 + 0.0008 * (o - DATA_START.toordinal()))
            q100 = int(round(gb * 100 / dim))
            out.append(_row(day, r, "Storage", "Storage", "Storage", "General Block Blob v2", "Hot LRS Data Stored",
                            "Usage", "OnDemand", q100 * 184, q100 * 184, q100 * 10000))
            w100 = 50 + int((4000 if r.profile != "idle" else 60) * u)
            out.append(_row(day, r, "Storage", "Storage", "Storage", "General Block Blob v2", "Hot Write Operations",
                            "Usage", "OnDemand", w100 * 550, w100 * 550, w100 * 10000))
            if r.name == "nwdatalake" and day.day == 20 and day.month in (3, 7, 11):
                out.append(_row(day, r, "Storage", "Storage", "Storage", "General Block Blob v2",
                                "Hot LRS Data Stored", "Refund", "OnDemand", -12500000, -12500000, 0))
        elif r.type == R.SITE:
            q100 = r.attrs["instances"] * 2400
            out.append(_row(day, r, "Azure App Service", "Compute", "Azure App Service", "Premium v3 Plan",
                            "P1 v3 App", "Usage", "OnDemand", q100 * 2130, q100 * 2130, q100 * 10000))
            gb100 = 200 + int(1500 * u)
            out.append(_row(day, r, "Bandwidth", "Networking", "Bandwidth", "Rtn Preference: MGN",
                            "Standard Data Transfer Out", "Usage", "OnDemand", gb100 * 800, gb100 * 800,
                            gb100 * 10000))
    if day.day == 1:
        out.append(_row(day, None, "Virtual Machines", "Compute", "Virtual Machines", "Dv5/Dsv5 Series", "D4s v5",
                        "Purchase", "Reservation", dim * RESERVED_VMS * RESERVED_DAILY, None, RESERVED_VMS * 1000000,
                        tags={}, reservation=True, location="westeurope"))
    return tuple(out)


def line_items(day):
    """The rows of `day` as dicts (for the expectation endpoint): the dimensions, "Tags", and per
    dataset ("ActualCost", "AmortizedCost") None or {"Cost","CostUSD","UsageQuantity"} as decimal strings."""
    out = []
    for dims, tags, _, actual, amort in rows_of(day):
        item = dict(zip(DIMENSIONS, dims))
        item["Tags"] = dict(tags)
        for name, v in (("ActualCost", actual), ("AmortizedCost", amort)):
            item[name] = None if v is None else {"Cost": fmt(v[0]), "CostUSD": fmt(v[1]), "UsageQuantity": fmt(v[2])}
        out.append(item)
    return out


def fmt(micro):
    """A micro-unit integer as a plain decimal: at most 6 decimals, no exponent, no trailing zeros."""
    q, r = divmod(abs(micro), 1000000)
    s = str(q) if not r else "%d.%s" % (q, ("%06d" % r).rstrip("0"))
    return "-" + s if micro < 0 else s


# --- the query ------------------------------------------------------------------------------

def _parse_time(v, what):
    if not isinstance(v, str):
        raise bad("timePeriod.%s must be a date-time string" % what)
    t = v.strip()
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    try:
        d = datetime.datetime.fromisoformat(t) if "T" in t or " " in t else datetime.datetime.fromisoformat(
            t + "T00:00:00")
    except ValueError:
        raise bad("timePeriod.%s '%s' is not a valid date-time" % (what, v))
    if d.tzinfo is not None:
        d = d.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return d


def _period(body, today):
    tf = body.get("timeframe")
    if not isinstance(tf, str) or tf.lower() not in TIMEFRAMES:
        raise bad("timeframe '%s' is not supported; use one of %s" % (tf, ", ".join(TIMEFRAMES.values()))
                  if tf is not None else "timeframe is required")
    tf = TIMEFRAMES[tf.lower()]
    if tf == "Custom":
        tp = body.get("timePeriod")
        if not isinstance(tp, dict) or "from" not in tp or "to" not in tp:
            raise bad("timePeriod with 'from' and 'to' is required when timeframe is Custom")
        a, b = _parse_time(tp["from"], "from"), _parse_time(tp["to"], "to")
        if b < a:
            raise bad("The 'from' date must be before the 'to' date")
        d0, d1 = a.date(), b.date()
        if (d1 - d0).days + 1 > MAX_DAYS:
            raise bad("The time period for pulling the data cannot exceed 1 year(s)")
        return d0, d1
    if tf in ("MonthToDate", "BillingMonthToDate"):
        return today.replace(day=1), today
    if tf == "WeekToDate":
        return today - datetime.timedelta(days=today.weekday()), today
    last = today.replace(day=1) - datetime.timedelta(days=1)
    return last.replace(day=1), last


def _compile_filter(node, path="filter"):
    if not isinstance(node, dict) or len(node) != 1:
        raise bad("%s must have exactly one of 'and', 'or', 'dimensions', 'tags'" % path)
    (key, val), = node.items()
    k = key.lower()
    if k in ("and", "or"):
        if not isinstance(val, list) or len(val) < 2:
            raise bad("'%s' in %s must have at least 2 expressions" % (key, path))
        subs = [_compile_filter(x, "%s.%s[%d]" % (path, key, i)) for i, x in enumerate(val)]
        if k == "and":
            return lambda row: all(f(row) for f in subs)
        return lambda row: any(f(row) for f in subs)
    if k == "not":
        raise bad("'not' is not supported in %s (api-version 2025-03-01 has only 'and', 'or', 'dimensions', 'tags')"
                  % path)
    if k not in ("dimensions", "tags"):
        raise bad("unknown expression '%s' in %s" % (key, path))
    if not isinstance(val, dict):
        raise bad("%s.%s must be an object" % (path, key))
    name, op, values = val.get("name"), val.get("operator"), val.get("values")
    if not isinstance(name, str) or not name:
        raise bad("%s.%s.name is required" % (path, key))
    if op != "In":
        raise bad("operator '%s' in %s.%s is not supported; the only operator is 'In'" % (op, path, key))
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise bad("%s.%s.values must be a non-empty array of strings" % (path, key))
    want = frozenset(v.lower() for v in values)
    if k == "dimensions":
        canon = CANONICAL_DIM.get(name.lower())
        if canon is None:
            raise bad("The dimension '%s' is invalid" % name)
        i = DIM[canon]
        return lambda row: row[0][i].lower() in want
    tk = name.lower()
    return lambda row: row[2].get(tk, "").lower() in want if tk in row[2] else False


class Query:
    """A validated QueryDefinition."""

    def __init__(self, body, today):
        if not isinstance(body, dict):
            raise bad("the request body must be a JSON object")
        t = body.get("type")
        if not isinstance(t, str) or t.lower() not in TYPES:
            raise bad("type '%s' is not supported; use ActualCost, AmortizedCost or Usage" % t if t is not None
                      else "type is required")
        self.type = TYPES[t.lower()]
        self.d0, self.d1 = _period(body, today)
        ds = body.get("dataset")
        if not isinstance(ds, dict):
            raise bad("dataset is required")
        g = ds.get("granularity", "None")
        if g is None:
            g = "None"
        if not isinstance(g, str) or g.lower() not in GRANULARITIES:
            raise bad("granularity '%s' is not supported; use Daily or None" % g)
        self.granularity = GRANULARITIES[g.lower()]
        agg = ds.get("aggregation")
        if agg is None:
            agg = {"totalCost": {"name": "PreTaxCost" if self.type == "Usage" else "Cost", "function": "Sum"}}
        if not isinstance(agg, dict) or not agg:
            raise bad("aggregation must be a non-empty object of alias -> {name, function}")
        if len(agg) > 2:
            raise bad("at most 2 aggregations are allowed, got %d" % len(agg))
        self.aggs = []
        for alias, a in agg.items():
            if not isinstance(a, dict) or not isinstance(a.get("name"), str):
                raise bad("aggregation '%s' must be {\"name\": <column>, \"function\": \"Sum\"}" % alias)
            col = AGG_COLUMNS.get(a["name"].lower())
            if col is None:
                raise bad("aggregation column '%s' is invalid; use Cost, CostUSD, PreTaxCost, PreTaxCostUSD or "
                          "UsageQuantity" % a["name"])
            if not isinstance(a.get("function"), str) or a["function"].lower() != "sum":
                raise bad("aggregation function '%s' of '%s' is not supported; the only function is Sum"
                          % (a.get("function"), alias))
            self.aggs.append(col)
        grouping = ds.get("grouping") or []
        if not isinstance(grouping, list):
            raise bad("grouping must be an array")
        if len(grouping) > 2:
            raise bad("at most 2 groupings are allowed, got %d" % len(grouping))
        self.groups = []
        for gr in grouping:
            if not isinstance(gr, dict) or not isinstance(gr.get("name"), str) or not gr["name"]:
                raise bad("grouping entries must be {\"type\": \"Dimension\"|\"TagKey\", \"name\": ...}")
            gt = gr.get("type")
            if isinstance(gt, str) and gt.lower() == "dimension":
                canon = CANONICAL_DIM.get(gr["name"].lower())
                if canon is None:
                    raise bad("The dimension '%s' is invalid" % gr["name"])
                self.groups.append(("Dimension", canon))
            elif isinstance(gt, str) and gt.lower() == "tagkey":
                self.groups.append(("TagKey", gr["name"]))
            else:
                raise bad("grouping type '%s' is not supported; use Dimension or TagKey" % gt)
        if sum(1 for k, _ in self.groups if k == "TagKey") > 1:
            raise bad("at most one TagKey grouping is allowed")
        flt = ds.get("filter")
        self.filter = None if flt is None else _compile_filter(flt)

    def columns(self):
        cols = [{"name": name, "type": "Number"} for name, _ in self.aggs]
        if self.granularity == "Daily":
            cols.append({"name": "UsageDate", "type": "Number"})
        elif self.granularity == "Monthly":
            cols.append({"name": "BillingMonth", "type": "Datetime"})
        for kind, name in self.groups:
            if kind == "Dimension":
                cols.append({"name": name, "type": "String"})
            else:
                cols += [{"name": "TagKey", "type": "String"}, {"name": "TagValue", "type": "String"}]
        cols.append({"name": "Currency", "type": "String"})
        return cols


def run(query, scope_sub, scope_rg, today):
    """The sorted result rows of a Query: lists of cells (ints are micro-units for money columns;
    see render)."""
    last = min(query.d1, today - datetime.timedelta(days=1))
    day = max(query.d0, DATA_START)
    amortized = query.type == "AmortizedCost"
    sub_l = scope_sub.lower()
    rg_l = None if scope_rg is None else scope_rg.lower()
    i_sub, i_rg = DIM["SubscriptionId"], DIM["ResourceGroupName"]
    gran = query.granularity
    extract = []
    for kind, name in query.groups:
        if kind == "Dimension":
            i = DIM[name]
            extract.append(lambda row, i=i: (row[0][i],))
        else:
            tk = name.lower()
            extract.append(lambda row, tk=tk, name=name: (name, row[2][tk]) if tk in row[2] else ("", ""))
    flt = query.filter
    acc = {}
    while day <= last:
        if gran == "Daily":
            dkey = (day.year * 10000 + day.month * 100 + day.day,)
        elif gran == "Monthly":
            dkey = ("%04d-%02d-01T00:00:00" % (day.year, day.month),)
        else:
            dkey = ()
        for row in rows_of(day):
            v = row[4] if amortized else row[3]
            if v is None:
                continue
            dims = row[0]
            if dims[i_sub].lower() != sub_l or (rg_l is not None and dims[i_rg].lower() != rg_l):
                continue
            if flt is not None and not flt(row):
                continue
            key = dkey
            for ex in extract:
                key = key + ex(row)
            a = acc.get(key)
            if a is None:
                acc[key] = [v[0], v[1], v[2]]
            else:
                a[0] += v[0]
                a[1] += v[1]
                a[2] += v[2]
        day += datetime.timedelta(days=1)
    out = []
    for key in sorted(acc):
        a = acc[key]
        out.append(([a[i] for _, i in query.aggs], key))
    return out


def render_rows(rows):
    """JSON text of the rows array: money as plain numbers (<= 6 decimals), UsageDate as an integer."""
    parts = []
    for money, key in rows:
        cells = [fmt(m) for m in money]
        for k in key:
            cells.append(str(k) if isinstance(k, int) else json.dumps(k, ensure_ascii=False))
        cells.append('"%s"' % CURRENCY)
        parts.append("[" + ",".join(cells) + "]")
    return "[" + ",".join(parts) + "]"


def body_hash(scope, body_obj):
    text = scope.lower() + "|" + json.dumps(body_obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def make_skiptoken(offset, h):
    return base64.urlsafe_b64encode(("%d.%s" % (offset, h)).encode()).decode().rstrip("=")


def read_skiptoken(token, h):
    """The offset a $skiptoken stands for, or None when it is not one of ours (or of another query)."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        off, hh = text.split(".", 1)
        off = int(off)
    except (ValueError, UnicodeDecodeError):
        return None
    if hh != h or off < 1:
        return None
    return off


def query_guid(h, offset):
    x = hashlib.md5(("azure-query|%s|%d" % (h, offset)).encode()).hexdigest()
    return "%s-%s-4%s-8%s-%s" % (x[:8], x[8:12], x[13:16], x[17:20], x[20:32])


_result_cache = {}


def handle(scope, body_bytes, today, page_size, skiptoken, url_without_token):
    """(status, bytes) of a query.  scope: the path's scope ("subscriptions/<s>[/resourceGroups/<rg>]",
    already checked); url_without_token: the URL the client posted to, minus any $skiptoken."""
    try:
        body = json.loads(body_bytes.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        raise bad("the request body is not valid JSON")
    q = Query(body, today)
    parts = scope.split("/")
    sub, rg = parts[1], (parts[3] if len(parts) >= 4 else None)
    h = body_hash(scope, body)
    offset = 0
    if skiptoken is not None:
        offset = read_skiptoken(skiptoken, h)
        if offset is None:
            raise CostError(400, "BadRequest", "Invalid query definition: The skiptoken '%s' is invalid or does not "
                            "belong to this query." % skiptoken)
    ck = (h, today)
    rows = _result_cache.get(ck)
    if rows is None:
        rows = run(q, sub, rg, today)
        if len(_result_cache) > 32:
            _result_cache.clear()
        _result_cache[ck] = rows
    page = rows[offset:offset + page_size]
    nxt = offset + page_size
    next_link = None
    if nxt < len(rows):
        sep = "&" if "?" in url_without_token else "?"
        next_link = url_without_token + sep + "$skiptoken=" + make_skiptoken(nxt, h)
    guid = query_guid(h, offset)
    sub_canon = [s for s in R.SUBSCRIPTIONS if s.lower() == sub.lower()][0]
    scope_id = "subscriptions/%s" % sub_canon
    if rg is not None:
        scope_id += "/resourceGroups/%s" % rg
    obj = {"id": "%s/providers/Microsoft.CostManagement/query/%s" % (scope_id, guid), "name": guid,
           "type": "Microsoft.CostManagement/query", "location": None, "sku": None, "eTag": None,
           "properties": {"nextLink": next_link, "columns": q.columns(), "rows": "__ROWS__"}}
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    text = text.replace('"__ROWS__"', render_rows(page), 1)
    return 200, text.encode()
