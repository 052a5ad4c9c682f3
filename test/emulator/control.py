"""Emulator state and the unauthenticated control API under /_emulator/.

State (config, pending faults, request log, concurrency counters) is shared by
all handler threads; one lock guards it and is never held while sleeping or
computing a response.

The expectation endpoint recomputes totals straight from company.line_items()
with its own small loop -- deliberately not through aws_ce.py -- so a test that
compares the FDW's output with it checks the whole API path, not a copy of it.
Likewise the CloudWatch and Cloud Monitoring expectations restate the read and
aggregation rules here and share only the sample generators (metrics.py,
gcp_resources.py) with aws_cw.py / gcp_monitoring.py.
"""

import datetime
import decimal
import hashlib
import importlib
import inspect
import json
import math
import re
import threading
import time
from urllib.parse import parse_qsl

import aws_cw
import aws_sts
import azure_auth
import azure_cost
import azure_monitor
import azure_resources
import bench as bench_mod
import company
import gcp_oauth
import gcp_resources
import metrics
import resources
import sigv4

FAULT_KINDS = ("throttle", "error", "http500", "http503", "slow", "cut", "malformed", "truncated", "wrong_shape",
               "drop", "nocontent", "drip", "gzip_bomb", "huge", "token_loop")
DEFAULT_PAGE_SIZE = 500
DEFAULT_TEST_TOKEN_TTL = 3600
DEFAULT_GCP_TOKEN_TTL = gcp_oauth.DEFAULT_TTL
DEFAULT_GCP_PAGE_SIZE = 10000       # Cloud Monitoring points per page (the API's own maximum is 100,000)
DEFAULT_AZURE_TOKEN_TTL = azure_auth.DEFAULT_TTL
DEFAULT_AZURE_PAGE_SIZE = azure_cost.DEFAULT_PAGE_SIZE               # Cost Management rows per page
DEFAULT_AZURE_RESOURCES_PAGE_SIZE = 100                              # ARM resource listing items per page
# Fault "headers" may not replace the headers that frame the HTTP message.
FRAMING_HEADERS = ("content-length", "connection", "transfer-encoding")
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


AZURE_OPERATIONS = ("azure.token", "costmanagement.query", "monitor.metrics", "monitor.getBatch", "arm.resources.list")


class ControlError(Exception):
    pass


