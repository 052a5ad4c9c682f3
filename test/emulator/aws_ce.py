"""AWS Cost Explorer (service `ce`, target prefix AWSInsightsIndexService).

GetCostAndUsage, GetCostAndUsageWithResources, GetCostForecast and
GetDimensionValues over company.py's data (resource_costs.py's per-resource
split of it for GetCostAndUsageWithResources).
Request validation follows the two layers AWS has: the framework ("Coral")
checks types, required members, enums and ranges and answers
"1 validation error detected: Value ... at 'path' failed to satisfy
constraint: ...", then the service applies its own rules (single-root
expressions, date windows, GroupBy limits, ...).

Everything returned is derived from the request and the emulator's `today`;
no wall clock is read here.
"""

import base64
import collections
import datetime
import decimal
import hashlib
import json
import re
import statistics
import threading
from decimal import Decimal

import company
import resource_costs

TARGET_PREFIX = "AWSInsightsIndexService."
ONE_DAY = datetime.timedelta(days=1)
ZERO = Decimal(0)

METRIC_NAMES = frozenset(company.METRICS)
METRIC_INDEX = {m: i for i, m in enumerate(company.METRICS)}
FORECAST_METRICS = {
    "BLENDED_COST": "BlendedCost",
    "UNBLENDED_COST": "UnblendedCost",
    "AMORTIZED_COST": "AmortizedCost",
    "NET_UNBLENDED_COST": "NetUnblendedCost",
    "NET_AMORTIZED_COST": "NetAmortizedCost",
    "USAGE_QUANTITY": "UsageQuantity",
    "NORMALIZED_USAGE_AMOUNT": "NormalizedUsageAmount",
}
GRANULARITY_ENUM = ("DAILY", "MONTHLY", "HOURLY")
GROUP_TYPE_ENUM = ("DIMENSION", "TAG", "COST_CATEGORY")
CONTEXT_ENUM = ("COST_AND_USAGE", "RESERVATIONS", "SAVINGS_PLANS")
SORT_ORDER_ENUM = ("ASCENDING", "DESCENDING")
MATCH_OPTION_ENUM = ("EQUALS", "ABSENT", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "CASE_SENSITIVE",
                     "CASE_INSENSITIVE", "GREATER_THAN_OR_EQUAL")
DIMENSION_ENUM = (
    "AZ", "INSTANCE_TYPE", "LINKED_ACCOUNT", "PAYER_ACCOUNT", "LINKED_ACCOUNT_NAME", "OPERATION", "PURCHASE_TYPE",
    "REGION", "SERVICE", "SERVICE_CODE", "USAGE_TYPE", "USAGE_TYPE_GROUP", "RECORD_TYPE", "OPERATING_SYSTEM",
    "TENANCY", "SCOPE", "PLATFORM", "SUBSCRIPTION_ID", "LEGAL_ENTITY_NAME", "DEPLOYMENT_OPTION", "DATABASE_ENGINE",
    "CACHE_ENGINE", "INSTANCE_TYPE_FAMILY", "BILLING_ENTITY", "RESERVATION_ID", "RESOURCE_ID", "RIGHTSIZING_TYPE",
    "SAVINGS_PLANS_TYPE", "SAVINGS_PLAN_ARN", "PAYMENT_OPTION", "AGREEMENT_END_DATE_TIME_AFTER",
    "AGREEMENT_END_DATE_TIME_BEFORE", "INVOICING_ENTITY", "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
    "ANOMALY_TOTAL_IMPACT_PERCENTAGE",
)
# Valid in the enum but meaningless for cost-and-usage queries.
NOT_ALLOWED_DIMENSIONS = frozenset((
    "LINKED_ACCOUNT_NAME", "SERVICE_CODE", "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "ANOMALY_TOTAL_IMPACT_PERCENTAGE",
    "AGREEMENT_END_DATE_TIME_AFTER", "AGREEMENT_END_DATE_TIME_BEFORE", "RIGHTSIZING_TYPE",
))
MODELLED_DIMENSIONS = frozenset(company.DIMENSIONS)
ROOT_KEYS = ("And", "Or", "Not", "Dimensions", "Tags", "CostCategories")
MORE_THAN_ONE_ROOT = ("Expression has more than one roots. Only one root operator is allowed for each expression: "
                      "And, Or, Not, Dimensions, Tags, CostCategories")
