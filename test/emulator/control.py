"""Emulator state and the unauthenticated control API under /_emulator/.

State (config, pending faults, request log, concurrency counters) is shared by
all handler threads; one lock guards it and is never held while sleeping or
computing a response.

The expectation endpoint recomputes totals straight from company.line_items()
with its own small loop -- deliberately not through aws_ce.py -- so a test that
compares the FDW's output with it checks the whole API path, not a copy of it.
"""

import datetime
import decimal
import hashlib
import json
import threading
from urllib.parse import parse_qsl

import company

FAULT_KINDS = ("throttle", "error", "http500", "http503", "slow", "cut", "malformed", "truncated", "wrong_shape",
               "drop")
DEFAULT_PAGE_SIZE = 500


class ControlError(Exception):
    pass


class State:
    def __init__(self, today=None, page_size=DEFAULT_PAGE_SIZE, verbose=False):
        self.lock = threading.Lock()
        self.cli_today = today          # None: follow the real clock (UTC)
        self.cli_page_size = page_size
        self.verbose = verbose
        self.reset()

    # -- configuration ---------------------------------------------------------
    def reset(self):
        with self.lock:
            self.config = {"page_size": self.cli_page_size, "latency_ms": 0, "today": self.cli_today}
            self.faults = []
            self.log = []
            self.seq = 0
            self.in_flight = 0
            self.max_in_flight = 0
            self.by_operation = {}

    def today(self):
        t = self.config["today"]
        return t if t is not None else datetime.datetime.now(datetime.timezone.utc).date()

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
            else:
                raise ControlError("unknown config key %r" % k)
        with self.lock:
            self.config.update(new)

    def config_json(self):
        with self.lock:
            c = dict(self.config)
        c["today"] = self.today().isoformat()
        c["today_follows_clock"] = self.config["today"] is None
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
            target = target.rsplit(".", 1)[-1]  # accept "AWSInsightsIndexService.GetCostAndUsage" too
        params = {k: v for k, v in obj.items() if k not in ("kind", "count", "target")}
        with self.lock:
            self.faults.append({"kind": kind, "count": count, "target": target, "params": params})

    def take_fault(self, operation):
        with self.lock:
            for f in self.faults:
                if f["target"] is None or f["target"] == operation:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.faults.remove(f)
                    return f
        return None

    # -- request accounting ----------------------------------------------------
    def begin(self, operation, method, path, headers, body):
        entry = {"operation": operation, "method": method, "path": path, "headers": _log_headers(headers),
                 "body": body.decode("utf-8", "replace"), "status": None, "fault": None, "error": None}
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
        return entry

    def end(self, entry):
        with self.lock:
            self.in_flight -= 1

    @staticmethod
    def request_id(entry):
        # Deterministic per arrival number, shaped like AWS's UUID request ids.
        h = hashlib.md5(("finops-emulator-request-%d" % entry["seq"]).encode()).hexdigest()
        return "%s-%s-4%s-8%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])

    def stats(self):
        with self.lock:
            return {"requests": len(self.log), "by_operation": dict(sorted(self.by_operation.items())),
                    "max_in_flight": self.max_in_flight, "in_flight": self.in_flight}

    def log_text(self):
        with self.lock:
            entries = list(self.log)
        lines = []
        for e in entries:
            line = "%s %s" % (e["operation"], _canonical_body(e["body"]))
            if e["fault"]:
                line += " [fault=%s]" % e["fault"]
            elif e["error"]:
                line += " [error=%s]" % e["error"]
            lines.append(line + "\n")
        return "".join(lines)

    def log_json(self):
        with self.lock:
            entries = [dict(e) for e in self.log]
        return entries


def _log_headers(headers):
    out = {}
    for name, value in headers:
        name = name.lower()
        if name == "authorization" and "Signature=" in value:
            value = value[:value.index("Signature=")] + "Signature=<sig>"
        out[name] = value if name not in out else out[name] + "," + value
    return out


def _canonical_body(text):
    try:
        obj = json.loads(text)
    except ValueError:
        return json.dumps(text)
    if isinstance(obj, dict) and "NextPageToken" in obj and obj["NextPageToken"] is not None:
        obj["NextPageToken"] = "<token>"
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
        if path == "/_emulator/expect/aws_cost" and method == "GET":
            return 200, "text/tab-separated-values; charset=utf-8", expect_aws_cost(state, query).encode()
        return 404, text, ("error: no control endpoint %s %s\n" % (method, path)).encode()
    except ControlError as e:
        return 400, text, ("error: %s\n" % e).encode()
