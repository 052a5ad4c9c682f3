"""Cloud Monitoring v3 for the emulator: projects.timeSeries.list and
projects.metricDescriptors.list over the REST/JSON wire format
(reference/provider-apis.md section 4), on the data of gcp_resources.py.

    GET .../v3/projects/{project}/timeSeries?filter=..&interval.endTime=..     (monitoring.timeSeries.list)
    GET .../v3/projects/{project}/metricDescriptors[?filter=..]               (monitoring.metricDescriptors.list)

Everything here is a pure function of the decoded query parameters, the project
and "now" (control.State.now(), carried in page tokens so the pages of one
listing agree even on the real clock).  Authentication, logging and faults
are server.py's.  Errors are raised as GcpError and rendered as the Google
error envelope {"error": {"code", "message", "status"[, "details"]}}.
"""

import base64
import calendar
import collections
import datetime
import hashlib
import json
import math
import re
import threading
import time

import gcp_resources as G

NS = 1000000000
DEFAULT_PAGE_SIZE = 100000          # the API's default and maximum
MAX_DESCRIPTOR_PAGE = 500
MAX_PERIOD = 104 * 7 * 86400
CONTENT_TYPE = "application/json; charset=UTF-8"

ALIGNERS = ("ALIGN_NONE", "ALIGN_DELTA", "ALIGN_RATE", "ALIGN_INTERPOLATE", "ALIGN_NEXT_OLDER", "ALIGN_MIN",
            "ALIGN_MAX", "ALIGN_MEAN", "ALIGN_COUNT", "ALIGN_SUM", "ALIGN_STDDEV", "ALIGN_COUNT_TRUE",
            "ALIGN_COUNT_FALSE", "ALIGN_FRACTION_TRUE", "ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95",
            "ALIGN_PERCENTILE_50", "ALIGN_PERCENTILE_05", "ALIGN_PERCENT_CHANGE")
REDUCERS = ("REDUCE_NONE", "REDUCE_MEAN", "REDUCE_MIN", "REDUCE_MAX", "REDUCE_SUM", "REDUCE_STDDEV", "REDUCE_COUNT",
            "REDUCE_COUNT_TRUE", "REDUCE_COUNT_FALSE", "REDUCE_FRACTION_TRUE", "REDUCE_PERCENTILE_99",
            "REDUCE_PERCENTILE_95", "REDUCE_PERCENTILE_50", "REDUCE_PERCENTILE_05")
VIEWS = ("FULL", "HEADERS")
PERCENTILES = {"ALIGN_PERCENTILE_99": 99.0, "ALIGN_PERCENTILE_95": 95.0, "ALIGN_PERCENTILE_50": 50.0,
               "ALIGN_PERCENTILE_05": 5.0}
NUMERIC = ("INT64", "DOUBLE")
NOT_EMULATED = ("ALIGN_INTERPOLATE", "ALIGN_NEXT_OLDER", "ALIGN_PERCENT_CHANGE")

# Query parameters: accepted spelling -> (canonical JSON name, proto path for messages, kind)
_PARAMS = {}


def _param(json_name, proto_name, kind):
    _PARAMS[json_name] = (json_name, proto_name, kind)
    _PARAMS[proto_name] = (json_name, proto_name, kind)


for _j, _p, _k in (("filter", "filter", "string"), ("interval.startTime", "interval.start_time", "time"),
                   ("interval.endTime", "interval.end_time", "time"),
                   ("aggregation.alignmentPeriod", "aggregation.alignment_period", "duration"),
                   ("aggregation.perSeriesAligner", "aggregation.per_series_aligner", "aligner"),
                   ("aggregation.crossSeriesReducer", "aggregation.cross_series_reducer", "reducer"),
                   ("aggregation.groupByFields", "aggregation.group_by_fields", "repeated"),
                   ("secondaryAggregation.alignmentPeriod", "secondary_aggregation.alignment_period", "duration"),
                   ("secondaryAggregation.perSeriesAligner", "secondary_aggregation.per_series_aligner", "aligner"),
                   ("secondaryAggregation.crossSeriesReducer", "secondary_aggregation.cross_series_reducer",
                    "reducer"),
                   ("secondaryAggregation.groupByFields", "secondary_aggregation.group_by_fields", "repeated"),
                   ("orderBy", "order_by", "string"), ("view", "view", "view"), ("pageSize", "page_size", "int32"),
                   ("pageToken", "page_token", "string"), ("activeOnly", "active_only", "bool")):
    _param(_j, _p, _k)
# Google's system parameters (accepted everywhere, not part of the request message)
SYSTEM_PARAMS = ("prettyPrint", "alt", "$.xgafv", "quotaUser", "$prettyPrint", "$alt")
LIST_PARAMS = ("filter", "interval.startTime", "interval.endTime", "aggregation.alignmentPeriod",
               "aggregation.perSeriesAligner", "aggregation.crossSeriesReducer", "aggregation.groupByFields",
               "secondaryAggregation.alignmentPeriod", "secondaryAggregation.perSeriesAligner",
               "secondaryAggregation.crossSeriesReducer", "secondaryAggregation.groupByFields", "orderBy", "view",
               "pageSize", "pageToken")