class State:
    def __init__(self, today=None, page_size=DEFAULT_PAGE_SIZE, verbose=False, gcp_auth_dir=None):
        self.lock = threading.Lock()
        self.cli_today = today          # None: follow the real clock (UTC)
        self.cli_page_size = page_size
        self.verbose = verbose
        self.generation = 0             # number of resets: seeds the STS credentials
        self.credentials = _Credentials(self)
        # Credentials and tokens the emulator issued outlive a reset, as they
        # would outlive anything at a real provider: a client's cache of them
        # stays valid until they expire (or /_emulator/{sts,test}/expire).
        self.sts_issued = {}            # access key id -> credentials issued by AssumeRole
        self.sts_seq = 0
        self.test_tokens = {}           # engine test service: bearer token -> expiry (epoch seconds)
        self.test_token_seq = 0
        # Google: the service accounts whose JWTs the token endpoint accepts, and the
        # access tokens it issued (token -> {"expires", "scopes", "client_email"})
        self.gcp_accounts = gcp_oauth.load_accounts(gcp_auth_dir)
        self.gcp_tokens = {}
        self.gcp_token_seq = 0
        # Azure: access tokens the Entra ID token endpoint issued (token -> {"expires", "aud", "tenant"})
        self.azure_tokens = {}
        self.azure_token_seq = 0
        self.reset()

    # -- configuration ---------------------------------------------------------
    def reset(self):
        with self.lock:
            self.config = {"page_size": self.cli_page_size, "latency_ms": 0, "today": self.cli_today,
                           "sts_credential_seconds": None, "test_token_ttl": DEFAULT_TEST_TOKEN_TTL,
                           "gcp_token_ttl": DEFAULT_GCP_TOKEN_TTL, "gcp_page_size": DEFAULT_GCP_PAGE_SIZE,
                           "bq_incomplete_polls": 0, "azure_token_ttl": DEFAULT_AZURE_TOKEN_TTL,
                           "azure_page_size": DEFAULT_AZURE_PAGE_SIZE,
                           "azure_resources_page_size": DEFAULT_AZURE_RESOURCES_PAGE_SIZE}
            self.faults = []
            self.log = []
            self.seq = 0
            # requests still answered from before a reset are not counted out
            # of the new count (see end)
            self.in_flight = 0
            self.max_in_flight = 0
            self.by_operation = {}
            self.by_service = {}
            self.bench = None           # bench.Bench while bench mode is on
            self.generation += 1
            self.test_jobs = {}         # job id -> {"total", "size", "polls", "gets"}
            self.test_job_seq = 0

    def today(self):
        t = self.config["today"]
        return t if t is not None else datetime.datetime.now(datetime.timezone.utc).date()

    def now(self):
        """The CloudWatch clock: 00:00:00Z of the pinned `today`, else the real time (epoch seconds)."""
        t = self.config["today"]
        if t is not None:
            return resources.epoch(t)
        return time.time()

    def set_config(self, obj):
        if not isinstance(obj, dict):
            raise ControlError("config body must be a JSON object")
        new = {}
        for k, v in obj.items():
            if k in ("page_size", "latency_ms"):
                if not isinstance(v, int) or isinstance(v, bool) or v < (1 if k == "page_size" else 0):
                    raise ControlError("%s must be an integer >= %d" % (k, 1 if k == "page_size" else 0))
                new[k] = v
            elif k == "today":
                new[k] = None if v is None else _date(v, "today")
            elif k == "sts_credential_seconds":
                if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                    raise ControlError("sts_credential_seconds must be an integer >= 1 or null")
                new[k] = v
            elif k == "bq_incomplete_polls":
                # BigQuery: answers of a new job that say jobComplete false; -1 never completes
                if not isinstance(v, int) or isinstance(v, bool) or v < -1:
                    raise ControlError("bq_incomplete_polls must be an integer >= -1")
                new[k] = v
            elif k in ("test_token_ttl", "gcp_token_ttl", "gcp_page_size", "azure_token_ttl", "azure_page_size",
                       "azure_resources_page_size"):
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    raise ControlError("%s must be an integer >= 1" % k)
                new[k] = v
            else:
                raise ControlError("unknown config key %r" % k)
        with self.lock:
            self.config.update(new)

    def config_json(self):
        with self.lock:
            c = dict(self.config)
        c["today"] = self.today().isoformat()
        c["today_follows_clock"] = self.config["today"] is None
        c["now"] = self.now()
        return c

    # -- faults ----------------------------------------------------------------
    def add_fault(self, obj):
        if not isinstance(obj, dict):
            raise ControlError("fault body must be a JSON object")
        kind = obj.get("kind")
        if kind not in FAULT_KINDS:
            raise ControlError("kind must be one of %s" % ", ".join(FAULT_KINDS))
        count = obj.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ControlError("count must be a positive integer")
        target = obj.get("target")
        if target is not None:
            if not isinstance(target, str):
                raise ControlError("target must be a string")
            # accept "AWSInsightsIndexService.GetCostAndUsage" / "GraniteServiceVersion20100801.GetMetricData" too;
            # Google operations ("monitoring.timeSeries.list", "oauth2.token") are dotted names of their own
            if target.count(".") == 1 and target[:1].isupper():
                target = target.split(".", 1)[1]
        if kind == "nocontent" and target not in AZURE_OPERATIONS:
            raise ControlError("kind nocontent (204 No Content) needs an Azure target: %s" % ", ".join(AZURE_OPERATIONS))
        region = obj.get("region")
        if region is not None and not isinstance(region, str):
            raise ControlError("region must be a string")
        headers = obj.get("headers")
        if headers is not None:
            if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
                raise ControlError("headers must be an object of strings")
            for name, value in headers.items():
                if not name or not set(name) <= _TOKEN_CHARS:
                    raise ControlError("invalid header name %r" % name)
                if name.lower() in FRAMING_HEADERS:
                    raise ControlError("header %s cannot be set by a fault" % name)
                if "\r" in value or "\n" in value:
                    raise ControlError("header values may not contain CR or LF")
        params = {k: v for k, v in obj.items() if k not in ("kind", "count", "target", "region")}
        with self.lock:
            self.faults.append({"kind": kind, "count": count, "target": target, "region": region, "params": params})

    def take_fault(self, operation, region=None):
        with self.lock:
            for f in self.faults:
                if (f["target"] is None or f["target"] == operation) and \
                        (f["region"] is None or f["region"] == region):
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.faults.remove(f)
                    return f
        return None

    # -- request accounting ----------------------------------------------------
    def begin(self, operation, method, path, headers, body, region=None, service="ce", line=None):
        """Log and count a request.  line: its request-log text (default: derived from the body)."""
        entry = {"operation": operation, "method": method, "path": path, "headers": _log_headers(headers),
                 "body": body.decode("utf-8", "replace"), "status": None, "fault": None, "error": None,
                 "region": region, "service": service, "time": round(time.time(), 3)}
        if line is not None:
            entry["_line"] = line       # keys starting with "_" stay out of the JSON log
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            entry["_generation"] = self.generation
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
            self.by_service[service] = self.by_service.get(service, 0) + 1
        return entry

    def end(self, entry):
        with self.lock:
            if entry.get("_generation") == self.generation:
                self.in_flight -= 1

    @staticmethod
    def request_id(entry):
        # Deterministic per arrival number, shaped like AWS's UUID request ids.
        h = hashlib.md5(("finops-emulator-request-%d" % entry["seq"]).encode()).hexdigest()
        return "%s-%s-4%s-8%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])

    def stats(self):
        with self.lock:
            return {"requests": len(self.log), "by_operation": dict(sorted(self.by_operation.items())),
                    "by_service": dict(sorted(self.by_service.items())),
                    "max_in_flight": self.max_in_flight, "in_flight": self.in_flight}

    def log_text(self):
        with self.lock:
            entries = list(self.log)
        lines = []
        for e in entries:
            if "_line" in e:
                line = e["_line"]
            elif e["service"] == "cw":
                line = "%s %s %s" % (e["operation"], e["region"], _canonical_body(e["body"]))
            else:
                line = "%s %s" % (e["operation"], _canonical_body(e["body"]))
            if e["fault"]:
                line += " [fault=%s]" % e["fault"]
            elif e["error"]:
                line += " [error=%s]" % e["error"]
            lines.append(line + "\n")
        return "".join(lines)

    def log_json(self):
        with self.lock:
            entries = [{k: v for k, v in e.items() if not k.startswith("_")} for e in self.log]
        return entries

    # -- STS credentials ---------------------------------------------------------
    def sts_issue(self, role, session, duration):
        """Store and return new credentials for `role` (an aws_sts.Role); AssumeRole's issue callback."""
        now = int(time.time())          # credentials expire in real time, whatever `today` is
        with self.lock:
            seconds = self.config["sts_credential_seconds"] or duration
            self.sts_seq += 1
            seed = "%d|%d|%s|%s" % (self.generation, self.sts_seq, role.arn, session)
            akid, secret, token = aws_sts.make_credentials(seed)
            cred = {"akid": akid, "secret": secret, "token": token, "expires": now + seconds,
                    "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (role.account, role.name, session),
                    "user_id": "%s:%s" % (role.role_id, session), "account": role.account, "temporary": True}
            self.sts_issued[akid] = cred
            return dict(cred)

    def sts_expire(self):
        now = int(time.time())
        with self.lock:
            for cred in self.sts_issued.values():
                cred["expires"] = min(cred["expires"], now)

    def test_expire(self):
        now = time.time()
        with self.lock:
            for tok in self.test_tokens:
                self.test_tokens[tok] = min(self.test_tokens[tok], now)

    def gcp_expire(self):
        """Every access token the Google token endpoint issued expires now (the demo token never does)."""
        now = time.time()
        with self.lock:
            for info in self.gcp_tokens.values():
                info["expires"] = min(info["expires"], now)


