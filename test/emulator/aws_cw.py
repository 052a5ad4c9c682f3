"""Amazon CloudWatch over AWS JSON 1.0 (query-compatible): GetMetricData,
ListMetrics, GetMetricStatistics over metrics.py's data.

Wire format (see README.md "CloudWatch"): POST, Content-Type
application/x-amz-json-1.0, X-Amz-Target GraniteServiceVersion20100801.<Op>,
timestamps as epoch seconds (JSON numbers).  Errors carry the JSON `__type`
and, because the service is awsQueryCompatible, an `x-amzn-query-error:
<legacy query code>;Sender|Receiver` header.

Numbers in responses are printed the way the JVM prints doubles
(Double.toString: "1.7040672E9", "12.5", "1.0E-4"), as Coral services do.

Nothing here reads the wall clock: "now" comes in the Ctx.
"""

import base64
import hashlib
import json
import math
import re
import threading
from collections import OrderedDict

import metrics

TARGET_PREFIX = "GraniteServiceVersion20100801."
SERVICE = "monitoring"
CONTENT_TYPE = "application/x-amz-json-1.0"
ACCOUNT = "111111111111"
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")

MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100800
GMS_LIMIT = 1440
LIST_PAGE = 500
HIGH_RES_PERIODS = (1, 5, 10, 20, 30)
MIN = 60
FIFTEEN_DAYS = 15 * 86400
SIXTY_THREE_DAYS = 63 * 86400
RETENTION = 455 * 86400
THREE_HOURS = 3 * 3600
TWO_WEEKS = 14 * 86400
SCAN_BY = ("TimestampDescending", "TimestampAscending")
ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
UNIT_ENUM = ("Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
             "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
             "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
             "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None")
STATISTIC_ENUM = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

NS = "com.amazonaws.cloudwatch#"


class CwError(Exception):
    """An error answer: HTTP status, JSON __type, legacy query code (for x-amzn-query-error)."""

    def __init__(self, status, type_, query_code, message, fault="Sender", message_key="message"):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.query_code = query_code
        self.fault = fault
        self.message = message
        self.message_key = message_key

    @property
    def code(self):
        return self.type

    def header(self):
        return None if self.query_code is None else "%s;%s" % (self.query_code, self.fault)

    def body(self):
        obj = {"__type": self.type}
        if self.message is not None:
            obj[self.message_key] = self.message
        return json.dumps(obj, separators=(",", ":")).encode()


# Modelled errors (service-2.json): shape name in __type, the legacy code in the header.
def invalid_value(msg):
    return CwError(400, NS + "InvalidParameterValueException", "InvalidParameterValue", msg)


def missing(msg):
    return CwError(400, NS + "MissingRequiredParameterException", "MissingParameter", msg)


def combination(msg):
    return CwError(400, NS + "InvalidParameterCombinationException", "InvalidParameterCombination", msg)


def bad_token(msg="The next token specified is invalid."):
    return CwError(400, NS + "InvalidNextToken", "InvalidNextToken", msg)


# Framework (Coral) errors: not in the model; legacy codes as the query protocol has them.
def validation(msg):
    return CwError(400, "com.amazon.coral.validate#ValidationException", "ValidationError", msg)


def serialization(msg):
    return CwError(400, "com.amazon.coral.service#SerializationException", None, msg)


def unknown_operation():
    return CwError(400, "com.amazon.coral.service#UnknownOperationException", "InvalidAction", None)


def throttling(message="Rate exceeded"):
    return CwError(400, "com.amazon.coral.availability#ThrottlingException", "Throttling", message)


# Auth errors: the JSON names the Cost Explorer side uses, plus the query codes.
AUTH_QUERY_CODES = {
    "MissingAuthenticationTokenException": "MissingAuthenticationToken",
    "IncompleteSignatureException": "IncompleteSignature",
    "UnrecognizedClientException": "InvalidClientTokenId",
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "ExpiredTokenException": "ExpiredToken",
}


def auth_error(status, code, message):
    return CwError(status, code, AUTH_QUERY_CODES.get(code, code), message)


class Ctx:
    def __init__(self, region, now):
        self.region = region
        self.now = now          # epoch seconds (float or int)


# --- JVM-style number printing ----------------------------------------------------