DESCRIPTOR_PARAMS = ("filter", "pageSize", "pageToken", "activeOnly")
_ENUM_TYPES = {"aligner": ("type.googleapis.com/google.monitoring.v3.Aggregation.Aligner", ALIGNERS),
               "reducer": ("type.googleapis.com/google.monitoring.v3.Aggregation.Reducer", REDUCERS),
               "view": ("type.googleapis.com/google.monitoring.v3.ListTimeSeriesRequest.TimeSeriesView", VIEWS)}


# --- errors -----------------------------------------------------------------------------------------

CANONICAL = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
             405: "METHOD_NOT_ALLOWED", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
             500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class GcpError(Exception):
    def __init__(self, code, message, status=None, details=None, errors=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or CANONICAL.get(code, "UNKNOWN")
        self.details = details
        self.errors = errors            # BigQuery style errors[] (only for BigQuery)

    def envelope(self):
        err = {"code": self.code, "message": self.message}
        if self.errors is not None:
            err["errors"] = self.errors
        err["status"] = self.status
        if self.details:
            err["details"] = self.details
        return {"error": err}


def invalid(field, value, reason):
    """400 INVALID_ARGUMENT as Monitoring words a bad field: Field F had an invalid value of "V": R"""
    return GcpError(400, 'Field %s had an invalid value of "%s": %s' % (field, value, reason))


def bad_request(message, field=None):
    """400 from the API front end (parameter binding), with a google.rpc.BadRequest detail."""
    violation = {"description": message}
    if field:
        violation = {"field": field, "description": message}
    return GcpError(400, message, details=[{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                            "fieldViolations": [violation]}])


def error_info(reason, service, metadata=None):
    md = {"service": service}
    md.update(metadata or {})
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
            "metadata": md}


def denied(project, permission="monitoring.timeSeries.list"):
    return GcpError(403, "Permission %s denied (or the resource may not exist)." % permission,
                    details=[error_info("IAM_PERMISSION_DENIED", "monitoring.googleapis.com",
                                        {"permission": permission, "resource": "projects/" + project})])


# --- parameters ------------------------------------------------------------------------------------------

def bind(params, allowed):
    """{canonical name: value or [values]} of decoded query parameters, or raise like Google's front end."""
    out = {}
    for name, value in params:
        if name in SYSTEM_PARAMS:
            if name.lstrip("$") == "alt" and value not in ("json", ""):
                raise bad_request("Invalid value at 'alt' (type.googleapis.com/google.api.Alt), \"%s\"" % value,
                                  "alt")
            continue
        spec = _PARAMS.get(name)
        if spec is None or spec[0] not in allowed:
            raise bad_request('Invalid JSON payload received. Unknown name "%s": Cannot bind query parameter. '
                              "Field '%s' could not be found in request message." % (name, name))
        json_name, proto_name, kind = spec
        if kind == "repeated":
            out.setdefault(json_name, []).append(value)
            continue
        if json_name in out:
            raise bad_request('Invalid JSON payload received. Repeated values for non-repeated field "%s".'
                              % json_name, proto_name)
        if kind in _ENUM_TYPES:
            type_url, values = _ENUM_TYPES[kind]
            if value not in values:
                raise bad_request("Invalid value at '%s' (%s), \"%s\"" % (proto_name, type_url, value), proto_name)
        elif kind == "int32":
            if not re.match(r"^-?\d+$", value) or not -2 ** 31 <= int(value) < 2 ** 31:
                raise bad_request("Invalid value at '%s' (TYPE_INT32), \"%s\"" % (proto_name, value), proto_name)
            value = int(value)
        elif kind == "bool":
            if value not in ("true", "false"):
                raise bad_request("Invalid value at '%s' (TYPE_BOOL), \"%s\"" % (proto_name, value), proto_name)
        elif kind == "time":
            value = (value, parse_time(value, proto_name))
        elif kind == "duration":
            value = (value, parse_duration(value, proto_name))
        out[json_name] = value
    return out


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$")


def parse_time(text, field="interval.end_time"):
    """RFC 3339 -> integer nanoseconds since the epoch, or raise (as google.protobuf.Timestamp parsing does)."""
    m = _RFC3339.match(text)
    err = bad_request("Invalid value at '%s' (type.googleapis.com/google.protobuf.Timestamp), Field '%s', "
                      "Invalid time format: Failed to parse input" % (field, field.rsplit(".", 1)[-1]), field)
    if not m:
        raise err
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 60):
        raise err
    try:
        datetime.date(y, mo, d)
        secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    except (ValueError, OverflowError):
        raise err
    frac = m.group(7) or ""
    nanos = int((frac + "000000000")[:9])
    tz = m.group(8)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        secs -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return secs * NS + nanos


