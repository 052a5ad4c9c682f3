"""Azure Monitor metrics for the emulator: the single-resource ARM API
(GET {resourceId}/providers/Microsoft.Insights/metrics, op "monitor.metrics") and the data-plane
batch API (POST /subscriptions/{s}/metrics:getBatch, op "monitor.getBatch").

Buckets: aligned to the interval from the start of the timespan (floored to the minute): bucket k
covers [start + k*interval, start + (k+1)*interval) clipped to the end, its point's timeStamp is the
bucket start; the last, partial bucket is included.  Samples (one per minute, see azure_resources)
exist for the minutes m with now - 93 days <= m < now ("now" = the emulator's clock, state.now());
a bucket without samples has only "timeStamp".  When no bucket of a metric has data its
"timeseries" is [].  interval FULL = one bucket for the whole span (echoed as the span's duration).
"""

import datetime
import json
import math
import re

import azure_resources as R

API_VERSIONS = ("2024-02-01", "2023-10-01", "2021-05-01", "2019-07-01", "2018-01-01")
INTERVALS = {"PT1M": 60, "PT5M": 300, "PT15M": 900, "PT30M": 1800, "PT1H": 3600, "PT6H": 21600, "PT12H": 43200,
             "P1D": 86400, "FULL": None}
AGGREGATIONS = ("average", "minimum", "maximum", "total", "count")
MAX_BATCH = 50
MAX_POINTS = 100000


class MonitorError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def envelope(self):
        return {"error": {"code": self.code, "message": self.message}}


def bad(message):
    return MonitorError(400, "BadRequest", message)


_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|z|[+-]\d{2}:?\d{2})?$")
_DUR_RE = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.I)


def parse_time(text, what):
    """Epoch seconds (float) of an ISO-8601 date-time (UTC when no offset)."""
    m = _TIME_RE.match(text.strip())
    if not m:
        raise bad("Invalid %s '%s': expected an ISO 8601 date-time such as 2024-01-01T00:00:00Z" % (what, text))
    try:
        d = datetime.datetime.fromisoformat("%sT%s:%s:%s" % (m.group(1), m.group(2), m.group(3), m.group(4) or "00"))
    except ValueError:
        raise bad("Invalid %s '%s'" % (what, text))
    secs = d.replace(tzinfo=datetime.timezone.utc).timestamp() + float(m.group(5) or 0)
    tz = m.group(6)
    if tz and tz not in ("Z", "z"):
        tz = tz.replace(":", "")
        off = int(tz[1:3]) * 3600 + int(tz[3:5]) * 60
        secs -= off if tz[0] == "+" else -off
    return secs


def parse_duration(text):
    m = _DUR_RE.match(text.strip())
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def iso(secs):
    d = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
    ms = int(round((secs - math.floor(secs)) * 1000))
    text = d.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (".%03dZ" % ms if ms else "Z")