def jnum(x):
    """A double as Java's Double.toString prints it (shortest round-trip digits)."""
    x = float(x)
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    if x != x or x in (math.inf, -math.inf):
        raise ValueError("non-finite value")
    ax = abs(x)
    if 1e-3 <= ax < 1e7:
        r = repr(x)
        return r if "." in r else r + ".0"
    sign = "-" if x < 0 else ""
    r = repr(ax)
    mant, _, exp = r.partition("e")
    exp = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    digits = (ip + fp).lstrip("0")
    # exponent of the first significant digit
    e = exp + len(ip.lstrip("0")) - 1 if ip.strip("0") else exp - (len(fp) - len(fp.lstrip("0"))) - 1
    digits = digits.rstrip("0") or "0"
    return "%s%s.%sE%d" % (sign, digits[0], digits[1:] or "0", e)


def _js(s):
    return json.dumps(s, ensure_ascii=False)


# --- request validation helpers ---------------------------------------------------------

def _show(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "'%s'" % ("true" if v else "false")
    if isinstance(v, (int, float)):
        return "'%s'" % v
    if isinstance(v, str):
        return "'%s'" % v
    return "'%s'" % json.dumps(v)


class _Coral:
    def __init__(self):
        self.errors = []

    def add(self, value, path, constraint):
        self.errors.append("Value %s at '%s' failed to satisfy constraint: %s" % (_show(value), path, constraint))

    def required(self, obj, member, path):
        v = obj.get(member)
        if v is None:
            self.add(None, path, "Member must not be null")
        return v

    def length(self, v, path, lo, hi):
        if isinstance(v, str):
            if len(v) < lo:
                self.add(v, path, "Member must have length greater than or equal to %d" % lo)
            elif len(v) > hi:
                self.add(v, path, "Member must have length less than or equal to %d" % hi)

    def enum(self, v, allowed, path):
        if v is not None and v not in allowed:
            self.add(v, path, "Member must satisfy enum value set: [%s]" % ", ".join(allowed))

    def raise_if_any(self):
        if self.errors:
            n = len(self.errors)
            raise validation("%d validation error%s detected: %s" % (n, "" if n == 1 else "s", "; ".join(self.errors)))


_TYPE_NAMES = {dict: "structure", list: "list", str: "string", bool: "boolean", int: "integer"}


def _typed(v, typ, path):
    if v is None:
        return None
    ok = isinstance(v, typ) and not (typ is int and isinstance(v, bool))
    if not ok:
        raise serialization("Unexpected value type at '%s': expected %s" % (path, _TYPE_NAMES.get(typ, typ.__name__)))
    return v


def _members(obj, allowed, shape, path):
    _typed(obj, dict, path or shape)
    for k in obj:
        if k not in allowed:
            # AWS ignores unknown members; rejecting them catches client typos.
            raise serialization("Unknown member '%s' in %s" % (k, shape))
    return obj


def _timestamp(v, path):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise serialization("Unexpected value type at '%s': expected a timestamp (epoch seconds as a JSON number)"
                            % path)
    return v


def _dimensions(v, path, coral, filters=False):
    _typed(v, list, path)
    if v is None:
        return []
    out = []
    for i, d in enumerate(v):
        p = "%s.%d.member" % (path, i + 1)
        _members(d, ("Name", "Value"), "DimensionFilter" if filters else "Dimension", p)
        name = coral.required(d, "Name", p + ".name")
        _typed(name, str, p + ".name")
        coral.length(name, p + ".name", 1, 255)
        value = d.get("Value") if filters else coral.required(d, "Value", p + ".value")
        _typed(value, str, p + ".value")
        coral.length(value, p + ".value", 1, 1024)
        out.append((name, value))
    return out


def _period_ok(p):
    return p in HIGH_RES_PERIODS or (p >= MIN and p % MIN == 0)


# --- buckets ----------------------------------------------------------------------------

def effective_start(start, period, now):
    """StartTime after CloudWatch's rounding (by the age of the data)."""
    age = now - start
    if period < MIN:
        step = period
    elif age < FIFTEEN_DAYS:
        step = 60
    elif age <= SIXTY_THREE_DAYS:
        step = 300
    else:
        step = 3600
    return int(math.floor(start / step)) * step


def period_served(start, period, now):
    """False when the period is too fine for the age of the data (nothing comes back)."""
    age = now - start
    if age > THREE_HOURS and period < MIN:
        return False
    if age > FIFTEEN_DAYS and period % 300:
        return False
    if age > SIXTY_THREE_DAYS and period % 3600:
        return False
    return True


def buckets(series, start, end, period, now):
    """[(t, (n, sum, min, max))] ascending, for buckets [t, t+period) with data."""
    if series is None or not period_served(start, period, now):
        return []
    t0 = effective_start(start, period, now)
    stop = min(math.ceil(end), math.ceil(now))
    cutoff = now - RETENTION
    t = t0
    # skip buckets that are certainly empty (before retention or the series' first sample)
    first = max(cutoff, series.launch - period + 1)
    if t < first:
        t += int(math.ceil((first - t) / period)) * period
    if series.terminate is not None:
        stop = min(stop, series.terminate + period)
    out = []
    fast = not series.members and series.res <= 3600 and period < 3600 and 3600 % period == 0
    while t < stop:
        if fast and t % 3600 == 0 and t + 3600 <= stop:
            out.extend(metrics.hour_buckets(series, t // 3600, period))
            t += 3600
            continue
        st = metrics.window_stats(series, t, min(t + period, stop))
        if st[0]:
            out.append((t, st))
        t += period
    return out


# --- tokens -------------------------------------------------------------------------------

def _canonical(req):
    return json.dumps({k: v for k, v in req.items() if k != "NextToken"}, sort_keys=True, separators=(",", ":"))


def _hash(op, region, req):
    return hashlib.sha256(("%s|%s|%s" % (op, region, _canonical(req))).encode()).hexdigest()[:24]


def _make_token(obj):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode()


def _read_token(tok):
    try:
        obj = json.loads(base64.b64decode(tok.encode(), validate=True))
    except (ValueError, TypeError, UnicodeError):
        return None
    return obj if isinstance(obj, dict) else None


class _Lru:
    def __init__(self, n):
        self.n = n
        self.d = OrderedDict()
        self.lock = threading.Lock()

    def get(self, k):
        with self.lock:
            v = self.d.get(k)
            if v is not None:
                self.d.move_to_end(k)
            return v

    def put(self, k, v):
        with self.lock:
            self.d[k] = v
            self.d.move_to_end(k)
            while len(self.d) > self.n:
                self.d.popitem(last=False)


_GMD_CACHE = _Lru(16)


# --- GetMetricData -----------------------------------------------------------------------

GMD_MEMBERS = ("MetricDataQueries", "StartTime", "EndTime", "NextToken", "ScanBy", "MaxDatapoints", "LabelOptions")


def _parse_gmd(req):
    _members(req, GMD_MEMBERS, "GetMetricDataInput", "")
    coral = _Coral()
    queries = coral.required(req, "MetricDataQueries", "metricDataQueries")
    start = _timestamp(coral.required(req, "StartTime", "startTime"), "startTime")
    end = _timestamp(coral.required(req, "EndTime", "endTime"), "endTime")
    scan = _typed(req.get("ScanBy"), str, "scanBy")
    coral.enum(scan, SCAN_BY, "scanBy")
    maxdp = _typed(req.get("MaxDatapoints"), int, "maxDatapoints")
    tok = _typed(req.get("NextToken"), str, "nextToken")
    lo = req.get("LabelOptions")
    if lo is not None:
        _members(lo, ("Timezone",), "LabelOptions", "labelOptions")
        _typed(lo.get("Timezone"), str, "labelOptions.timezone")
    _typed(queries, list, "metricDataQueries")
    parsed = []
    for i, q in enumerate(queries or ()):
        p = "metricDataQueries.%d.member" % (i + 1)
        _members(q, ("Id", "MetricStat", "Expression", "Label", "ReturnData", "Period", "AccountId"),
                 "MetricDataQuery", p)
        qid = _typed(coral.required(q, "Id", p + ".id"), str, p + ".id")
        coral.length(qid, p + ".id", 1, 255)
        label = _typed(q.get("Label"), str, p + ".label")
        rd = _typed(q.get("ReturnData"), bool, p + ".returnData")
        qp = _typed(q.get("Period"), int, p + ".period")
        if qp is not None and qp < 1:
            coral.add(qp, p + ".period", "Member must have value greater than or equal to 1")
        expr = _typed(q.get("Expression"), str, p + ".expression")
        coral.length(expr, p + ".expression", 1, 2048)
        _typed(q.get("AccountId"), str, p + ".accountId")
        ms = q.get("MetricStat")
        stat = None
        if ms is not None:
            mp = p + ".metricStat"
            _members(ms, ("Metric", "Period", "Stat", "Unit"), "MetricStat", mp)
            metric = coral.required(ms, "Metric", mp + ".metric")
            period = _typed(coral.required(ms, "Period", mp + ".period"), int, mp + ".period")
            if period is not None and period < 1:
                coral.add(period, mp + ".period", "Member must have value greater than or equal to 1")
            st = _typed(coral.required(ms, "Stat", mp + ".stat"), str, mp + ".stat")
            unit = _typed(ms.get("Unit"), str, mp + ".unit")
            coral.enum(unit, UNIT_ENUM, mp + ".unit")
            ns = name = None
            dims = []
            if metric is not None:
                _members(metric, ("Namespace", "MetricName", "Dimensions"), "Metric", mp + ".metric")
                ns = _typed(metric.get("Namespace"), str, mp + ".metric.namespace")
                coral.length(ns, mp + ".metric.namespace", 1, 255)
                if ns and ns.startswith(":"):
                    coral.add(ns, mp + ".metric.namespace", "Member must satisfy regular expression pattern: [^:].*")
                name = _typed(metric.get("MetricName"), str, mp + ".metric.metricName")
                coral.length(name, mp + ".metric.metricName", 1, 255)
                dims = _dimensions(metric.get("Dimensions"), mp + ".metric.dimensions", coral)
                if len(dims) > 30:
                    coral.add(metric.get("Dimensions"), mp + ".metric.dimensions",
                              "Member must have length less than or equal to 30")
            stat = {"ns": ns, "name": name, "dims": dims, "period": period, "stat": st, "unit": unit}
        parsed.append({"id": qid, "label": label, "return": rd is not False, "expr": expr, "ms": stat,
                       "n": i + 1, "has_ms": ms is not None})
    coral.raise_if_any()

    # Service-level rules.
    if not parsed:
        raise validation("The collection MetricDataQueries must not be empty.")
    if len(parsed) > MAX_QUERIES:
        raise validation("The collection MetricDataQueries must not contain more than %d items." % MAX_QUERIES)
    seen = set()
    for q in parsed:
        if not ID_RE.match(q["id"]):
            raise validation("The value %s for parameter MetricDataQueries.member.%d.Id is not matching the expected "
                             "pattern ^[a-z][a-zA-Z0-9_]*$." % (q["id"], q["n"]))
        if q["id"] in seen:
            raise validation("The values for parameter Id in MetricDataQueries are not unique.")
        seen.add(q["id"])
    for q in parsed:
        n = q["n"]
        if q["has_ms"] == (q["expr"] is not None):
            raise validation("Exactly one of MetricStat and Expression must be specified for "
                             "MetricDataQueries.member.%d." % n)
        if q["expr"] is not None:
            raise validation("The finops emulator does not evaluate metric math or Metrics Insights: "
                             "MetricDataQueries.member.%d.Expression is not supported." % n)
        ms = q["ms"]
        if not ms["ns"]:
            raise missing("The parameter MetricDataQueries.member.%d.MetricStat.Metric.Namespace is required." % n)
        if not ms["name"]:
            raise missing("The parameter MetricDataQueries.member.%d.MetricStat.Metric.MetricName is required." % n)
        if not _period_ok(ms["period"]):
            raise validation("The parameter MetricDataQueries.member.%d.MetricStat.Period must be 1, 5, 10, 20, 30 "
                             "or a multiple of 60." % n)
        ms["parsed"] = metrics.parse_stat(ms["stat"])
        if ms["parsed"] is None:
            raise validation("The value %s for parameter MetricDataQueries.member.%d.MetricStat.Stat is not a valid "
                             "statistic." % (ms["stat"], n))
    if start == end:
        raise validation("The parameter StartTime must not equal parameter EndTime.")
    if start > end:
        raise validation("The parameter EndTime must be greater than StartTime.")
    if maxdp is not None and maxdp < 1:
        raise validation("The parameter MaxDatapoints must be greater than 0.")
    return {"queries": parsed, "start": start, "end": end, "scan": scan or "TimestampDescending",
            "max": min(maxdp or DEFAULT_MAX_DATAPOINTS, DEFAULT_MAX_DATAPOINTS), "token": tok}


def _labels(queries):
    """Default labels as CloudWatch builds them: the metric name, plus the stat and/or
    the period when queries of the same metric name differ in them."""
    groups = {}
    for q in queries:
        if q["label"] is None:
            groups.setdefault(q["ms"]["name"], []).append(q)
    for name, qs in groups.items():
        stats = {q["ms"]["stat"] for q in qs}
        periods = {q["ms"]["period"] for q in qs}
        for q in qs:
            lab = name
            if len(stats) > 1:
                lab += " " + q["ms"]["stat"]
            if len(periods) > 1:
                lab += " %d" % q["ms"]["period"]
            q["label"] = lab


def _compute(g, ctx):
    """Per returned query: (id, label, [timestamps], [values]) in scan order; plus page layout."""
    now = ctx.now
    out = []
    for q in g["queries"]:
        if not q["return"]:
            continue
        ms = q["ms"]
        s = metrics.find(ctx.region, ms["ns"], ms["name"], ms["dims"])
        if s is not None and ms["unit"] is not None and ms["unit"] != s.unit:
            s = None
        pts = buckets(s, g["start"], g["end"], ms["period"], now)
        ts = [t for t, _ in pts]
        vs = [metrics.stat_value(st, ms["parsed"]) for _, st in pts]
        if g["scan"] == "TimestampDescending":
            ts.reverse()
            vs.reverse()
        out.append((q["id"], q["label"], ts, vs))
    # Pages: the datapoints of all queries merged by time (scan order, ties in query order),
    # cut every `max` datapoints.  page -> [(query index, from, to)]
    desc = g["scan"] == "TimestampDescending"
    merged = []
    for qi, (_, _, ts, _) in enumerate(out):
        merged.extend(((-t if desc else t), qi) for t in ts)
    merged.sort()
    m = g["max"]
    pages = []
    pos = [0] * len(out)
    for off in range(0, max(len(merged), 1), m):
        counts = {}
        for _, qi in merged[off:off + m]:
            counts[qi] = counts.get(qi, 0) + 1
        page = []
        for qi in range(len(out)):
            c = counts.get(qi, 0)
            page.append((qi, pos[qi], pos[qi] + c))
            pos[qi] += c
        pages.append(page)
    return out, pages


def get_metric_data(req, ctx):
    g = _parse_gmd(req)
    _labels(g["queries"])
    h = _hash("GetMetricData", ctx.region, req)
    page_no = 0
    now = ctx.now
    if g["token"] is not None:
        tok = _read_token(g["token"])
        if tok is None or tok.get("op") != "GetMetricData" or not isinstance(tok.get("p"), int) \
                or not isinstance(tok.get("n"), (int, float)):
            raise bad_token()
        if tok.get("h") != h:
            raise bad_token()
        page_no = tok["p"]
        now = tok["n"]
    key = (h, now)
    cached = _GMD_CACHE.get(key)
    if cached is None:
        cached = _compute(g, Ctx(ctx.region, now))
        _GMD_CACHE.put(key, cached)
    results, pages = cached
    if not 0 <= page_no < len(pages):
        raise bad_token()
    parts = []
    for qi, a, b in pages[page_no]:
        qid, label, ts, vs = results[qi]
        status = "PartialData" if b < len(ts) else "Complete"
        parts.append('{"Id":%s,"Label":%s,"Timestamps":[%s],"Values":[%s],"StatusCode":"%s"}' % (
            _js(qid), _js(label), ",".join(jnum(t) for t in ts[a:b]), ",".join(jnum(v) for v in vs[a:b]), status))
    body = '{"MetricDataResults":[%s]' % ",".join(parts)
    if page_no + 1 < len(pages):
        body += ',"NextToken":%s' % _js(_make_token({"op": "GetMetricData", "p": page_no + 1, "h": h, "n": now}))
    body += ',"Messages":[]}'
    return body.encode()


# --- ListMetrics -----------------------------------------------------------------------------

def list_metrics(req, ctx):
    _members(req, ("Namespace", "MetricName", "Dimensions", "NextToken", "RecentlyActive", "IncludeLinkedAccounts",
                   "OwningAccount"), "ListMetricsInput", "")
    coral = _Coral()
    ns = _typed(req.get("Namespace"), str, "namespace")
    coral.length(ns, "namespace", 1, 255)
    if ns and ns.startswith(":"):
        coral.add(ns, "namespace", "Member must satisfy regular expression pattern: [^:].*")
    name = _typed(req.get("MetricName"), str, "metricName")
    coral.length(name, "metricName", 1, 255)
    filters = _dimensions(req.get("Dimensions"), "dimensions", coral, filters=True)
    if len(filters) > 10:
        coral.add(req.get("Dimensions"), "dimensions", "Member must have length less than or equal to 10")
    tok = _typed(req.get("NextToken"), str, "nextToken")
    recent = _typed(req.get("RecentlyActive"), str, "recentlyActive")
    coral.enum(recent, ("PT3H",), "recentlyActive")
    linked = _typed(req.get("IncludeLinkedAccounts"), bool, "includeLinkedAccounts")
    owner = _typed(req.get("OwningAccount"), str, "owningAccount")
    coral.length(owner, "owningAccount", 1, 255)
    coral.raise_if_any()

    now = ctx.now
    h = _hash("ListMetrics", ctx.region, req)
    offset = 0
    if tok is not None:
        t = _read_token(tok)
        if t is None or t.get("op") != "ListMetrics" or t.get("h") != h or not isinstance(t.get("o"), int) \
                or not isinstance(t.get("n"), (int, float)):
            raise invalid_value("The value of NextToken is not valid.")
        offset = t["o"]
        now = t["n"]
    found = []
    if owner is None or owner == ACCOUNT:
        for s in metrics.series_in(ctx.region):
            if ns is not None and s.namespace != ns:
                continue
            if name is not None and s.name != name:
                continue
            if filters:
                dmap = dict(s.dims)
                if any(fn not in dmap or (fv is not None and dmap[fn] != fv) for fn, fv in filters):
                    continue
            # "metrics that have had data points published in the past two weeks"
            if not s.overlaps(now - TWO_WEEKS, now):
                continue
            if recent is not None and not metrics.window_stats(s, int(now) - THREE_HOURS, int(math.ceil(now)))[0]:
                continue
            found.append(s)
    found.sort(key=lambda s: (s.namespace, s.name, s.dims))
    if offset > len(found) or offset < 0:
        raise invalid_value("The value of NextToken is not valid.")
    page = found[offset:offset + LIST_PAGE]
    out = OrderedDict()
    out["Metrics"] = [OrderedDict((("Namespace", s.namespace), ("MetricName", s.name),
                                   ("Dimensions", [OrderedDict((("Name", k), ("Value", v))) for k, v in s.dims])))
                      for s in page]
    if offset + LIST_PAGE < len(found):
        out["NextToken"] = _make_token({"op": "ListMetrics", "o": offset + LIST_PAGE, "h": h, "n": now})
    if linked:
        out["OwningAccounts"] = [ACCOUNT] * len(page)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()


# --- GetMetricStatistics ------------------------------------------------------------------------

def get_metric_statistics(req, ctx):
    _members(req, ("Namespace", "MetricName", "Dimensions", "StartTime", "EndTime", "Period", "Statistics",
                   "ExtendedStatistics", "Unit"), "GetMetricStatisticsInput", "")
    coral = _Coral()
    ns = _typed(req.get("Namespace"), str, "namespace")
    name = _typed(req.get("MetricName"), str, "metricName")
    start = _timestamp(req.get("StartTime"), "startTime")
    end = _timestamp(req.get("EndTime"), "endTime")
    period = _typed(req.get("Period"), int, "period")
    dims = _dimensions(req.get("Dimensions"), "dimensions", coral)
    if len(dims) > 30:
        coral.add(req.get("Dimensions"), "dimensions", "Member must have length less than or equal to 30")
    stats = _typed(req.get("Statistics"), list, "statistics")
    ext = _typed(req.get("ExtendedStatistics"), list, "extendedStatistics")
    unit = _typed(req.get("Unit"), str, "unit")
    coral.enum(unit, UNIT_ENUM, "unit")
    for lst, path in ((stats, "statistics"), (ext, "extendedStatistics")):
        for i, v in enumerate(lst or ()):
            _typed(v, str, "%s.%d.member" % (path, i + 1))
    if stats is not None and not 1 <= len(stats) <= 5:
        coral.add(stats, "statistics", "Member must have length %s" % (
            "greater than or equal to 1" if not stats else "less than or equal to 5"))
    if ext is not None and not 1 <= len(ext) <= 10:
        coral.add(ext, "extendedStatistics", "Member must have length %s" % (
            "greater than or equal to 1" if not ext else "less than or equal to 10"))
    for i, v in enumerate(stats or ()):
        coral.enum(v, STATISTIC_ENUM, "statistics.%d.member" % (i + 1))
    if period is not None and period < 1:
        coral.add(period, "period", "Member must have value greater than or equal to 1")
    coral.raise_if_any()
    for member, v in (("Namespace", ns), ("MetricName", name), ("StartTime", start), ("EndTime", end),
                      ("Period", period)):
        if v is None or v == "":
            raise missing("The parameter %s is required." % member)
    if stats and ext:
        raise combination("The parameters Statistics and ExtendedStatistics are mutually exclusive.")
    if not stats and not ext:
        raise missing("Must specify either Statistics or ExtendedStatistics.")
    parsed_ext = []
    for v in ext or ():
        p = metrics.parse_stat(v)
        if p is None or isinstance(p, str):
            raise invalid_value("The value %s for parameter ExtendedStatistics is not supported." % v)
        parsed_ext.append((v, p))
    if not _period_ok(period):
        raise invalid_value("The parameter Period must be a multiple of 60.")
    if start == end:
        raise invalid_value("The parameter StartTime must not equal parameter EndTime.")
    if start > end:
        raise invalid_value("The parameter EndTime must be greater than StartTime.")
    requested = int(math.ceil((end - start) / period))
    if requested > GMS_LIMIT:
        raise combination("You have requested up to {:,} datapoints, which exceeds the limit of 1,440. You may reduce "
                          "the datapoints requested by increasing Period, or decreasing the time range."
                          .format(requested))
    s = metrics.find(ctx.region, ns, name, dims)
    if s is not None and unit is not None and unit != s.unit:
        s = None
    pts = buckets(s, start, end, period, ctx.now)
    # CloudWatch returns the datapoints in no particular order: shuffle them deterministically.
    pts.sort(key=lambda p: hashlib.md5(b"%d" % p[0]).digest())
    dps = []
    for t, st in pts:
        fields = ['"Timestamp":' + jnum(t)]
        for k in STATISTIC_ENUM:
            if stats and k in stats:
                fields.append('"%s":%s' % (k, jnum(metrics.stat_value(st, k))))
        fields.append('"Unit":' + _js(s.unit))
        if parsed_ext:
            fields.append('"ExtendedStatistics":{%s}' % ",".join(
                "%s:%s" % (_js(v), jnum(metrics.stat_value(st, p))) for v, p in parsed_ext))
        dps.append("{%s}" % ",".join(fields))
    return ('{"Label":%s,"Datapoints":[%s]}' % (_js(name), ",".join(dps))).encode()


OPERATIONS = {
    "GetMetricData": get_metric_data,
    "ListMetrics": list_metrics,
    "GetMetricStatistics": get_metric_statistics,
}

MALFORMED = {"GetMetricData": b'{"MetricDataResults": [ {"Id": nope',
             "ListMetrics": b'{"Metrics": [ {"Namespace": nope',
             "GetMetricStatistics": b'{"Label": "x", "Datapoints": [ {nope'}
WRONG_SHAPES = {"GetMetricData": {"MetricDataResults": 42},
                "ListMetrics": {"Metrics": 42},
                "GetMetricStatistics": {"Datapoints": 42}}


def handle(operation, body, ctx):
    """Run one operation on the raw body; returns the response bytes or raises CwError."""
    if body.strip():
        try:
            req = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise serialization("Body is not valid JSON")
    else:
        req = {}
    if not isinstance(req, dict):
        raise serialization("Start of structure or map not found")
    return OPERATIONS[operation](req, ctx)


def valid_region(region):
    return bool(region) and REGION_RE.match(region) is not None


def region_of_host(host):
    """monitoring.<region>.amazonaws.com[:port] -> region, else None."""
    if not host:
        return None
    h = host.strip().lower().rsplit(":", 1)[0] if not host.strip().startswith("[") else ""
    m = re.match(r"^monitoring(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$", h)
    return m.group(1) if m else None


def region_of_scope(authorization):
    """The region of the SigV4 credential scope in an Authorization header, else None."""
    if not authorization:
        return None
    m = re.search(r"Credential=([^,\s]+)", authorization)
    if not m:
        return None
    parts = m.group(1).split("/")
    return parts[2] if len(parts) == 5 else None