class _Credentials:
    """What sigv4.verify looks keys up in: the static keys, then those AssumeRole issued."""

    def __init__(self, state):
        self.state = state

    def get(self, akid):
        cred = sigv4.CREDENTIALS.get(akid)
        if cred is not None:
            return cred
        with self.state.lock:
            cred = self.state.sts_issued.get(akid)
            return None if cred is None else dict(cred)


def _log_headers(headers):
    out = {}
    for name, value in headers:
        name = name.lower()
        if name == "authorization" and "Signature=" in value:
            value = value[:value.index("Signature=")] + "Signature=<sig>"
        elif name == "authorization" and value.strip().lower().startswith("bearer azure."):
            value = "Bearer " + azure_auth.redact_token(value.strip()[7:].strip())
        elif name == "authorization":
            value = gcp_oauth.redact_authorization(value)
        elif name == "x-amz-security-token":
            # a session token is a secret: its start is enough to tell it
            value = value[:min(len(value) // 2, 8)] + "\u2026"
        if "\r" in value or "\n" in value:
            value = value.replace("\r", "\\r").replace("\n", "\\n")
        out[name] = value if name not in out else out[name] + "," + value
    return out


def _canonical_body(text):
    try:
        obj = json.loads(text)
    except ValueError:
        return json.dumps(text)
    if isinstance(obj, dict):
        for k in ("NextPageToken", "NextToken"):
            if obj.get(k) is not None:
                obj[k] = "<token>"
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _date(s, name):
    try:
        return datetime.date.fromisoformat(s)
    except (TypeError, ValueError):
        raise ControlError("%s must be a date YYYY-MM-DD" % name)


# --- expectations ---------------------------------------------------------------

def _copy_escape(s):
    if s is None:
        return "\\N"
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _extractor(spec):
    """Value of a grouping/where key in a line_items() dict; None = untagged."""
    if spec.startswith("TAG:"):
        k = spec[4:]
        return lambda item: item["tags"].get(k)
    if spec.startswith("COST_CATEGORY:"):
        k = spec[14:]
        return lambda item: item["cost_categories"].get(k)
    if spec in company.DIMENSIONS:
        return lambda item: item[spec]
    raise ControlError("unknown group/where key %r (use a dimension name, TAG:<key> or COST_CATEGORY:<name>)" % spec)


def expect_aws_cost(state, query):
    params = parse_qsl(query, keep_blank_values=True)
    single = {}
    where = {}
    for k, v in params:
        if k.startswith("where."):
            where.setdefault(k[6:], set()).add(v)
        else:
            single[k] = v
    for k in single:
        if k not in ("start", "end", "granularity", "group", "metric", "sum"):
            raise ControlError("unknown parameter %r" % k)
    if "start" not in single or "end" not in single:
        raise ControlError("start and end are required")
    start, end = _date(single["start"], "start"), _date(single["end"], "end")
    gran = single.get("granularity", "MONTHLY")
    if gran not in ("DAILY", "MONTHLY"):
        raise ControlError("granularity must be DAILY or MONTHLY")
    metric = single.get("metric", "UnblendedCost")
    if metric not in company.METRICS:
        raise ControlError("metric must be one of %s" % ", ".join(company.METRICS))
    group = [g for g in single.get("group", "").split(",") if g]
    key_fns = [_extractor(g) for g in group]
    where_fns = []
    for k, vals in where.items():
        # "\N" or an empty value selects line items without the tag/category.
        wanted = {None if v in ("", "\\N") else v for v in vals}
        where_fns.append((_extractor(k), wanted))
    total_only = single.get("sum") == "1"
    today = state.today()

    sums = {}
    with decimal.localcontext(company.EXACT):
        day = start
        while day < end and day <= today:
            if gran == "DAILY":
                period = (day, day + datetime.timedelta(days=1))
            else:
                nxt = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
                period = (max(day.replace(day=1), start), min(nxt, end))
            for item in company.line_items(day):
                if not all(fn(item) in wanted for fn, wanted in where_fns):
                    continue
                keys = tuple(fn(item) for fn in key_fns)
                k = keys if total_only else (period, keys)
                sums[k] = sums.get(k, decimal.Decimal(0)) + item[metric]
            day += datetime.timedelta(days=1)

    def order(k):
        keys = k if total_only else k[1]
        ks = tuple((x is not None, x or "") for x in keys)
        return ks if total_only else (k[0], ks)

    lines = []
    for k in sorted(sums, key=order):
        amount = sums[k]
        if not amount:
            continue
        amount_s = format(amount.normalize(company.EXACT), "f")
        keys = k if total_only else k[1]
        cols = [] if total_only else [k[0][0].isoformat(), k[0][1].isoformat()]
        cols += [_copy_escape(x) for x in keys]
        cols.append(amount_s)
        lines.append("\t".join(cols) + "\n")
    return "".join(lines)


# --- CloudWatch expectations ---------------------------------------------------------

# CloudWatch's rules (GetMetricData/GetMetricStatistics documentation), restated here
# independently of aws_cw.py so that a test comparing the FDW with this endpoint checks
# the API path too.  Only metrics.window_stats/stat_value (the generator) are shared.
_DAY_S = 86400


def expect_aws_metrics(state, query):
    dims = []
    single = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        if k.startswith("dim."):
            dims.append((k[4:], v))
        elif k in single:
            raise ControlError("parameter %r given twice" % k)
        else:
            single[k] = v
    for k in single:
        if k not in ("region", "namespace", "metric", "stat", "period", "start", "end", "unit"):
            raise ControlError("unknown parameter %r" % k)
    for k in ("region", "namespace", "metric", "stat", "period", "start", "end"):
        if k not in single:
            raise ControlError("%s is required" % k)
    try:
        period = int(single["period"])
        start = float(single["start"])
        end = float(single["end"])
    except ValueError:
        raise ControlError("period must be an integer, start and end epoch seconds")
    if period < 1 or not (period in (1, 5, 10, 20, 30) or period % 60 == 0):
        raise ControlError("period must be 1, 5, 10, 20, 30 or a multiple of 60")
    stat = metrics.parse_stat(single["stat"])
    if stat is None:
        raise ControlError("stat must be Average, Sum, Minimum, Maximum, SampleCount or pNN[.N]")
    series = metrics.find(single["region"], single["namespace"], single["metric"], dims)
    if series is None or ("unit" in single and single["unit"] != series.unit):
        return ""
    now = state.now()
    age = now - start
    # too fine a period for the age of the data: nothing, silently
    if (age > 3 * 3600 and period < 60) or (age > 15 * _DAY_S and period % 300) or \
            (age > 63 * _DAY_S and period % 3600):
        return ""
    # StartTime is rounded down by the age of the data (high-resolution periods: to the period)
    if period < 60:
        unit = period
    elif age < 15 * _DAY_S:
        unit = 60
    elif age <= 63 * _DAY_S:
        unit = 300
    else:
        unit = 3600
    t = math.floor(start / unit) * unit
    limit = math.ceil(min(end, now))          # EndTime exclusive; nothing at or after now
    oldest = now - 455 * _DAY_S                # retention
    if t < oldest:
        t += math.ceil((oldest - t) / period) * period
    lines = []
    while t < limit:
        st = metrics.window_stats(series, t, min(t + period, limit))
        if st[0]:
            lines.append("%d\t%r\n" % (t, metrics.stat_value(st, stat)))
        t += period
    return "".join(lines)


# --- Cloud Monitoring expectations -----------------------------------------------------------------------

# Cloud Monitoring's read rules (reference section 4), restated here independently of
# gcp_monitoring.py: only the generator (gcp_resources: samples, value, increment) is
# shared.  Reads are (start, end]; aligned points sit at end - k*period (k >= 0) while
# they are after start (the one point at end when start == end), each aggregating the
# raw samples whose end lies in (t - period, t]; empty buckets are absent.
_NS = 10 ** 9
_EXPECT_ALIGNERS = ("ALIGN_NONE", "ALIGN_MEAN", "ALIGN_MIN", "ALIGN_MAX", "ALIGN_SUM", "ALIGN_COUNT", "ALIGN_DELTA",
                    "ALIGN_RATE", "ALIGN_STDDEV", "ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95",
                    "ALIGN_PERCENTILE_50", "ALIGN_PERCENTILE_05")
_RFC3339_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _time_ns(text, name):
    """RFC 3339 or epoch seconds (integer) -> integer nanoseconds."""
    if re.match(r"^\d+$", text):
        return int(text) * _NS
    m = _RFC3339_RE.match(text)
    if not m:
        raise ControlError("%s must be RFC 3339 (2026-11-27T00:00:00Z) or epoch seconds" % name)
    try:
        d = datetime.datetime.fromisoformat("%sT%s:%s:%s+00:00" % m.group(1, 2, 3, 4))
    except ValueError:
        raise ControlError("%s is not a valid time" % name)
    secs = int(d.timestamp())
    tz = m.group(6)
    if tz not in ("Z", "z"):
        secs -= (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return secs * _NS + int(((m.group(5) or ".")[1:] + "000000000")[:9])


def _rfc3339(ns):
    secs, frac = divmod(ns, _NS)
    text = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        digits = "%09d" % frac
        text += "." + (digits[:3] if frac % 1000000 == 0 else digits[:6] if frac % 1000 == 0 else digits)
    return text + "Z"


def _merged_mean(dists):
    n = 0
    acc = 0.0
    for d in dists:
        n += d.count
        acc += d.count * d.mean
    return acc / n


def _dist_percentile(dists, pct):
    counts = [sum(c) for c in zip(*(d.buckets for d in dists))]
    total = sum(d.count for d in dists)
    bounds = gcp_resources.bucket_bounds()
    want = pct / 100.0 * total
    below = 0
    for i, c in enumerate(counts):
        if c and below + c >= want:
            if i >= len(bounds):
                return bounds[-1]
            lower = bounds[i - 1] if i else 0.0
            return lower + (bounds[i] - lower) * ((want - below) / c)
        below += c
    return bounds[-1]


def _bucket_value(aligner, vtype, vals, period_s):
    """One aligned value from the bucket's samples (ascending time; CUMULATIVE: increments)."""
    if vtype == "DISTRIBUTION":
        if aligner.startswith("ALIGN_PERCENTILE_"):
            return _dist_percentile(vals, float(aligner[-2:]))
        return _merged_mean(vals)       # NONE/DELTA/SUM give distributions: their mean is the value
    if aligner == "ALIGN_COUNT":
        return len(vals)
    if aligner == "ALIGN_MIN":
        return min(vals)
    if aligner == "ALIGN_MAX":
        return max(vals)
    total = 0 if vtype == "INT64" else 0.0
    for v in vals:
        total += v
    if aligner in ("ALIGN_SUM", "ALIGN_DELTA"):
        return total
    if aligner == "ALIGN_RATE":
        return total / period_s
    avg = total / len(vals)
    if aligner == "ALIGN_MEAN":
        return avg
    if aligner == "ALIGN_STDDEV":
        sq = 0.0
        for v in vals:
            sq += (v - avg) ** 2
        return math.sqrt(sq / len(vals))
    ordered = sorted(vals)
    pos = float(aligner[-2:]) / 100.0 * (len(ordered) - 1)
    i = int(math.floor(pos))
    j = min(i + 1, len(ordered) - 1)
    return ordered[i] + (ordered[j] - ordered[i]) * (pos - i)


def _fmt_value(v):
    if isinstance(v, gcp_resources.Distribution):
        return repr(float(v.mean))
    if isinstance(v, int):
        return str(v)
    return repr(float(v))


def expect_gcp_metrics(state, query):
    single = {}
    labels = []
    rids = []
    for k, v in parse_qsl(query, keep_blank_values=True):
        if k.startswith("label."):
            labels.append((k[6:], v))
        elif k == "resource_id":
            rids.append(v)
        elif k in single:
            raise ControlError("parameter %r given twice" % k)
        else:
            single[k] = v
    for k in single:
        if k not in ("metric_type", "project", "start", "end", "period", "aligner", "labels"):
            raise ControlError("unknown parameter %r" % k)
    for k in ("metric_type", "start", "end"):
        if k not in single:
            raise ControlError("%s is required" % k)
    aligner = single.get("aligner", "ALIGN_MEAN")
    if aligner not in _EXPECT_ALIGNERS:
        raise ControlError("aligner must be one of %s" % ", ".join(_EXPECT_ALIGNERS))
    start, end = _time_ns(single["start"], "start"), _time_ns(single["end"], "end")
    if start > end:
        raise ControlError("start must not be after end")
    metric = gcp_resources.METRICS.get(single["metric_type"])
    if metric is None:
        return ""
    period = None
    if aligner != "ALIGN_NONE":
        if not re.match(r"^\d+$", single.get("period", "")) or int(single["period"]) < 60:
            raise ControlError("period (whole seconds >= 60) is required with an aligner other than ALIGN_NONE")
        period = int(single["period"]) * _NS
    project = single.get("project")
    if project is not None and project not in gcp_resources.PROJECTS:
        project = gcp_resources.PROJECT_OF_NUMBER.get(project, project)
    now_s = int(math.floor(state.now()))
    oldest = now_s - gcp_resources.RETENTION        # samples exist for oldest < t <= now_s
    cumulative = metric.kind == "CUMULATIVE"
    rows = []
    for order, s in enumerate(gcp_resources.series_of(metric.type)):
        r = s.resource
        if (project is not None and r.project != project) or (rids and r.rid not in rids) or \
                any(s.labels.get(k) != v for k, v in labels):
            continue
        if aligner == "ALIGN_NONE":
            lo = start // _NS - 1 if start == end else start // _NS
            for t, v in gcp_resources.samples(s, max(lo, oldest), min(end // _NS, now_s)):
                if start < t * _NS <= end or start == end == t * _NS:
                    rows.append((r.rid, order, t * _NS, _fmt_value(v), s.labels))
            continue
        n_buckets = 1 if start == end else -(-(end - start) // period)
        edge = end - n_buckets * period            # the oldest bucket is (edge, edge + period]
        groups = {}
        for t, v in gcp_resources.samples(s, max(edge // _NS, oldest), min(end // _NS, now_s)):
            if not edge < t * _NS <= end:
                continue
            k = (end - t * _NS) // period
            groups.setdefault(k, []).append(gcp_resources.increment(s, t) if cumulative else v)
        for k, vals in groups.items():
            rows.append((r.rid, order, end - k * period,
                         _fmt_value(_bucket_value(aligner, metric.vtype, vals, period / _NS)), s.labels))
    rows.sort(key=lambda x: (x[0], x[1], x[2]))
    with_labels = single.get("labels") == "1"
    out = []
    for rid, _, ts, val, lab in rows:
        line = "%s\t%s\t%s" % (rid, _rfc3339(ts), val)
        if with_labels:
            line += "\t" + json.dumps(lab, sort_keys=True, separators=(",", ":"))
        out.append(line + "\n")
    return "".join(out)


def gcp_resources_text(state, query):
    q = dict(parse_qsl(query, keep_blank_values=True))
    for k in q:
        if k not in ("project", "type", "format"):
            raise ControlError("unknown parameter %r" % k)
    if q.get("type") is not None and q["type"] not in gcp_resources.RESOURCE_TYPES:
        raise ControlError("type must be one of %s" % ", ".join(gcp_resources.RESOURCE_TYPES))
    rs = [r for r in gcp_resources.RESOURCES if q.get("project") in (None, r.project) and
          q.get("type") in (None, r.type)]
    if q.get("format") == "json":
        return "application/json", json.dumps(
            [{"type": r.type, "id": r.rid, "name": r.name, "project": r.project, "labels": r.labels,
              "profile": r.profile, "attrs": r.attrs} for r in rs], sort_keys=True).encode()
    return "text/plain; charset=utf-8", "".join("%s\t%s\t%s\t%s\n" % (r.project, r.type, r.rid, r.name)
                                                for r in rs).encode()


# --- Azure expectations -----------------------------------------------------------------
# Restated here from azure_cost.line_items() (Decimal sums) and azure_resources.sample()
# (a plain minute loop), not through azure_cost.run() / azure_resources.aggregate().

def _plain(d):
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def expect_azure_usage(state, query):
    start = end = None
    typ = "ActualCost"
    groups = []
    daily = False
    where = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        if k == "start":
            start = _date(v, "start")
        elif k == "end":
            end = _date(v, "end")
        elif k == "type":
            if v.lower() not in azure_cost.TYPES:
                raise ControlError("type must be ActualCost, AmortizedCost or Usage")
            typ = azure_cost.TYPES[v.lower()]
        elif k == "group":
            for g in v.split(","):
                g = g.strip()
                if not g:
                    continue
                if g.lower().startswith(("tag:", "tagkey:")):
                    groups.append(("tag", g.split(":", 1)[1].lower()))
                elif g.lower() in azure_cost.CANONICAL_DIM:
                    groups.append(("dim", azure_cost.CANONICAL_DIM[g.lower()]))
                else:
                    raise ControlError("unknown group %r (a Cost Management dimension or TAG:<key>)" % g)
        elif k == "daily":
            daily = v == "1"
        elif k.lower().startswith(("tag:", "tagkey:")):
            where.setdefault(("tag", k.split(":", 1)[1].lower()), set()).add(v.lower())
        elif k.lower() in azure_cost.CANONICAL_DIM:
            where.setdefault(("dim", azure_cost.CANONICAL_DIM[k.lower()]), set()).add(v.lower())
        else:
            raise ControlError("unknown parameter %r" % k)
    if start is None or end is None:
        raise ControlError("start and end (exclusive) are required")
    dataset = "AmortizedCost" if typ == "AmortizedCost" else "ActualCost"

    def value(item, kind, name):
        if kind == "dim":
            return item[name]
        for tk, tv in item["Tags"].items():
            if tk.lower() == name:
                return tv
        return ""

    sums = {}
    day = start
    today = state.today()
    while day < end and day < today:
        for item in azure_cost.line_items(day):
            amounts = item[dataset]
            if amounts is None:
                continue
            if any(value(item, kind, name).lower() not in vals for (kind, name), vals in where.items()):
                continue
            key = ((day.isoformat(),) if daily else ()) + tuple(value(item, k, n) for k, n in groups)
            acc = sums.setdefault(key, [decimal.Decimal(0)] * 3)
            for i, col in enumerate(("Cost", "CostUSD", "UsageQuantity")):
                acc[i] += decimal.Decimal(amounts[col])
        day += datetime.timedelta(days=1)
    out = []
    for key in sorted(sums):
        a = sums[key]
        out.append("\t".join(list(key) + [_plain(a[0]), _plain(a[1]), _plain(a[2]), azure_cost.CURRENCY]) + "\n")
    return "".join(out)


def expect_azure_metrics(state, query):
    q = dict(parse_qsl(query, keep_blank_values=True))
    for k in q:
        if k not in ("resource_id", "metric", "start", "end", "interval", "aggregation"):
            raise ControlError("unknown parameter %r" % k)
    for k in ("resource_id", "metric", "start", "end"):
        if k not in q:
            raise ControlError("%s is required" % k)
    r = azure_resources.find(q["resource_id"])
    if r is None:
        raise ControlError("unknown resource %r" % q["resource_id"])
    m = azure_resources.METRIC_BY_NAME[r.type].get(q["metric"].lower())
    if m is None:
        raise ControlError("unknown metric %r for %s" % (q["metric"], r.type))
    try:
        start = azure_monitor.parse_time(q["start"], "start")
        end = azure_monitor.parse_time(q["end"], "end")
    except azure_monitor.MonitorError as e:
        raise ControlError(e.message)
    iv = q.get("interval", "PT1H").upper()
    if iv not in azure_monitor.INTERVALS:
        raise ControlError("interval must be one of %s" % ", ".join(azure_monitor.INTERVALS))
    agg = q.get("aggregation", m.primary).lower()
    if agg not in azure_monitor.AGGREGATIONS:
        raise ControlError("aggregation must be one of %s" % ", ".join(azure_monitor.AGGREGATIONS))
    first, last = int(start // 60), -(-int(math.ceil(end)) // 60)
    now_min = int(state.now() // 60)
    oldest = now_min - azure_resources.RETENTION_MINUTES
    step = (last - first) if azure_monitor.INTERVALS[iv] is None else azure_monitor.INTERVALS[iv] // 60
    if (last - first) // max(step, 1) > 100000:
        raise ControlError("too many buckets")
    out = []
    b = first
    while b < last:
        vals = [v for v in (azure_resources.sample(r, m, t) for t in range(max(b, oldest), min(b + step, last, now_min)))
                if v is not None]
        if vals:
            s = sum(vals)
            v = {"average": s / len(vals) / m.scale, "minimum": min(vals) / m.scale, "maximum": max(vals) / m.scale,
                 "total": s / m.scale, "count": float(len(vals))}[agg]
            text = repr(v)
        else:
            text = ""
        out.append("%s\t%s\n" % (azure_monitor.iso(b * 60), text))
        b += step
    return "".join(out)


def azure_resources_text(state, query):
    q = dict(parse_qsl(query, keep_blank_values=True))
    for k in q:
        if k not in ("subscription", "type", "location", "resource_group", "format"):
            raise ControlError("unknown parameter %r" % k)
    rtype = azure_resources.TYPE_ALIASES.get(q.get("type"), q.get("type"))
    rs = azure_resources.resources_of(q.get("subscription"), q.get("resource_group"), rtype, q.get("location"))
    if q.get("format") == "json":
        return "application/json", json.dumps(
            [{"id": r.id, "name": r.name, "type": r.type, "location": r.location, "subscription": r.sub,
              "resource_group": r.rg, "tags": r.tags, "profile": r.profile, "idle": r.profile == "idle",
              "attrs": r.attrs} for r in rs], sort_keys=True).encode()
    return "text/plain; charset=utf-8", "".join("%s\t%s\t%s\n" % (r.id, r.type, r.location) for r in rs).encode()


def _optional_module(name):
    """Another helper's module, or None while it does not exist yet."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        return None


def expect_gcp_cost(state, query):
    billing = _optional_module("gcp_billing")
    if billing is None:
        return 501, "text/plain; charset=utf-8", b"error: gcp_billing.py is not part of this emulator yet\n"
    params = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        params.setdefault(k, []).append(v)
    try:
        if "today" in inspect.signature(billing.expect).parameters and "today" not in params:
            text = billing.expect(params, today=state.today())      # only days before the emulator's today
        else:
            text = billing.expect(params)
    except (ValueError, KeyError) as e:
        raise ControlError(str(e))
    return 200, "text/tab-separated-values; charset=utf-8", text.encode()


def resources_text(state, query):
    q = dict(parse_qsl(query, keep_blank_values=True))
    for k in q:
        if k not in ("region", "type", "all", "format"):
            raise ControlError("unknown parameter %r" % k)
    if q.get("type") not in resources.TYPES:
        raise ControlError("type must be one of %s" % ", ".join(resources.TYPES))
    region = q.get("region")
    if not region:
        raise ControlError("region is required")
    now = state.now()
    rs = resources.resources(region, q["type"]) if q.get("all") == "1" else resources.live(region, q["type"], now)
    if q.get("format") == "json":
        def when(t):
            return None if t is None else datetime.datetime.fromtimestamp(t, datetime.timezone.utc).date().isoformat()
        return "application/json", json.dumps(
            [dict({"id": r.rid, "type": r.type, "region": r.region, "launch": when(r.launch),
                   "terminate": when(r.terminate)}, **{k: v for k, v in r.attrs.items()}) for r in rs],
            sort_keys=True, default=list).encode()
    return "text/plain; charset=utf-8", "".join(r.rid + "\n" for r in rs).encode()


def bench_control(state, method, path, body):
    """POST/GET /_emulator/bench and GET /_emulator/bench/{ce,cw}/<k>."""
    if path == "/_emulator/bench":
        if method == "POST":
            try:
                b = bench_mod.Bench(_json_body(body))
            except ValueError as e:
                raise ControlError(str(e))
            with state.lock:
                state.bench = b
            return 200, "application/json", json.dumps(b.summary()).encode()
        if method == "GET":
            b = state.bench
            return 200, "application/json", json.dumps(b.summary() if b else {"enabled": False}).encode()
        return None
    parts = path.split("/")
    if method == "GET" and len(parts) == 5 and parts[3] in ("ce", "cw") and parts[4].isdigit():
        b = state.bench
        pages = [] if b is None else (b.ce_pages if parts[3] == "ce" else b.cw_pages)
        k = int(parts[4])
        if k >= len(pages):
            return 404, "text/plain; charset=utf-8", b"error: no such bench page\n"
        return 200, ("application/x-amz-json-1.1" if parts[3] == "ce" else aws_cw.CONTENT_TYPE), pages[k]
    return None


# --- HTTP surface ---------------------------------------------------------------

def _json_body(body):
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise ControlError("body is not valid JSON")


def handle(state, method, path, query, body):
    """Returns (status, content_type, bytes)."""
    text = "text/plain; charset=utf-8"
    js = "application/json"
    try:
        if path == "/_emulator/reset" and method == "POST":
            state.reset()
            return 200, text, b"ok"
        if path == "/_emulator/config":
            if method == "POST":
                state.set_config(_json_body(body))
                return 200, text, b"ok"
            if method == "GET":
                return 200, js, json.dumps(state.config_json(), sort_keys=True).encode()
        if path == "/_emulator/fault" and method == "POST":
            state.add_fault(_json_body(body))
            return 200, text, b"ok"
        if path == "/_emulator/faults" and method == "GET":
            with state.lock:
                pending = [dict(f) for f in state.faults]
            return 200, js, json.dumps(pending, sort_keys=True).encode()
        if path == "/_emulator/requests" and method == "GET":
            fmt = dict(parse_qsl(query)).get("format")
            if fmt == "json":
                return 200, js, json.dumps(state.log_json(), sort_keys=True).encode()
            return 200, text, state.log_text().encode()
        if path == "/_emulator/stats" and method == "GET":
            return 200, js, json.dumps(state.stats(), sort_keys=True).encode()
        if path == "/_emulator/health" and method == "GET":
            return 200, text, b"ok"
        if path == "/_emulator/sts/expire" and method == "POST":
            state.sts_expire()
            return 200, text, b"ok"
        if path == "/_emulator/test/expire" and method == "POST":
            state.test_expire()
            return 200, text, b"ok"
        if path == "/_emulator/gcp/expire" and method == "POST":
            state.gcp_expire()
            return 200, text, b"ok"
        if path == "/_emulator/azure/expire" and method == "POST":
            azure_auth.expire_all(state)
            return 200, text, b"ok"
        if path == "/_emulator/expect/azure_usage" and method == "GET":
            return 200, "text/tab-separated-values; charset=utf-8", expect_azure_usage(state, query).encode()
        if path == "/_emulator/expect/azure_metrics" and method == "GET":
            return 200, "text/tab-separated-values; charset=utf-8", expect_azure_metrics(state, query).encode()
        if path == "/_emulator/azure/resources" and method == "GET":
            ctype, payload = azure_resources_text(state, query)
            return 200, ctype, payload
        if path == "/_emulator/expect/gcp_metrics" and method == "GET":
            return 200, "text/tab-separated-values; charset=utf-8", expect_gcp_metrics(state, query).encode()
        if path == "/_emulator/expect/gcp_cost" and method == "GET":
            return expect_gcp_cost(state, query)
        if path == "/_emulator/gcp/resources" and method == "GET":
            ctype, payload = gcp_resources_text(state, query)
            return 200, ctype, payload
        if path == "/_emulator/expect/aws_metrics" and method == "GET":
            return 200, "text/tab-separated-values; charset=utf-8", expect_aws_metrics(state, query).encode()
        if path == "/_emulator/resources" and method == "GET":
            ctype, payload = resources_text(state, query)
            return 200, ctype, payload
        if path == "/_emulator/bench" or path.startswith("/_emulator/bench/"):
            r = bench_control(state, method, path, body)
            if r is not None:
                return r
        if path == "/_emulator/expect/aws_cost" and method == "GET":
            return 200, "text/tab-separated-values; charset=utf-8", expect_aws_cost(state, query).encode()
        return 404, text, ("error: no control endpoint %s %s\n" % (method, path)).encode()
    except ControlError as e:
        return 400, text, ("error: %s\n" % e).encode()