def duration_text(secs):
    secs = int(secs)
    if secs % 86400 == 0:
        return "P%dD" % (secs // 86400)
    if secs % 3600 == 0:
        return "PT%dH" % (secs // 3600)
    if secs % 60 == 0:
        return "PT%dM" % (secs // 60)
    return "PT%dS" % secs


def parse_timespan(text, now):
    if text is None:
        return now - 3600, now
    if "/" in text:
        a, b = text.split("/", 1)
        start = parse_time(a, "timespan start")
        dur = parse_duration(b)
        end = start + dur if dur is not None else parse_time(b, "timespan end")
    else:
        dur = parse_duration(text)
        if dur is None:
            raise bad("Invalid timespan '%s': expected start/end or an ISO 8601 duration" % text)
        start, end = now - dur, now
    return start, end


def parse_interval(text, default="PT1M"):
    iv = (text or default).strip().upper()
    if iv not in INTERVALS:
        raise bad("Invalid interval '%s'. Supported intervals: %s" % (text, ", ".join(INTERVALS)))
    return iv


def parse_aggregations(text, metrics):
    if text is None or not text.strip():
        return None                     # each metric's primary aggregation
    out = []
    for a in text.split(","):
        a = a.strip().lower()
        if a not in AGGREGATIONS:
            raise bad("Invalid aggregation '%s'. Valid aggregations: average, count, maximum, minimum, total" % a)
        if a not in out:
            out.append(a)
    return out


def split_names(text):
    """metricnames: comma separated; a comma inside a name is written %2 (already URL-decoded once)."""
    return [n.replace("%2", ",").strip() for n in text.split(",") if n.strip()]


def metrics_of(rtype, names_text):
    catalogue = R.METRICS[rtype]
    if names_text is None or not names_text.strip():
        return [catalogue[0]]
    out = []
    for n in split_names(names_text):
        m = R.METRIC_BY_NAME[rtype].get(n.lower())
        if m is None:
            prov, _, kind = rtype.partition("/")
            raise bad("Failed to find metric configuration for provider: %s, resource Type: %s, metric: %s, "
                      "Valid metrics: %s" % (prov, kind, n, ",".join(x.name for x in catalogue)))
        if m not in out:
            out.append(m)
    return out


def check_namespace(ns, rtype):
    if ns is not None and ns.strip() and ns.strip().lower() != rtype.lower():
        raise bad("Metric namespace '%s' is not valid for resource type '%s'. Valid metric namespaces: %s"
                  % (ns, rtype, rtype))


def _agg_value(agg, a, scale):
    s, n, mn, mx = a
    if agg == "average":
        return s / n / scale
    if agg == "minimum":
        return mn / scale
    if agg == "maximum":
        return mx / scale
    if agg == "total":
        return s / scale
    return float(n)


def metric_obj(r, m, start, end, iv_secs, aggs, now):
    """One Metric object: buckets from start (epoch s, floored to the minute) to end."""
    first = int(start // 60)
    last = int(math.ceil(end / 60.0))          # minutes < last
    now_min = int(now // 60)
    oldest = now_min - R.RETENTION_MINUTES
    step = (last - first) if iv_secs is None else iv_secs // 60
    step = max(step, 1)
    wanted = aggs or [m.primary.lower()]
    points = []
    any_data = False
    lo = first
    while lo < last:
        hi = min(lo + step, last)
        p = {"timeStamp": iso(lo * 60)}
        a = R.aggregate(r, m, max(lo, oldest), min(hi, now_min))
        if a is not None:
            any_data = True
            for agg in AGGREGATIONS:
                if agg in wanted:
                    p[agg] = _agg_value(agg, a, m.scale)
        points.append(p)
        lo = hi
    return {"id": "%s/providers/Microsoft.Insights/metrics/%s" % (r.id, m.name), "type": "Microsoft.Insights/metrics",
            "name": {"value": m.name, "localizedValue": m.localized}, "displayDescription": m.description,
            "unit": m.unit, "timeseries": [{"metadatavalues": [], "data": points}] if any_data else [],
            "errorCode": "Success"}


def _check_span(start, end, iv_secs, n_metrics, n_resources=1):
    if end <= start:
        raise bad("Invalid time range: the start time must be before the end time.")
    if iv_secs is not None:
        n = math.ceil((end - math.floor(start / 60) * 60) / iv_secs)
        if n * n_metrics * n_resources > MAX_POINTS * 10 or n > MAX_POINTS:
            raise bad("The requested time range and interval would return %d data points per time series, more "
                      "than the allowed %d. Use a larger interval or a shorter timespan." % (n, MAX_POINTS))


def single(r, params, now):
    """The answer (dict) of GET {resourceId}/providers/Microsoft.Insights/metrics."""
    check_namespace(params.get("metricnamespace"), r.type)
    metrics = metrics_of(r.type, params.get("metricnames"))
    aggs = parse_aggregations(params.get("aggregation"), metrics)
    iv = parse_interval(params.get("interval"))
    start, end = parse_timespan(params.get("timespan"), now)
    iv_secs = INTERVALS[iv]
    _check_span(start, end, iv_secs, len(metrics))
    values = [metric_obj(r, m, start, end, iv_secs, aggs, now) for m in metrics]
    minutes = max(1, int(math.ceil(end / 60.0)) - int(start // 60))
    return {"cost": minutes * len(metrics) // 60, "timespan": "%s/%s" % (iso(start), iso(end)),
            "interval": iv if iv_secs is not None else duration_text(end - math.floor(start / 60) * 60),
            "value": values, "namespace": r.type, "resourceregion": r.location}


def batch(sub, params, body_bytes, now):
    """(answer dict, region) of POST /subscriptions/{sub}/metrics:getBatch; raises MonitorError."""
    ns = params.get("metricnamespace")
    if not ns or not ns.strip():
        raise bad("The metricnamespace query parameter is required.")
    if not params.get("metricnames", "").strip():
        raise bad("The metricnames query parameter is required.")
    try:
        body = json.loads(body_bytes.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        raise bad("The request body is not valid JSON.")
    ids = body.get("resourceids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise bad("The request body must contain 'resourceids', a non-empty array of resource ids.")
    if len(ids) > MAX_BATCH:
        raise bad("The number of resource ids must be less than or equal to %d" % MAX_BATCH)
    rs = []
    for rid in ids:
        parts = rid.strip("/").split("/")
        if len(parts) < 2 or parts[0].lower() != "subscriptions":
            raise bad("Resource id '%s' is not a valid Azure resource id." % rid)
        if parts[1].lower() != sub.lower():
            raise bad("Resource id '%s' does not belong to subscription '%s'. All resource ids must be in the "
                      "subscription of the request." % (rid, sub))
        r = R.find(rid)
        if r is None:
            raise MonitorError(404, "ResourceNotFound", "The resource '%s' was not found." % rid)
        if r.type.lower() != ns.strip().lower():
            raise bad("Resource id '%s' is of type '%s', not of the metric namespace '%s'. All resource ids must be "
                      "of the requested namespace." % (rid, r.type, ns))
        rs.append(r)
    regions = sorted({r.location for r in rs})
    if len(regions) > 1:
        raise bad("All resource ids must be in the same region; this request has resources in %s. Send one request "
                  "per region (https://<region>.metrics.monitor.azure.com)." % ", ".join(regions))
    metrics = metrics_of(rs[0].type, params.get("metricnames"))
    aggs = parse_aggregations(params.get("aggregation"), metrics)
    iv = parse_interval(params.get("interval"))
    iv_secs = INTERVALS[iv]
    st, et = params.get("starttime"), params.get("endtime")
    if st is None and et is None:
        start, end = now - 3600, now
    elif st is None or et is None:
        raise bad("starttime and endtime must be given together.")
    else:
        start, end = parse_time(st, "starttime"), parse_time(et, "endtime")
    _check_span(start, end, iv_secs, len(metrics), len(rs))
    ivtext = iv if iv_secs is not None else duration_text(end - math.floor(start / 60) * 60)
    values = []
    for r in rs:
        values.append({"starttime": iso(start), "endtime": iso(end), "interval": ivtext, "namespace": r.type,
                       "resourceregion": r.location, "resourceid": r.id,
                       "value": [metric_obj(r, m, start, end, iv_secs, aggs, now) for m in metrics]})
    return {"values": values}, regions[0]


def batch_region(body_bytes):
    """(number of ids, their region or "mixed"/"-") for the request log, without validating."""
    try:
        ids = json.loads(body_bytes.decode("utf-8") or "null").get("resourceids")
        if not isinstance(ids, list):
            return 0, "-"
    except (ValueError, UnicodeDecodeError, AttributeError):
        return 0, "-"
    regions = set()
    for i in ids:
        r = R.find(i) if isinstance(i, str) else None
        regions.add(r.location if r is not None else "?")
    if not regions:
        return 0, "-"
    return len(ids), regions.pop() if len(regions) == 1 else "mixed"