_DURATION = re.compile(r"^(-?)(\d+)(?:\.(\d{1,9}))?s$")


def parse_duration(text, field):
    """google.protobuf.Duration JSON ("300s", "1.5s") -> nanoseconds, or raise."""
    m = _DURATION.match(text)
    if not m:
        raise bad_request("Invalid value at '%s' (type.googleapis.com/google.protobuf.Duration), Field '%s', "
                          "Illegal duration format; duration must end with 's'" % (field, field.rsplit(".", 1)[-1])
                          if not text.endswith("s") else
                          "Invalid value at '%s' (type.googleapis.com/google.protobuf.Duration), Field '%s', "
                          "Invalid duration format, failed to parse seconds" % (field, field.rsplit(".", 1)[-1]),
                          field)
    ns = int(m.group(2)) * NS + int(((m.group(3) or "") + "000000000")[:9])
    return -ns if m.group(1) else ns


def fmt_time(ns):
    """RFC 3339 UTC as proto3 JSON writes a Timestamp: 0, 3, 6 or 9 fractional digits."""
    secs, frac = divmod(ns, NS)
    base = _fmt_secs(secs)
    if frac == 0:
        return base + "Z"
    if frac % 1000000 == 0:
        return "%s.%03dZ" % (base, frac // 1000000)
    if frac % 1000 == 0:
        return "%s.%06dZ" % (base, frac // 1000)
    return "%s.%09dZ" % (base, frac)


def _fmt_secs(secs):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))


# --- the filter language ----------------------------------------------------------------------------------

class FilterError(Exception):
    pass


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|>=|<=|=|>|<|:)
  | (?P<punct>[().,])