DIMENSION_MATCH_OPTIONS = frozenset(("EQUALS", "CASE_SENSITIVE"))
TAG_MATCH_OPTIONS = frozenset(("EQUALS", "ABSENT", "CASE_SENSITIVE"))
DATE_PATTERN = r"(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}Z)?"
_DATE_RE = re.compile(DATE_PATTERN)

# The modelled exceptions' documentation strings double as messages.
MSG_INVALID_TOKEN = "The pagination token is invalid. Try again without a pagination token."
# As AWS words it for any granularity (boto/boto3#2369, aws/aws-sdk-net#1773).
MSG_RESOURCE_WINDOW = ("Start date is more than 14 days ago for hourly granularity. Please adjust start date as "
                       "we support only 14 days of data at hourly granularity.")
RESOURCE_DAYS = 14
MSG_REQUEST_CHANGED = ("Your request parameters changed between pages. Try again with the old parameters or "
                       "without a pagination token.")


class ApiError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _validation(message):
    return ApiError("ValidationException", message)


def _serialization(message):
    return ApiError("SerializationException", message)


class Ctx:
    """Per-request settings from the server's mutable config."""

    def __init__(self, today, page_size):
        self.today = today
        self.page_size = page_size


# --- framework-level (Coral) validation ---------------------------------------

def _show(value):
    if value is None:
        return "null"
    if isinstance(value, str):
        return "'%s'" % value
    if isinstance(value, list):
        return "[%s]" % ", ".join(str(v) for v in value)
    return "'%s'" % json.dumps(value)


class _Coral:
    """Collects constraint violations and raises them as one ValidationException."""

    def __init__(self):
        self.errors = []

    def add(self, value, path, constraint):
        self.errors.append("Value %s at '%s' failed to satisfy constraint: %s" % (_show(value), path, constraint))

    def required(self, obj, member, path):
        v = obj.get(member)
        if v is None:
            self.add(None, path, "Member must not be null")
        return v

    def enum(self, value, allowed, path):
        if value is not None and value not in allowed:
            self.add(value, path, "Member must satisfy enum value set: [%s]" % ", ".join(allowed))
            return False
        return True

    def raise_if_any(self):
        if self.errors:
            n = len(self.errors)
            raise _validation("%d validation error%s detected: %s" % (n, "" if n == 1 else "s", "; ".join(self.errors)))


_TYPE_NAMES = {dict: "structure", list: "list", str: "string", bool: "boolean", int: "integer"}


def _typed(value, typ, path):
    """JSON type check; a mismatch is a deserialisation error, as in AWS."""
    if value is None:
        return None
    ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
    if not ok:
        raise _serialization("Unexpected value type at '%s': expected %s" % (path, _TYPE_NAMES.get(typ, typ.__name__)))
    return value


def _members(obj, allowed, shape, path):
    _typed(obj, dict, path or shape)
    for k in obj:
        if k not in allowed:
            # AWS may ignore unknown members; rejecting them catches client typos.
            raise _serialization("Unknown member '%s' in %s" % (k, shape))
    return obj


def _strings(value, path):
    _typed(value, list, path)
    for i, v in enumerate(value):
        _typed(v, str, "%s.%d.member" % (path, i + 1))
    return value


def _time_period(req, coral, member="TimePeriod", path="timePeriod"):
    tp = coral.required(req, member, path)
    if tp is None:
        return None
    _members(tp, ("Start", "End"), "DateInterval", path)
    out = []
    for k in ("Start", "End"):
        p = "%s.%s" % (path, k.lower())
        s = coral.required(tp, k, p)
        if s is None:
            out.append(None)
            continue
        _typed(s, str, p)
        m = _DATE_RE.fullmatch(s)
        if not m or len(s) > 40:
            coral.add(s, p, "Member must satisfy regular expression pattern: " + DATE_PATTERN)
            out.append(None)
            continue
        out.append(m)
    return out


def _parse_dates(matches):
    """(start, end, has_time) from the two regex matches; calendar checks here."""
    dates = []
    for m in matches:
        try:
            dates.append(datetime.date.fromisoformat(m.group(1)))
        except ValueError:
            raise _validation("Invalid date: %s" % m.group(0))
    has_time = any(m.group(2) for m in matches)
    return dates[0], dates[1], has_time