""", re.X)
FUNCTIONS = ("starts_with", "ends_with", "has_substring", "one_of", "monitoring.regex.full_match")
KEYWORDS = ("AND", "OR", "NOT")


def _unescape(lit, pos):
    out = []
    i = 1
    while i < len(lit) - 1:
        c = lit[i]
        if c == "\\":
            n = lit[i + 1]
            if n not in '"\\':
                raise FilterError("invalid escape sequence \\%s in a string at position %d" % (n, pos + i))
            out.append(n)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def tokenize(text):
    toks = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos] == '"':
                raise FilterError("unterminated string at position %d" % pos)
            raise FilterError("unexpected character '%s' at position %d" % (text[pos], pos))
        kind = m.lastgroup
        if kind == "str":
            toks.append(("str", _unescape(m.group(), pos), pos))
        elif kind != "ws":
            toks.append((kind, m.group(), pos))
        pos = m.end()
    toks.append(("end", "", pos))
    return toks


class _Parser:
    """Recursive descent.  Precedence: NOT binds tightest, then AND, then OR; parentheses group.

        expr   := and { "OR" and }
        and    := unary { "AND" unary }
        unary  := "NOT" unary | "(" expr ")" | comparison
        comparison := selector op value
        selector   := name { "." (name | "string") }
        value  := "string" | number | true | false | function "(" [value { "," value }] ")"
    """

    def __init__(self, text):
        self.toks = tokenize(text)
        self.i = 0

    def peek(self):
        return self.toks[self.i]

    def take(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def fail(self, what):
        t = self.peek()
        found = "end of filter" if t[0] == "end" else "'%s'" % t[1]
        raise FilterError("expected %s but found %s at position %d" % (what, found, t[2]))

    def is_kw(self, word):
        t = self.peek()
        return t[0] == "ident" and t[1] == word

    def parse(self):
        if self.peek()[0] == "end":
            raise FilterError("the filter is empty")
        node = self.expr()
        if self.peek()[0] != "end":
            self.fail("AND, OR or the end of the filter")
        return node

    def expr(self):
        parts = [self.conj()]
        while self.is_kw("OR"):
            self.take()
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def conj(self):
        parts = [self.unary()]
        while self.is_kw("AND"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def unary(self):
        if self.is_kw("NOT"):
            self.take()
            return ("not", self.unary())
        t = self.peek()
        if t[0] == "punct" and t[1] == "(":
            self.take()
            node = self.expr()
            if not (self.peek()[0] == "punct" and self.peek()[1] == ")"):
                self.fail("')'")
            self.take()
            return node
        return self.comparison()

    def name(self):
        """A dotted name: ident {. (ident | "quoted")}; returns (parts, position)."""
        t = self.peek()
        if t[0] != "ident" or t[1] in KEYWORDS:
            self.fail("a selector")
        self.take()
        parts = [t[1]]
        while self.peek()[0] == "punct" and self.peek()[1] == ".":
            self.take()
            n = self.take()
            if n[0] not in ("ident", "str"):
                self.i -= 1
                self.fail("a name after '.'")
            parts.append(n[1])
        return parts, t[2]

    def comparison(self):
        parts, pos = self.name()
        sel = selector(parts, pos)
        t = self.peek()
        if t[0] != "op":
            self.fail("a comparison operator (=, !=, :, <, <=, >, >=)")
        self.take()
        op = t[1]
        val = self.value()
        if val[0] == "func" and op not in ("=", "!="):
            raise FilterError("the function %s can only be used with = or != (position %d)" % (val[1], t[2]))
        if sel[0] in ("metric.labels", "resource.labels") and op != ":":
            raise FilterError("%s needs a label key (position %d)" % (sel[0], pos))
        return ("cmp", sel, op, val)

    def value(self):
        t = self.peek()
        if t[0] == "str":
            self.take()
            return ("str", t[1])
        if t[0] == "num":
            self.take()
            return ("num", t[1])
        if t[0] == "ident" and t[1] in ("true", "false"):
            self.take()
            return ("str", t[1])
        if t[0] == "ident" and t[1] not in KEYWORDS:
            parts, pos = self.name()
            fname = ".".join(parts)
            if fname not in FUNCTIONS:
                raise FilterError("unknown function %s at position %d" % (fname, pos))
            if not (self.peek()[0] == "punct" and self.peek()[1] == "("):
                self.fail("'(' after %s" % fname)
            self.take()
            args = []
            while True:
                a = self.peek()
                if a[0] != "str":
                    self.fail("a quoted string argument of %s" % fname)
                self.take()
                args.append(a[1])
                p = self.take()
                if p[0] == "punct" and p[1] == ")":
                    break
                if not (p[0] == "punct" and p[1] == ","):
                    self.i -= 1
                    self.fail("',' or ')'")
            if fname != "one_of" and len(args) != 1:
                raise FilterError("%s takes exactly one argument (position %d)" % (fname, pos))
            if fname == "monitoring.regex.full_match":
                try:
                    args = [re.compile(args[0])]
                except re.error as e:
                    raise FilterError("invalid regular expression %r: %s" % (args[0], e))
            return ("func", fname, args)
        self.fail("a value")
        return None


def selector(parts, pos):
    """Canonical selector: ("project",) ("metric.type",) ("metric.label", key) ("resource.type",)
    ("resource.label", key) ("metadata", key), or ("metric.labels",) / ("resource.labels",) for `:` key tests."""
    p = parts
    if p == ["project"]:
        return ("project",)
    if len(p) == 2 and p[0] in ("metric", "resource") and p[1] == "type":
        return (p[0] + ".type",)
    if len(p) == 3 and p[0] in ("metric", "resource") and p[1] in ("label", "labels"):
        return (p[0] + ".label", p[2])
    if len(p) == 2 and p[0] in ("metric", "resource") and p[1] in ("label", "labels"):
        return (p[0] + ".labels",)
    if len(p) == 3 and p[0] == "metadata" and p[1] in ("system_labels", "user_labels"):
        return ("metadata", p[2])
    raise FilterError("unknown selector %s at position %d" % (".".join(p), pos))


def parse_filter(text):
    return _Parser(text).parse()


def _num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def _match(candidates, op, val):
    """Does a comparison hold for a selector whose value(s) are `candidates` (list; empty = label absent)?"""
    if op == "!=":
        return not _match(candidates, "=", val)
    for c in candidates:
        if val[0] == "func":
            name, args = val[1], val[2]
            if (name == "starts_with" and c.startswith(args[0])) or (name == "ends_with" and c.endswith(args[0])) \
                    or (name == "has_substring" and args[0] in c) or (name == "one_of" and c in args) \
                    or (name == "monitoring.regex.full_match" and args[0].fullmatch(c)):
                return True
            continue
        lit = val[1]
        if op == "=":
            if c == lit or (val[0] == "num" and _num(c) is not None and _num(c) == _num(lit)):
                return True
        elif op == ":":
            if lit in c:
                return True
        else:
            a, b = _num(c), _num(lit)
            if a is None or b is None:
                a, b = c, lit
            if (op == "<" and a < b) or (op == "<=" and a <= b) or (op == ">" and a > b) or (op == ">=" and a >= b):
                return True
    return False


def evaluate(node, lookup):
    """Evaluate a parsed filter; lookup(selector) -> list of candidate strings."""
    kind = node[0]
    if kind == "and":
        return all(evaluate(n, lookup) for n in node[1])
    if kind == "or":
        return any(evaluate(n, lookup) for n in node[1])
    if kind == "not":
        return not evaluate(node[1], lookup)
    _, sel, op, val = node
    if sel[0] in ("metric.labels", "resource.labels"):     # `metric.labels : "key"`: has the key
        return val[0] != "func" and val[1] in lookup(sel)
    return _match(lookup(sel), op, val)


def series_lookup(s):
    def lookup(sel):
        k = sel[0]
        if k == "project":
            return [s.resource.project, G.PROJECTS[s.resource.project]]
        if k == "metric.type":
            return [s.metric.type]
        if k == "resource.type":
            return [s.resource.type]
        if k == "metric.label":
            v = s.labels.get(sel[1])
            return [] if v is None else [v]
        if k == "resource.label":
            v = s.resource.labels.get(sel[1])
            return [] if v is None else [v]
        if k == "metric.labels":
            return list(s.labels)
        if k == "resource.labels":
            return list(s.resource.labels)
        return []                                       # metadata labels: none in this estate
    return lookup


def metric_types(node):
    """The literal values of top-level `metric.type = "..."` conjuncts."""
    conj = node[1] if node[0] == "and" else [node]
    out = []
    for n in conj:
        if n[0] == "and":
            out += metric_types(n)
        elif n[0] == "cmp" and n[1] == ("metric.type",) and n[2] == "=" and n[3][0] == "str":
            out.append(n[3][1])
    return out


# --- alignment ------------------------------------------------------------------------------------------

def aligner_valid(m, aligner):
    k, v = m.kind, m.vtype
    if aligner == "ALIGN_NONE":
        return True
    if aligner == "ALIGN_DELTA":
        return k in ("DELTA", "CUMULATIVE") and v in NUMERIC + ("DISTRIBUTION",)
    if aligner == "ALIGN_RATE":
        return k in ("DELTA", "CUMULATIVE") and v in NUMERIC
    if aligner in ("ALIGN_MIN", "ALIGN_MAX", "ALIGN_COUNT", "ALIGN_STDDEV"):
        return k in ("GAUGE", "DELTA") and v in NUMERIC
    if aligner in ("ALIGN_SUM", "ALIGN_MEAN") or aligner in PERCENTILES:
        return k in ("GAUGE", "DELTA") and v in NUMERIC + ("DISTRIBUTION",)
    return False        # COUNT_TRUE, COUNT_FALSE, FRACTION_TRUE: BOOL metrics only (none here)


def output_shape(m, aligner):
    """(metricKind, valueType, unit) of the series an aligner produces."""
    if aligner == "ALIGN_NONE":
        return m.kind, m.vtype, m.unit
    if aligner == "ALIGN_DELTA":
        return "DELTA", m.vtype, m.unit
    if aligner == "ALIGN_RATE":
        return "GAUGE", "DOUBLE", m.unit + "/s"
    if aligner == "ALIGN_SUM":
        return m.kind, m.vtype, m.unit
    if aligner in ("ALIGN_MIN", "ALIGN_MAX"):
        return "GAUGE", m.vtype, m.unit
    if aligner == "ALIGN_COUNT":
        return "GAUGE", "INT64", "1"
    return "GAUGE", "DOUBLE", m.unit                   # MEAN, STDDEV, PERCENTILE_*


def _weighted_mean(ds):
    # plain left-to-right float addition (sum() compensates on Python >= 3.12): the
    # expectation endpoint adds in the same order, so both agree to the last bit
    n = 0
    acc = 0.0
    for d in ds:
        n += d.count
        acc += d.count * d.mean
    return acc / n


def merge_distributions(ds):
    count = sum(d.count for d in ds)
    mean = _weighted_mean(ds)
    ssd = sum(d.ssd for d in ds) + sum(d.count * (d.mean - mean) ** 2 for d in ds)
    buckets = [sum(col) for col in zip(*(d.buckets for d in ds))]
    return G.Distribution(count, mean, ssd, buckets)


def distribution_percentile(d, p):
    """The p-th percentile of a distribution, interpolated linearly inside the bucket that holds it."""
    bounds = G.bucket_bounds()
    target = p / 100.0 * d.count
    seen = 0
    for i, c in enumerate(d.buckets):
        if c and seen + c >= target:
            if i >= len(bounds):                    # overflow bucket: its lower bound
                return bounds[-1]
            lo = 0.0 if i == 0 else bounds[i - 1]
            return lo + (bounds[i] - lo) * ((target - seen) / c)
        seen += c
    return bounds[-1]


def aggregate(aligner, vtype, values, period_s):
    """The aligned value of one bucket; values in ascending time order (CUMULATIVE: increments)."""
    if vtype == "DISTRIBUTION":
        if aligner == "ALIGN_MEAN":             # the mean of all the values (buckets not needed)
            return _weighted_mean(values)
        merged = merge_distributions(values)
        if aligner in PERCENTILES:
            return distribution_percentile(merged, PERCENTILES[aligner])
        return merged                               # DELTA, SUM
    if aligner == "ALIGN_COUNT":
        return len(values)
    if aligner == "ALIGN_MIN":
        return min(values)
    if aligner == "ALIGN_MAX":
        return max(values)
    total = 0 if vtype == "INT64" else 0.0
    for v in values:
        total += v
    if aligner in ("ALIGN_SUM", "ALIGN_DELTA"):
        return total
    if aligner == "ALIGN_RATE":
        return total / period_s
    mean = total / len(values)
    if aligner == "ALIGN_MEAN":
        return mean
    if aligner == "ALIGN_STDDEV":
        acc = 0.0
        for v in values:
            acc += (v - mean) ** 2
        return math.sqrt(acc / len(values))
    xs = sorted(values)                             # PERCENTILE_*: linear between the closest ranks
    rank = PERCENTILES[aligner] / 100.0 * (len(xs) - 1)
    lo = int(math.floor(rank))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo)


class Query:
    """A validated timeSeries.list request."""

    def __init__(self, metric, start, end, aligner, period, lo, hi):
        self.metric = metric
        self.start = start          # ns
        self.end = end              # ns
        self.aligner = aligner
        self.period = period        # ns (aligned queries)
        self.lo = lo                # raw samples exist for lo < t <= hi (seconds)
        self.hi = hi


def series_points(q, s):
    """[(startTime ns, endTime ns, value)] of one series, newest first."""
    m = q.metric
    if q.aligner == "ALIGN_NONE":
        a = q.start // NS - 1 if q.start == q.end else q.start // NS
        raw = G.samples(s, max(a, q.lo), min(q.end // NS, q.hi))
        out = []
        for t, v in reversed(raw):
            tn = t * NS
            if not (q.start < tn <= q.end or (q.start == q.end == tn)):
                continue
            if m.kind == "GAUGE":
                st = tn
            elif m.kind == "DELTA":
                st = (t - m.period) * NS
            else:
                st = G.reset_time(s, t) * NS
            out.append((st, tn, v))
        return out
    P = q.period
    kmax = 0 if q.end <= q.start else (q.end - q.start - 1) // P
    left = q.end - (kmax + 1) * P               # exclusive lower edge of the oldest bucket
    raw = G.samples(s, max(left // NS, q.lo), min(q.end // NS, q.hi))
    cumulative = m.kind == "CUMULATIVE"
    buckets = {}
    for t, v in raw:
        tn = t * NS
        if tn <= left or tn > q.end:
            continue
        buckets.setdefault((q.end - tn) // P, []).append(G.increment(s, t) if cumulative else v)
    kind, vtype, _ = output_shape(m, q.aligner)
    period_s = P / NS
    out = []
    for k in sorted(buckets):
        t = q.end - k * P
        out.append((t - P if kind == "DELTA" else t, t, aggregate(q.aligner, m.vtype, buckets[k], period_s)))
    return out


# --- rendering ----------------------------------------------------------------------------------------------

def typed_value(vtype, v):
    if vtype == "INT64":
        return {"int64Value": str(int(v))}
    if vtype == "DOUBLE":
        return {"doubleValue": float(v)}
    bc = [str(c) for c in v.buckets]
    while bc and bc[-1] == "0":                     # a suffix of zero buckets may be omitted
        bc.pop()
    d = {"count": str(v.count), "mean": v.mean, "sumOfSquaredDeviation": v.ssd,
         "bucketOptions": {"exponentialBuckets": dict(G.RTT_BUCKETS)}}
    if bc:
        d["bucketCounts"] = bc
    return {"distributionValue": d}


def series_header(s, kind, vtype, unit):
    metric = {"type": s.metric.type}
    if s.labels:
        metric["labels"] = dict(s.labels)
    return {"metric": metric, "resource": {"type": s.resource.type, "labels": dict(s.resource.labels)},
            "metricKind": kind, "valueType": vtype}


def dumps(obj, pretty=True):
    """Google's JSON: two-space indentation (prettyPrint=true, the default) or compact."""
    if not pretty:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    if isinstance(obj, dict) and isinstance(obj.get("timeSeries"), list):
        return _dumps_series(obj)
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