def _first_of_next_month(d):
    return (d.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def _add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    m += 1
    last = (_first_of_next_month(datetime.date(y, m, 1)) - ONE_DAY).day
    return datetime.date(y, m, min(d.day, last))


# --- filter expressions -------------------------------------------------------

def compile_filter(expr, path, coral, extra_dims=frozenset()):
    """Compile an Expression into a predicate over company.Template.

    extra_dims: dimensions this operation has beyond company.DIMENSIONS
    (RESOURCE_ID for GetCostAndUsageWithResources)."""
    _members(expr, ROOT_KEYS, "Expression", path)
    roots = [k for k in ROOT_KEYS if expr.get(k) is not None]
    if len(roots) > 1:
        raise _validation(MORE_THAN_ONE_ROOT)
    if not roots:
        raise _validation("Expression has no root. One root operator is required for each expression: "
                          "And, Or, Not, Dimensions, Tags, CostCategories")
    op = roots[0]
    sub = expr[op]
    sub_path = "%s.%s" % (path, op[0].lower() + op[1:])
    if op in ("And", "Or"):
        _typed(sub, list, sub_path)
        if len(sub) < 2:
            raise _validation("%s expression must have at least 2 operands" % op)
        preds = [compile_filter(e, "%s.%d.member" % (sub_path, i + 1), coral, extra_dims) for i, e in enumerate(sub)]
        if op == "And":
            return lambda t: all(p(t) for p in preds)
        return lambda t: any(p(t) for p in preds)
    if op == "Not":
        p = compile_filter(sub, sub_path, coral, extra_dims)
        return lambda t: not p(t)
    if op == "Dimensions":
        _members(sub, ("Key", "Values", "MatchOptions"), "DimensionValues", sub_path)
        key = sub.get("Key")
        if key is None:
            raise _validation("Dimensions expression requires a Key")
        _typed(key, str, sub_path + ".key")
        if not coral.enum(key, DIMENSION_ENUM, sub_path + ".key"):
            return lambda t: False
        values = _strings(sub.get("Values") or [], sub_path + ".values")
        _match_options(sub, sub_path, coral, DIMENSION_MATCH_OPTIONS, "Dimensions")
        _check_dimension(key, "filter", extra_dims)
        if not values:
            raise _validation("Dimensions expression for %s requires at least one value" % key)
        vs = frozenset(values)
        return lambda t: t.dims[key] in vs
    # Tags and CostCategories share the ABSENT semantics.
    shape = "TagValues" if op == "Tags" else "CostCategoryValues"
    _members(sub, ("Key", "Values", "MatchOptions"), shape, sub_path)
    key = _typed(sub.get("Key"), str, sub_path + ".key")
    values = _strings(sub.get("Values") or [], sub_path + ".values")
    mos = _match_options(sub, sub_path, coral, TAG_MATCH_OPTIONS, op)
    attr = "tags" if op == "Tags" else "cc"
    if key is None:
        if values:
            raise _validation("%s expression with Values requires a Key" % op)
        # Neither Key nor Values: line items with no tags / no category at all.
        return lambda t: not any(getattr(t, attr).values())
    absent = "ABSENT" in mos or not values
    vs = frozenset(values)
    empty_matches = absent or "" in vs

    def pred(t):
        v = getattr(t, attr).get(key)
        if v is None:
            return empty_matches
        return v in vs
    return pred


def _match_options(sub, path, coral, allowed, kind):
    mos = _strings(sub.get("MatchOptions") or [], path + ".matchOptions")
    for i, mo in enumerate(mos):
        coral.enum(mo, MATCH_OPTION_ENUM, "%s.matchOptions.%d.member" % (path, i + 1))
    bad = [mo for mo in mos if mo in MATCH_OPTION_ENUM and mo not in allowed]
    if bad:
        raise _validation("MatchOptions %s not supported for %s. Supported MatchOptions: %s"
                          % (", ".join(bad), kind, ", ".join(sorted(allowed))))
    return mos


def _check_dimension(key, where, extra_dims=frozenset()):
    if key in extra_dims:
        return
    if key in NOT_ALLOWED_DIMENSIONS:
        raise _validation("Dimension %s is not allowed in %s for this operation" % (key, where))
    if key not in MODELLED_DIMENSIONS:
        raise _validation("Dimension %s is not supported by the finops_usage emulator" % key)


# --- amounts ------------------------------------------------------------------

def fmt_amount(d):
    """Plain decimal notation, trailing zeros dropped ("41.07", "2", "0", "-0.5")."""
    if not d:
        return "0"
    return format(d.normalize(company.EXACT), "f")


# --- pagination tokens --------------------------------------------------------

def _request_hash(op, req):
    body = {k: v for k, v in req.items() if k != "NextPageToken"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((op + "\n" + canon).encode()).hexdigest()[:32]


def make_token(op, req, offset):
    raw = json.dumps({"op": op, "o": offset, "h": _request_hash(op, req)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def read_token(op, req, total):
    """Offset encoded in the request's NextPageToken (0 when there is none)."""
    tok = req.get("NextPageToken")
    if tok is None or tok == "":
        return 0
    try:
        obj = json.loads(base64.b64decode(tok, validate=True))
        offset, h, top = obj["o"], obj["h"], obj["op"]
        if not isinstance(offset, int) or isinstance(offset, bool) or top != op:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ApiError("InvalidNextTokenException", MSG_INVALID_TOKEN)
    if h != _request_hash(op, req):
        raise ApiError("RequestChangedException", MSG_REQUEST_CHANGED)
    if not 0 < offset < total:
        raise ApiError("InvalidNextTokenException", MSG_INVALID_TOKEN)
    return offset


# --- result cache -------------------------------------------------------------
# Paging repeats the identical request; keeping the aggregated result for a few
# requests makes every page cost only its rendering.

class _Lru:
    def __init__(self, size):
        self.size = size
        self.data = collections.OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, compute):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = compute()
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


_CACHE = _Lru(24)


def _aggregate(days, metric_idx, key_fn, pred, rows_fn=company.rows):
    """Sum the chosen metrics of the matching rows of `days`, grouped by key_fn.

    Returns {key: [sums, unit]}; unit is the common usage unit or "N/A".
    Decimal sums run in a context that traps any rounding.
    """
    groups = {}
    match_memo = {}
    key_memo = {}
    with decimal.localcontext(company.EXACT):
        for d in days:
            for t, v in rows_fn(d):
                m = match_memo.get(t)
                if m is None:
                    m = match_memo[t] = pred is None or bool(pred(t))
                if not m:
                    continue
                k = key_memo.get(t)
                if k is None:
                    k = key_memo[t] = key_fn(t)
                acc = groups.get(k)
                if acc is None:
                    acc = groups[k] = [[ZERO] * len(metric_idx), None]
                sums = acc[0]
                for j, i in enumerate(metric_idx):
                    sums[j] += v[i]
                if t.unit:
                    if acc[1] is None:
                        acc[1] = t.unit
                    elif acc[1] != t.unit:
                        acc[1] = "N/A"
    return groups


def _days(start, end_excl, today):
    d = start
    while d < end_excl and d <= today:
        yield d
        d += ONE_DAY


def _metric_obj(metrics, sums, unit):
    out = {}
    for name, s in zip(metrics, sums):
        if name in company.COST_METRICS:
            u = company.CURRENCY
        elif name == "UsageQuantity":
            u = unit or "N/A"
        else:
            u = "N/A"
        out[name] = {"Amount": fmt_amount(s), "Unit": u}
    return out


def _key_function(group_by):
    fns = []
    for g in group_by:
        key = g["Key"]
        if g["Type"] == "DIMENSION":
            fns.append(lambda t, key=key: t.dims[key])
        elif g["Type"] == "TAG":
            fns.append(lambda t, key=key: "%s$%s" % (key, t.tags.get(key) or ""))
        else:
            fns.append(lambda t, key=key: "%s$%s" % (key, t.cc.get(key) or ""))
    return lambda t: tuple(f(t) for f in fns)


# --- GetCostAndUsage ----------------------------------------------------------

def get_cost_and_usage(req, ctx):
    return _cost_and_usage("GetCostAndUsage", req, ctx)


def get_cost_and_usage_with_resources(req, ctx):
    """The same request and answer, per resource; Filter is required (and must name the SERVICE, as the model's
    documentation says), RESOURCE_ID can be grouped and filtered, and only the last 14 days are kept."""
    return _cost_and_usage("GetCostAndUsageWithResources", req, ctx)


def _names_service(expr):
    """Does the Expression constrain SERVICE (at its root or in a root And)?"""
    if not isinstance(expr, dict):
        return False
    dims = expr.get("Dimensions")
    if isinstance(dims, dict) and dims.get("Key") == "SERVICE":
        return True
    return isinstance(expr.get("And"), list) and any(_names_service(e) for e in expr["And"])


def _cost_and_usage(op, req, ctx):
    resources = op == "GetCostAndUsageWithResources"
    extra_dims = frozenset(("RESOURCE_ID",)) if resources else frozenset()
    _members(req, ("TimePeriod", "Granularity", "Filter", "Metrics", "GroupBy", "BillingViewArn", "NextPageToken"),
             op + "Request", "")
    coral = _Coral()
    tp = _time_period(req, coral)
    gran = coral.required(req, "Granularity", "granularity")
    _typed(gran, str, "granularity")
    coral.enum(gran, GRANULARITY_ENUM, "granularity")
    metrics = coral.required(req, "Metrics", "metrics")
    if metrics is not None:
        _strings(metrics, "metrics")
    group_by = req.get("GroupBy")
    if group_by is not None:
        _typed(group_by, list, "groupBy")
        for i, g in enumerate(group_by):
            p = "groupBy.%d.member" % (i + 1)
            _members(g, ("Type", "Key"), "GroupDefinition", p)
            _typed(g.get("Type"), str, p + ".type")
            _typed(g.get("Key"), str, p + ".key")
            coral.enum(g.get("Type"), GROUP_TYPE_ENUM, p + ".type")
    tok = _typed(req.get("NextPageToken"), str, "nextPageToken")
    if tok is not None and len(tok) > 8192:
        coral.add(tok, "nextPageToken", "Member must have length less than or equal to 8192")
    _typed(req.get("BillingViewArn"), str, "billingViewArn")
    flt = coral.required(req, "Filter", "filter") if resources else req.get("Filter")
    pred = compile_filter(flt, "filter", coral, extra_dims) if flt is not None else None
    coral.raise_if_any()

    # Service-level rules.
    start, end, has_time = _parse_dates(tp)
    today = ctx.today
    if gran == "HOURLY":
        raise _validation("Hourly granularity is not enabled for this account. Enable hourly and resource-level "
                          "data in the Cost Explorer preferences.")
    if has_time:
        raise _validation("Hourly timePeriod is not supported for this request")
    if start >= end:
        raise _validation("Start date (and hour) should be before end date (and hour)")
    if start > today:
        raise _validation("Start date must be equal to or no later than the current date")
    if resources and start < today - datetime.timedelta(days=RESOURCE_DAYS):
        raise _validation(MSG_RESOURCE_WINDOW)
    if resources and not _names_service(flt):
        raise _validation("GetCostAndUsageWithResources requires the SERVICE dimension in the filter")
    if end > _first_of_next_month(today):
        raise _validation("end date past the beginning of next month")
    if start < _add_months(today, -14) and start.day != 1:
        raise _validation("To retrieve data beyond the past 14 months, your start date needs to be the first "
                          "day of the month.")
    if not metrics:
        raise _validation("Metrics must contain at least one metric")
    bad = [m for m in metrics if m not in METRIC_NAMES]
    if bad:
        raise _validation("Invalid Metrics: %s. Valid metrics are: %s" % (", ".join(bad), ", ".join(company.METRICS)))
    metrics = list(dict.fromkeys(metrics))
    if group_by is not None:
        if len(group_by) > 2:
            raise _validation("You can only group by up to two different groups; %d were requested" % len(group_by))
        for g in group_by:
            if not g.get("Key") or not g.get("Type"):
                raise _validation("GroupBy entries require both Type and Key")
            if g["Type"] == "DIMENSION":
                _check_dimension(g["Key"], "GroupBy", extra_dims)

    key = (op, _request_hash(op, req), today)
    rows_fn = resource_costs.rows if resources else company.rows
    result = _CACHE.get(key, lambda: _cost_and_usage_result(start, end, gran, metrics, group_by, pred, today,
                                                            rows_fn))
    entries = result["entries"]
    offset = read_token(op, req, len(entries))
    page = entries[offset:offset + ctx.page_size]

    resp = {}
    if offset + ctx.page_size < len(entries):
        resp["NextPageToken"] = make_token(op, req, offset + ctx.page_size)
    if group_by is not None:
        resp["GroupDefinitions"] = [{"Type": g["Type"], "Key": g["Key"]} for g in group_by]
    results = []
    last = None
    for bucket, payload in page:
        if bucket is not last:
            bs, be, est, total = bucket
            cur = {"TimePeriod": {"Start": bs.isoformat(), "End": be.isoformat()},
                   "Total": total if total is not None else {}, "Groups": [], "Estimated": est}
            results.append(cur)
            last = bucket
        if payload is not None:
            cur["Groups"].append(payload)
    resp["ResultsByTime"] = results
    resp["DimensionValueAttributes"] = result["dva"]
    return resp


def _buckets(start, end, gran, today):
    out = []
    bs = start
    while bs < end and bs <= today:
        be = bs + ONE_DAY if gran == "DAILY" else min(_first_of_next_month(bs), end)
        out.append((bs, be))
        bs = be
    return out


def _cost_and_usage_result(start, end, gran, metrics, group_by, pred, today, rows_fn=company.rows):
    """Every (bucket, group) of the answer, flattened for paging.

    entries: list of (bucket, group-or-None).  Each bucket is a tuple
    (start, end, estimated, total) shared by its entries so a page can tell
    where a ResultByTime begins.  A grouped bucket without groups still yields
    one entry so that it appears (with "Groups": []) and paging advances.
    """
    idx = [METRIC_INDEX[m] for m in metrics]
    grouped = bool(group_by)
    key_fn = _key_function(group_by) if grouped else (lambda t: ())
    entries = []
    accounts = {}
    account_pos = [i for i, g in enumerate(group_by or ())
                   if g["Type"] == "DIMENSION" and g["Key"] == "LINKED_ACCOUNT"]
    for bs, be in _buckets(start, end, gran, today):
        groups = _aggregate(_days(bs, be, today), idx, key_fn, pred, rows_fn)
        est = (bs.year, bs.month) == (today.year, today.month)
        if not grouped:
            sums, unit = groups.get((), ([ZERO] * len(idx), None))
            entries.append(((bs, be, est, _metric_obj(metrics, sums, unit)), None))
            continue
        bucket = (bs, be, est, None)
        if not groups:
            entries.append((bucket, None))
        for k in sorted(groups):
            sums, unit = groups[k]
            entries.append((bucket, {"Keys": list(k), "Metrics": _metric_obj(metrics, sums, unit)}))
            for p in account_pos:
                accounts.setdefault(k[p], None)
    dva = [{"Value": a, "Attributes": {"description": company.ACCOUNTS.get(a, a)}} for a in accounts]
    return {"entries": entries, "dva": dva}


# --- GetCostForecast ----------------------------------------------------------

def get_cost_forecast(req, ctx):
    _members(req, ("TimePeriod", "Metric", "Granularity", "Filter", "BillingViewArn", "PredictionIntervalLevel"),
             "GetCostForecastRequest", "")
    coral = _Coral()
    tp = _time_period(req, coral)
    metric = coral.required(req, "Metric", "metric")
    _typed(metric, str, "metric")
    coral.enum(metric, tuple(FORECAST_METRICS), "metric")
    gran = coral.required(req, "Granularity", "granularity")
    _typed(gran, str, "granularity")
    coral.enum(gran, GRANULARITY_ENUM, "granularity")
    level = _typed(req.get("PredictionIntervalLevel"), int, "predictionIntervalLevel")
    if level is not None and level < 51:
        coral.add(level, "predictionIntervalLevel", "Member must have value greater than or equal to 51")
    if level is not None and level > 99:
        coral.add(level, "predictionIntervalLevel", "Member must have value less than or equal to 99")
    _typed(req.get("BillingViewArn"), str, "billingViewArn")
    flt = req.get("Filter")
    pred = compile_filter(flt, "filter", coral) if flt is not None else None
    coral.raise_if_any()

    start, end, has_time = _parse_dates(tp)
    today = ctx.today
    if gran == "HOURLY" or has_time:
        raise _validation("HOURLY granularity is not supported for GetCostForecast. Use DAILY or MONTHLY.")
    if start >= end:
        raise _validation("Requested Start: %s must be before requested End: %s" % (start, end))
    if start < today:
        raise _validation("Start date of a forecast must be equal to or later than the current date (%s)" % today)
    limit = _add_months(today, 3) + ONE_DAY if gran == "DAILY" else _add_months(today.replace(day=1), 19)
    if end > limit:
        raise _validation("The forecast end date for %s granularity must be on or before %s" % (gran, limit))
    level = level or 80
    name = FORECAST_METRICS[metric]
    i = METRIC_INDEX[name]

    # History: the 90 days before today.
    hist_days = [d for d in (today - datetime.timedelta(days=n) for n in range(90, 0, -1)) if d >= company.DATA_START]
    if len(hist_days) < 14:
        raise ApiError("DataUnavailableException", "Insufficient amount of historical data to generate forecast.")
    ys = []
    unit = None
    for d in hist_days:
        g = _aggregate([d], [i], lambda t: (), pred).get(())
        ys.append(g[0][0] if g else ZERO)
        if g and g[1]:
            unit = g[1] if unit in (None, g[1]) else "N/A"
    if name == "UsageQuantity" and unit == "N/A":
        raise ApiError("UnresolvableUsageUnitException",
                       "Cost Explorer was unable to identify the usage unit. Provide UsageType/UsageTypeGroup filter "
                       "selections that contain matching units, for example: hours.")
    if not any(ys):
        raise ApiError("DataUnavailableException", "Insufficient amount of historical data to generate forecast.")
    if name in company.COST_METRICS:
        unit = company.CURRENCY
    elif name == "NormalizedUsageAmount" or unit is None:
        unit = "N/A"

    with decimal.localcontext(company.GEN):
        n = len(ys)
        mean = sum(ys) / n
        wk_sum = [ZERO] * 7
        wk_n = [0] * 7
        for d, y in zip(hist_days, ys):
            wk_sum[d.weekday()] += y
            wk_n[d.weekday()] += 1
        weekly = [(wk_sum[k] / wk_n[k] / mean) if wk_n[k] and mean else Decimal(1) for k in range(7)]
        half = n // 2
        a = sum(ys[:half]) / half
        b = sum(ys[half:]) / (n - half)
        growth = ((b / a - 1) * 30 / Decimal(n - half)) if a > 0 else ZERO  # per 30 days
        growth = max(min(growth, Decimal("0.10")), Decimal("-0.10"))
        resid = [y - mean * weekly[d.weekday()] for d, y in zip(hist_days, ys)]
        sigma = (sum(r * r for r in resid) / n).sqrt()
        z = Decimal(repr(round(statistics.NormalDist().inv_cdf(0.5 + level / 200), 6)))
        center = Decimal(n) / 2

        def daily(d):
            h = Decimal((d - today).days + 1)
            return mean * weekly[d.weekday()] * (1 + growth * (h + center) / 30), 1 + h / 30

        periods = []
        bs = start
        while bs < end:
            be = bs + ONE_DAY if gran == "DAILY" else min(_first_of_next_month(bs), end)
            m = ZERO
            var = ZERO
            d = bs
            while d < be:
                f, v = daily(d)
                m += f
                var += v
                d += ONE_DAY
            periods.append((bs, be, m, z * sigma * var.sqrt()))
            bs = be
        total = ZERO
        out = []
        for bs, be, m, w in periods:
            m = m.quantize(company.Q10)
            lo = (m - w).quantize(company.Q10)
            if m >= 0 and lo < 0:
                lo = ZERO
            hi = (m + w).quantize(company.Q10)
            total += m
            out.append({"TimePeriod": {"Start": bs.isoformat(), "End": be.isoformat()},
                        "MeanValue": fmt_amount(m), "PredictionIntervalLowerBound": fmt_amount(lo),
                        "PredictionIntervalUpperBound": fmt_amount(hi)})
    return {"Total": {"Amount": fmt_amount(total), "Unit": unit}, "ForecastResultsByTime": out}


# --- GetDimensionValues -------------------------------------------------------

def get_dimension_values(req, ctx):
    op = "GetDimensionValues"
    _members(req, ("SearchString", "TimePeriod", "Dimension", "Context", "Filter", "SortBy", "BillingViewArn",
                   "MaxResults", "NextPageToken"), "GetDimensionValuesRequest", "")
    coral = _Coral()
    tp = _time_period(req, coral)
    dim = coral.required(req, "Dimension", "dimension")
    _typed(dim, str, "dimension")
    coral.enum(dim, DIMENSION_ENUM, "dimension")
    context = _typed(req.get("Context"), str, "context")
    coral.enum(context, CONTEXT_ENUM, "context")
    search = _typed(req.get("SearchString"), str, "searchString")
    max_results = _typed(req.get("MaxResults"), int, "maxResults")
    if max_results is not None and max_results < 1:
        coral.add(max_results, "maxResults", "Member must have value greater than or equal to 1")
    sort_by = req.get("SortBy")
    if sort_by is not None:
        _typed(sort_by, list, "sortBy")
        for k, s in enumerate(sort_by):
            p = "sortBy.%d.member" % (k + 1)
            _members(s, ("Key", "SortOrder"), "SortDefinition", p)
            _typed(coral.required(s, "Key", p + ".key"), str, p + ".key")
            coral.enum(_typed(s.get("SortOrder"), str, p + ".sortOrder"), SORT_ORDER_ENUM, p + ".sortOrder")
    tok = _typed(req.get("NextPageToken"), str, "nextPageToken")
    _typed(req.get("BillingViewArn"), str, "billingViewArn")
    flt = req.get("Filter")
    pred = compile_filter(flt, "filter", coral) if flt is not None else None
    coral.raise_if_any()

    start, end, has_time = _parse_dates(tp)
    if has_time:
        raise _validation("Hourly timePeriod is not supported for this request")
    if start >= end:
        raise _validation("Start date (and hour) should be before end date (and hour)")
    _check_dimension(dim, "Dimension")
    if sort_by:
        if tok or search:
            raise _validation("SortBy cannot be used together with NextPageToken or SearchString")
        for s in sort_by:
            if s["Key"] not in METRIC_NAMES:
                raise _validation("Invalid SortBy key: %s. Valid keys are: %s" % (s["Key"], ", ".join(company.METRICS)))
        if max_results is not None and max_results > 1000:
            raise _validation("MaxResults must be less than or equal to 1000")

    days = list(_days(start, end, ctx.today))
    sort_idx = [METRIC_INDEX[s["Key"]] for s in sort_by or ()]
    groups = _aggregate(days, sort_idx, lambda t: t.dims[dim], pred)
    units = {}
    if dim == "USAGE_TYPE":
        for d in days:
            for t, _ in company.rows(d):
                if t.unit:
                    units.setdefault(t.dims["USAGE_TYPE"], t.unit)
    values = sorted(groups)
    if search:
        needle = search.lower()
        values = [v for v in values if needle in v.lower()]
    if sort_by:
        # Stable sorts, last key first, so the first SortDefinition wins.
        for j in range(len(sort_by) - 1, -1, -1):
            desc = sort_by[j].get("SortOrder") == "DESCENDING"
            values.sort(key=lambda v: groups[v][0][j], reverse=desc)
        values = values[:max_results or 1000]
        offset, page, next_tok = 0, values, None
    else:
        offset = read_token(op, req, len(values))
        page = values[offset:offset + ctx.page_size]
        next_tok = make_token(op, req, offset + ctx.page_size) if offset + ctx.page_size < len(values) else None

    def attrs(v):
        if dim == "LINKED_ACCOUNT":
            return {"description": company.ACCOUNTS.get(v, v)}
        if dim == "USAGE_TYPE" and v in units:
            return {"unit": units[v]}
        return {}

    resp = {"DimensionValues": [{"Value": v, "Attributes": attrs(v)} for v in page],
            "ReturnSize": len(page), "TotalSize": len(values)}
    if next_tok:
        resp["NextPageToken"] = next_tok
    return resp


OPERATIONS = {
    "GetCostAndUsage": get_cost_and_usage,
    "GetCostAndUsageWithResources": get_cost_and_usage_with_resources,
    "GetCostForecast": get_cost_forecast,
    "GetDimensionValues": get_dimension_values,
}

# Bodies for the `wrong_shape` fault: valid JSON, wrong types.
WRONG_SHAPES = {
    "GetCostAndUsage": {"ResultsByTime": 42},
    "GetCostAndUsageWithResources": {"ResultsByTime": 42},
    "GetCostForecast": {"Total": "lots", "ForecastResultsByTime": {"MeanValue": 1}},
    "GetDimensionValues": {"DimensionValues": 42, "ReturnSize": "1", "TotalSize": None},
}


def handle(operation, body, ctx):
    """Run one operation on the raw body; returns the response object or raises ApiError."""
    fn = OPERATIONS[operation]
    if body.strip():
        try:
            req = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise _serialization("Body is not valid JSON")
    else:
        req = {}
    if not isinstance(req, dict):
        raise _serialization("Start of structure or map not found")
    return fn(req, ctx)