_POINT = ('{\n%(i)s  "interval": {\n%(i)s    "startTime": "%(s)s",\n%(i)s    "endTime": "%(e)s"\n%(i)s  },\n'
          '%(i)s  "value": %(v)s\n%(i)s}')


def _pretty_points(points, indent):
    """The same text as json.dumps(points, indent=2) nested `indent` deep, without the slow generic encoder."""
    if not points:
        return "[]"
    inner = indent + "  "
    out = []
    for pt in points:
        iv, val = pt.get("interval"), pt.get("value")
        if set(pt) != {"interval", "value"} or not isinstance(iv, dict) or set(iv) != {"startTime", "endTime"} \
                or not isinstance(val, dict) or len(val) != 1 or "distributionValue" in val:
            text = json.dumps(pt, indent=2, ensure_ascii=False).replace("\n", "\n" + inner)
        else:
            (k, v), = val.items()
            vtext = '{\n%s    %s: %s\n%s  }' % (inner, json.dumps(k), json.dumps(v), inner)
            text = _POINT % {"i": inner, "s": iv["startTime"], "e": iv["endTime"], "v": vtext}
        out.append(inner + text)
    return "[\n" + ",\n".join(out) + "\n" + indent + "]"


def _dumps_series(obj):
    shell = dict(obj)
    rendered = []
    series = []
    for s in obj["timeSeries"]:
        if isinstance(s, dict) and isinstance(s.get("points"), list):
            s = dict(s)
            s["points"] = "\u0000P%d\u0000" % len(rendered)
            rendered.append(_pretty_points(obj["timeSeries"][len(series)]["points"], "      "))
        series.append(s)
    shell["timeSeries"] = series
    text = json.dumps(shell, indent=2, ensure_ascii=False)
    for i, r in enumerate(rendered):
        text = text.replace('"\\u0000P%d\\u0000"' % i, r, 1)
    return (text + "\n").encode()


def pretty_wanted(params):
    for k, v in params:
        if k in ("prettyPrint", "$prettyPrint"):
            return v not in ("false", "0")
    return True


# --- page tokens --------------------------------------------------------------------------------------------

def _request_hash(kind, project, bound):
    items = sorted((k, v if isinstance(v, str) else (v[0] if isinstance(v, tuple) else json.dumps(v)))
                   for k, v in bound.items() if k not in ("pageToken", "pageSize"))
    return hashlib.sha256(json.dumps([kind, project, items]).encode()).hexdigest()[:16]


def make_page_token(obj):
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def read_page_token(token, h):
    try:
        obj = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(obj, dict) or obj.get("h") != h:
            raise ValueError
        return obj
    except (ValueError, TypeError, UnicodeDecodeError):
        raise invalid("pageToken", token, "The page token is not valid for this request.")


# a few series' computed points, so the look-ahead that decides nextPageToken is not paid twice
_CACHE = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()


def _cached_points(key, q, s):
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    pts = series_points(q, s)
    with _CACHE_LOCK:
        _CACHE[key] = pts
        while len(_CACHE) > 8:
            _CACHE.popitem(last=False)
    return pts


# --- timeSeries.list -------------------------------------------------------------------------------------

def known_project(project):
    if project in G.PROJECTS:
        return project
    return G.PROJECT_OF_NUMBER.get(project)


def list_time_series(project, params, now, page_cap):
    """The response object of timeSeries.list; raises GcpError.  params: decoded (name, value) pairs."""
    pid = known_project(project)
    if pid is None:
        raise denied(project)
    b = bind(params, LIST_PARAMS)
    h = _request_hash("ts", project, b)
    tok = read_page_token(b["pageToken"], h) if b.get("pageToken") else None
    if tok is not None:
        now = tok["n"]
    # filter
    ftext = b.get("filter", "")
    if not ftext.strip():
        raise invalid("filter", ftext, "The filter must specify exactly one metric type.")
    try:
        node = parse_filter(ftext)
    except FilterError as e:
        raise invalid("filter", ftext, "Could not parse the filter: %s." % e)
    types = set(metric_types(node))
    if len(types) != 1:
        raise invalid("filter", ftext, "The filter must specify exactly one metric type "
                                       '(a top-level metric.type = "..." restriction).')
    mtype = types.pop()
    # interval
    if "interval.endTime" not in b:
        raise invalid("interval.endTime", "", "The end time of the interval must be specified.")
    end_text, end = b["interval.endTime"]
    start_text, start = b.get("interval.startTime", (end_text, end))
    if start > end:
        raise invalid("interval.startTime", start_text, "The start time must be before or equal to the end time.")
    # aggregation
    aligner = b.get("aggregation.perSeriesAligner", "ALIGN_NONE")
    reducer = b.get("aggregation.crossSeriesReducer", "REDUCE_NONE")
    period = None
    if aligner != "ALIGN_NONE":
        if "aggregation.alignmentPeriod" not in b:
            raise invalid("aggregation.alignmentPeriod", "", "An alignment period must be given when the aligner "
                                                             "is not ALIGN_NONE.")
        ptext, period = b["aggregation.alignmentPeriod"]
        if period < 60 * NS:
            raise invalid("aggregation.alignmentPeriod", ptext, "The alignment period must be at least 60 seconds.")
        if period > MAX_PERIOD * NS:
            raise invalid("aggregation.alignmentPeriod", ptext, "The alignment period must be at most 104 weeks.")
        if period % NS:
            raise invalid("aggregation.alignmentPeriod", ptext,
                          "The finops emulator supports only whole seconds as the alignment period.")
    if aligner in NOT_EMULATED:
        raise invalid("aggregation.perSeriesAligner", aligner, "The finops emulator does not implement this aligner.")
    if reducer != "REDUCE_NONE":
        if aligner == "ALIGN_NONE":
            raise invalid("aggregation.perSeriesAligner", aligner,
                          "A per-series aligner other than ALIGN_NONE is required with a cross-series reducer.")
        raise invalid("aggregation.crossSeriesReducer", reducer,
                      "The finops emulator does not implement cross-series reduction.")
    for k in ("secondaryAggregation.perSeriesAligner", "secondaryAggregation.crossSeriesReducer"):
        if b.get(k, "ALIGN_NONE" if "Aligner" in k else "REDUCE_NONE") not in ("ALIGN_NONE", "REDUCE_NONE"):
            raise invalid(k, b[k], "The finops emulator does not implement secondary aggregation.")
    if b.get("orderBy"):
        raise invalid("orderBy", b["orderBy"], "Unsupported: must be left blank.")
    page_size = b.get("pageSize", 0)
    if page_size < 0:
        raise invalid("pageSize", str(page_size), "The page size must not be negative.")
    view = b.get("view", "FULL")

    m = G.METRICS.get(mtype)
    if m is None:
        return {}                                   # a metric type without data: an empty answer
    if not aligner_valid(m, aligner):
        raise invalid("aggregation.perSeriesAligner", aligner,
                      "The aligner cannot be applied to metrics with kind %s and value type %s." % (m.kind, m.vtype))
    lo, hi = G.window(now)
    q = Query(m, start, end, aligner, period, lo, hi)
    kind, vtype, unit = output_shape(m, aligner)
    matching = [s for s in G.series_of(mtype) if s.resource.project == pid and evaluate(node, series_lookup(s))]
    cap = min(page_size or DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE, page_cap)

    i = tok["i"] if tok else 0
    p = tok["p"] if tok else 0
    out = []

    def points(idx):
        return _cached_points((h, now, idx), q, matching[idx])

    if view == "HEADERS":
        nxt = None
        while i < len(matching):
            if points(i):
                if len(out) == cap:
                    nxt = {"h": h, "n": now, "i": i, "p": 0}
                    break
                out.append(series_header(matching[i], kind, vtype, unit))
            i += 1
    else:
        room = cap
        while i < len(matching) and room > 0:
            pts = points(i)
            take = pts[p:p + room]
            if take:
                ser = series_header(matching[i], kind, vtype, unit)
                ser["points"] = [{"interval": {"startTime": fmt_time(a), "endTime": fmt_time(z)},
                                  "value": typed_value(vtype, v)} for a, z, v in take]
                ser["unit"] = unit
                out.append(ser)
                room -= len(take)
                p += len(take)
            if p >= len(pts):
                i += 1
                p = 0
        nxt = None
        while i < len(matching):                    # anything left? (a series may continue on the next page)
            if p < len(points(i)):
                nxt = {"h": h, "n": now, "i": i, "p": p}
                break
            i += 1
            p = 0
    resp = {}
    if out:
        resp["timeSeries"] = out
    if nxt is not None:
        resp["nextPageToken"] = make_page_token(nxt)
    resp["unit"] = unit
    return resp


# --- metricDescriptors.list -------------------------------------------------------------------------------

def descriptor_lookup(m):
    def lookup(sel):
        k = sel[0]
        if k == "metric.type":
            return [m.type]
        if k == "resource.type":
            return [m.rtype]
        raise FilterError("%s cannot be used in a metric descriptor filter" % ".".join(x for x in sel if x))
    return lookup


def descriptor(project, m):
    d = {"name": "projects/%s/metricDescriptors/%s" % (project, m.type), "type": m.type}
    if m.labels:
        d["labels"] = [{"key": k, "description": desc} for k, desc in m.labels]
    d.update({"metricKind": m.kind, "valueType": m.vtype, "unit": m.unit, "description": m.description,
              "displayName": m.display, "metadata": {"samplePeriod": "%ds" % m.period}, "launchStage": "GA",
              "monitoredResourceTypes": [m.rtype]})
    return d


def list_metric_descriptors(project, params):
    if known_project(project) is None:
        raise denied(project, "monitoring.metricDescriptors.list")
    b = bind(params, DESCRIPTOR_PARAMS)
    h = _request_hash("md", project, b)
    ftext = b.get("filter", "")
    found = list(G.METRICS.values())
    if ftext.strip():
        try:
            node = parse_filter(ftext)
            found = [m for m in found if evaluate(node, descriptor_lookup(m))]
        except FilterError as e:
            raise invalid("filter", ftext, "Could not parse the filter: %s." % e)
    size = b.get("pageSize", 0)
    if size < 0:
        raise invalid("pageSize", str(size), "The page size must not be negative.")
    size = min(size or MAX_DESCRIPTOR_PAGE, MAX_DESCRIPTOR_PAGE)
    off = read_page_token(b["pageToken"], h)["o"] if b.get("pageToken") else 0
    page = found[off:off + size]
    resp = {}
    if page:
        resp["metricDescriptors"] = [descriptor(project, m) for m in page]
    if off + size < len(found):
        resp["nextPageToken"] = make_page_token({"h": h, "o": off + size})
    return resp


# Bodies of the malformed / wrong_shape faults.
MALFORMED = {"monitoring.timeSeries.list": b'{\n  "timeSeries": [\n    {\n      "metric": nope',
             "monitoring.metricDescriptors.list": b'{\n  "metricDescriptors": [\n    {\n      "name": nope'}
WRONG_SHAPES = {"monitoring.timeSeries.list": {"timeSeries": 42},
                "monitoring.metricDescriptors.list": {"metricDescriptors": 42}}
