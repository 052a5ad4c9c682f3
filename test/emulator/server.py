#!/usr/bin/python3
"""Local cloud emulator for finops_usage tests.

    python3 test/emulator/server.py --port 0 --port-file FILE [--today YYYY-MM-DD] [--page-size N]
                                    [--gcp-auth-dir DIR] [--verbose]

Binds 127.0.0.1 only.  Google requests are recognised by their path (any
prefix): .../token with a JWT-bearer form (or .../o/oauth2/token) is the OAuth
token endpoint, .../v3/projects/{p}/timeSeries|metricDescriptors is Cloud
Monitoring, .../bigquery/v2/projects/{p}/queries[/{jobId}] is BigQuery (its
logic in gcp_bigquery.py); they carry bearer tokens.  Other API requests (any
path outside /_emulator/ and /_test/) are dispatched on X-Amz-Target --
GraniteServiceVersion20100801.* is CloudWatch (AWS JSON 1.0, query-compatible)
-- else on the SigV4 credential scope's service -- `sts` is STS (Query
protocol, XML) -- everything else is Cost Explorer (AWS JSON 1.1); all must
carry a valid SigV4 signature.  /_test/ is the engine test service (bearer
tokens, see engine_test.py); the control API under /_emulator/ is open.  See
README.md.

HTTP/1.1 with keep-alive; every response carries Content-Length.  Each
connection gets its own thread, so a slow or sleeping request never blocks
another one.
"""

import argparse
import datetime
import importlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aws_ce  # noqa: E402
import aws_cw  # noqa: E402
import aws_sts  # noqa: E402
import azure_api  # noqa: E402
import company  # noqa: E402
import control  # noqa: E402
import engine_test  # noqa: E402
import gcp_monitoring  # noqa: E402
import gcp_oauth  # noqa: E402
import sigv4  # noqa: E402

AMZ_JSON = "application/x-amz-json-1.1"
ACCEPTED_CONTENT_TYPES = (AMZ_JSON, "application/json")
CE_REGION = "us-east-1"
CE_SERVICE = "ce"
MALFORMED_BODY = b'{"ResultsByTime": [ {"TimePeriod": nope'
DEFAULT_DENIED = ("User: arn:aws:iam::111111111111:user/finops-reader is not authorized to perform: %s on resource: "
                  "arn:aws:ce:us-east-1:111111111111:/%s because no identity-based policy allows the %s action")
CW_DENIED = ("User: arn:aws:iam::111111111111:user/finops-reader is not authorized to perform: %s "
             "because no identity-based policy allows the %s action")

# Google routes: matched on the end of the path, so any endpoint prefix works
_GCP_MONITORING = re.compile(r"(?:^|/)v3/projects/([^/]+)/(timeSeries|metricDescriptors)$")
_GCP_BIGQUERY = re.compile(r"(?:^|/)bigquery/v2/projects/([^/]+)/queries(?:/([^/]+))?$")
GCP_JSON = gcp_monitoring.CONTENT_TYPE
BQ_MALFORMED = b'{\n  "kind": "bigquery#queryResponse",\n  "rows": nope'
BQ_WRONG_SHAPE = {"kind": "bigquery#queryResponse", "jobComplete": "yes", "rows": 42}


def gcp_route(method, raw_path, headers, body):
    """(service, operation, project, job id) of a Google request, or None.

    service: oauth2 / monitoring / bigquery; operation None for a path or method
    that names no operation (answered 404)."""
    if raw_path.endswith("/token") and method == "POST":
        form = gcp_oauth.form_of(headers, body)
        if raw_path.endswith("/o/oauth2/token") or form.get("grant_type") == gcp_oauth.JWT_BEARER:
            return "oauth2", "oauth2.token", None, None
    m = _GCP_MONITORING.search(raw_path)
    if m:
        op = "monitoring.%s.list" % m.group(2) if method == "GET" else None
        return "monitoring", op, unquote(m.group(1)), None
    if "/v3/projects/" in raw_path or raw_path.startswith("v3/projects/"):
        return "monitoring", None, None, None
    m = _GCP_BIGQUERY.search(raw_path)
    if m:
        job = m.group(2)
        if job is None:
            op = "bigquery.jobs.query" if method == "POST" else None
        else:
            op = "bigquery.jobs.getQueryResults" if method == "GET" else None
        return "bigquery", op, unquote(m.group(1)), None if job is None else unquote(job)
    if "/bigquery/v2/" in raw_path:
        return "bigquery", None, None, None
    return None


def gcp_log_line(op, method, path, params, body=None):
    """<op> <METHOD> <path>[ name=value ...][ <canonical JSON body>]: parameters decoded,
    sorted by name (repeated ones keep their order), page tokens shown as <token>."""
    parts = [op, method, path]
    for k, v in sorted(params, key=lambda kv: kv[0]):
        parts.append("%s=%s" % (k, "<token>" if k in ("pageToken", "page_token") else v))
    if body is not None:
        parts.append(engine_test.canonical_json(body))
    return " ".join(parts)


_bigquery_mod = None


def bigquery_module():
    """gcp_bigquery (another helper's module), or None while it does not exist."""
    global _bigquery_mod
    if _bigquery_mod is None:
        try:
            _bigquery_mod = importlib.import_module("gcp_bigquery")
        except ModuleNotFoundError as e:
            if e.name != "gcp_bigquery":
                raise
            return None
    return _bigquery_mod


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY every
    # keep-alive response would stall ~40 ms on Nagle + delayed ACK.
    disable_nagle_algorithm = True

    # -- plumbing ----------------------------------------------------------------
    def log_message(self, fmt, *args):
        if self.server.state.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def send_response(self, code, message=None):
        # Like the base class, minus the "Server: BaseHTTP/..." header AWS never sends.
        self.log_request(code)
        self.send_response_only(code, message)
        if not any(k.lower() == "date" for k, _ in self._fault_headers):
            self.send_header("Date", self.date_time_string())

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    _fault_headers = ()     # a fault's extra "headers": added to the answer, replacing same-named ones

    def _send(self, status, content_type, body, extra=(), content_length=None, send=None):
        self.send_response(status)
        override = {k.lower() for k, _ in self._fault_headers}
        for k, v in tuple(extra) + (("Content-Type", content_type),):
            if k.lower() not in override:
                self.send_header(k, v)
        for k, v in self._fault_headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body if send is None else send)
        self.wfile.flush()

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _dispatch(self):
        self._fault_headers = ()
        body = self._read_body()
        raw_path, _, query = self.path.partition("?")
        if raw_path == "/_emulator" or raw_path.startswith("/_emulator/"):
            status, ctype, payload = control.handle(self.server.state, self.command, raw_path, query, body)
            self._send(status, ctype, payload)
        elif raw_path == "/_test" or raw_path.startswith("/_test/"):
            self._test(raw_path, query, body)
        else:
            route = gcp_route(self.command, raw_path, self.headers, body)
            if route is not None:
                self._gcp(route, raw_path, query, body)
                return
            az = azure_api.route(self.command, raw_path)
            if az is not None:
                self._azure(az, raw_path, query, body)
            else:
                self._api(raw_path, query, body)

    def _take_fault(self, op, region):
        fault = self.server.state.take_fault(op, region)
        if fault is not None:
            self._fault_headers = tuple(fault["params"].get("headers", {}).items())
        return fault

    # -- API requests --------------------------------------------------------------
    def _api(self, raw_path, query, body):
        target = self.headers.get("X-Amz-Target") or ""
        host = self.headers.get("Host")
        host_region = aws_cw.region_of_host(host)
        aws_target = target.startswith(aws_cw.TARGET_PREFIX) or target.startswith(aws_ce.TARGET_PREFIX)
        if target.startswith(aws_cw.TARGET_PREFIX) or (host_region and not target.startswith(aws_ce.TARGET_PREFIX)):
            return self._cw(raw_path, query, body, target, host_region)
        if not aws_target:
            sts_region = aws_sts.region_of_host(host)
            scope_region, scope_service = sigv4.scope_of(self.headers.get("Authorization"))
            if sts_region or scope_service == aws_sts.SERVICE or (
                    scope_service is None and aws_sts.is_form(self.headers.get("Content-Type"))):
                return self._sts(raw_path, query, body, sts_region or scope_region or aws_sts.DEFAULT_REGION)
        return self._ce(raw_path, query, body, target)

    def _verify(self, raw_path, query, body, region, service):
        return sigv4.verify(self.command, raw_path, query, self.headers.items(), body, region=region,
                            service=service, now=datetime.datetime.now(datetime.timezone.utc),
                            credentials=self.server.state.credentials)

    def _latency(self):
        latency = self.server.state.config["latency_ms"]
        if latency:
            time.sleep(latency / 1000.0)

    # -- Cost Explorer (AWS JSON 1.1) ---------------------------------------------------
    def _ce(self, raw_path, query, body, target):
        state = self.server.state
        op = target[len(aws_ce.TARGET_PREFIX):] if target.startswith(aws_ce.TARGET_PREFIX) else None
        log_op = op if op in aws_ce.OPERATIONS else (target or "-")
        entry = state.begin(log_op, self.command, self.path, self.headers.items(), body, region=CE_REGION,
                            service="ce")
        try:
            self._latency()
            try:
                self._verify(raw_path, query, body, CE_REGION, CE_SERVICE)
            except sigv4.AuthError as e:
                return self._error(entry, e.status, e.code, e.message)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if self.command != "POST" or op not in aws_ce.OPERATIONS or ctype not in ACCEPTED_CONTENT_TYPES:
                # What a Coral JSON endpoint answers when it cannot route the call.
                return self._error(entry, 400, "UnknownOperationException", None)
            ctx = aws_ce.Ctx(state.today(), state.config["page_size"])
            fault = self._take_fault(op, CE_REGION)
            if fault is not None:
                entry["fault"] = fault["kind"]
                return self._fault(entry, fault, op, body, ctx)
            bench = state.bench
            if bench is not None and op == "GetCostAndUsage":
                return self._bench_ce(entry, bench, body)
            status, payload, code = self._run(op, body, ctx)
            if code:
                entry["error"] = code
            self._reply(entry, status, payload)
        finally:
            state.end(entry)

    def _run(self, op, body, ctx):
        """(status, body bytes, error code or None) of the real answer."""
        try:
            obj = aws_ce.handle(op, body, ctx)
        except aws_ce.ApiError as e:
            return e.status, _error_body(e.code, e.message), e.code
        return 200, json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(), None

    def _reply(self, entry, status, payload, ctype=AMZ_JSON, extra=(), **kw):
        entry["status"] = status
        self._send(status, ctype, payload, extra=(("x-amzn-RequestId", control.State.request_id(entry)),
                                                  ("Cache-Control", "no-cache")) + tuple(extra), **kw)

    def _error(self, entry, status, code, message, message_key="message"):
        entry["error"] = code
        self._reply(entry, status, _error_body(code, message, message_key))

    def _bench_ce(self, entry, bench, body):
        try:
            page = bench.ce_page_for(body)
        except ValueError:
            return self._error(entry, 400, "InvalidNextTokenException", aws_ce.MSG_INVALID_TOKEN)
        return self._reply(entry, 200, page)

    def _fault(self, entry, fault, op, body, ctx):
        kind, p = fault["kind"], fault["params"]
        key = p.get("message_key", "message")
        if kind == "throttle":
            return self._reply(entry, int(p.get("status", 400)), _error_body(
                p.get("code", "LimitExceededException"), p.get("message", "Rate exceeded"), key))
        if kind == "error":
            action = "ce:" + op
            return self._reply(entry, int(p.get("status", 400)), _error_body(
                p.get("code", "AccessDeniedException"), p.get("message", DEFAULT_DENIED % (action, op, action)), key))
        if kind in ("http500", "http503"):
            code = p.get("code", "InternalFailure" if kind == "http500" else "ServiceUnavailable")
            return self._reply(entry, 500 if kind == "http500" else 503, _error_body(code, p.get("message"), key))
        if kind == "malformed":
            if "body_hex" in p:     # any bytes, invalid UTF-8 included
                return self._reply(entry, 200, bytes.fromhex(p["body_hex"]))
            return self._reply(entry, 200, p.get("body", MALFORMED_BODY.decode()).encode())
        if kind == "wrong_shape":
            shape = p.get("body", aws_ce.WRONG_SHAPES[op])
            return self._reply(entry, 200, json.dumps(shape, separators=(",", ":")).encode())
        if kind == "drop":
            return self._drop(entry)
        if kind == "slow":
            time.sleep(float(p.get("delay", 2)))
            status, payload, _ = self._run(op, body, ctx)
            return self._reply(entry, status, payload)
        if kind in ("drip", "gzip_bomb", "huge", "token_loop"):
            return self._hostile(entry, kind, p, op, body, ctx)
        status, payload, _ = self._run(op, body, ctx)
        return self._cut_or_truncate(entry, kind, status, payload)

    def _hostile(self, entry, kind, p, op, body, ctx):
        """Answers a hostile server gives: a byte at a time, a small gzip body
        that inflates to "size" bytes, a body of "size" bytes, or a page whose
        NextPageToken is the same on every page."""
        if kind == "drip":
            status, payload, _ = self._run(op, body, ctx)
            entry["status"] = status
            self.close_connection = True
            self._send(status, AMZ_JSON, payload, send=b"")
            try:
                for i in range(len(payload)):
                    self.wfile.write(payload[i:i + 1])
                    self.wfile.flush()
                    time.sleep(float(p.get("interval", 0.5)))
            except OSError:
                pass        # the client gave up, as it should
            return None
        if kind == "gzip_bomb":
            size = int(p.get("size", 64 << 20))
            blob = _gzip_spaces(size)
            return self._reply(entry, 200, blob, extra=(("Content-Encoding", "gzip"),))
        if kind == "huge":
            size = int(p.get("size", 8 << 20))
            return self._reply(entry, 200, b'{"ResultsByTime": [], "Padding": "' + b"x" * size + b'"}')
        # token_loop: the first page, always pointing at the same next page
        try:
            req = json.loads(body)
            req.pop("NextPageToken", None)
            body = json.dumps(req).encode()
        except ValueError:
            pass
        status, payload, _ = self._run(op, body, ctx)
        doc = json.loads(payload)
        if status == 200:
            doc["NextPageToken"] = p.get("token", "c2FtZS1wYWdl")
        return self._reply(entry, status, json.dumps(doc, separators=(",", ":")).encode())

    def _drop(self, entry):
        entry["status"] = 0
        self.close_connection = True
        _hard_close(self.connection)

    def _cut_or_truncate(self, entry, kind, status, payload, **kw):
        cut = max(1, len(payload) // 2)
        if kind == "truncated":
            return self._reply(entry, status, payload[:cut], **kw)
        # kind == "cut": promise the whole body, deliver half, hang up.
        self.close_connection = True
        self._reply(entry, status, payload, send=payload[:cut], **kw)
        _hard_close(self.connection)
        return None

    # -- CloudWatch (AWS JSON 1.0, query-compatible) ----------------------------------------
    def _cw(self, raw_path, query, body, target, host_region):
        state = self.server.state
        op = target[len(aws_cw.TARGET_PREFIX):] if target.startswith(aws_cw.TARGET_PREFIX) else None
        log_op = op if op in aws_cw.OPERATIONS else (target or "-")
        # The region: the endpoint's (monitoring.<region>.amazonaws.com), else -- loopback --
        # the one the request was signed for.
        region = host_region or aws_cw.region_of_scope(self.headers.get("Authorization")) or "us-east-1"
        entry = state.begin(log_op, self.command, self.path, self.headers.items(), body, region=region,
                            service="cw")
        try:
            self._latency()
            try:
                # An unknown region name cannot be an endpoint: report it as a scope error.
                self._verify(raw_path, query, body, region if aws_cw.valid_region(region) else "us-east-1",
                             aws_cw.SERVICE)
            except sigv4.AuthError as e:
                return self._cw_error(entry, aws_cw.auth_error(e.status, e.code, e.message))
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if self.command != "POST" or op not in aws_cw.OPERATIONS or ctype != aws_cw.CONTENT_TYPE:
                return self._cw_error(entry, aws_cw.unknown_operation())
            ctx = aws_cw.Ctx(region, state.now())
            fault = self._take_fault(op, region)
            if fault is not None:
                entry["fault"] = fault["kind"]
                return self._cw_fault(entry, fault, op, body, ctx)
            bench = state.bench
            if bench is not None and op == "GetMetricData":
                return self._bench_cw(entry, bench, body)
            status, payload, err = self._cw_run(op, body, ctx)
            if err is not None:
                return self._cw_error(entry, err)
            self._reply(entry, status, payload, ctype=aws_cw.CONTENT_TYPE)
        finally:
            state.end(entry)

    def _cw_run(self, op, body, ctx):
        try:
            return 200, aws_cw.handle(op, body, ctx), None
        except aws_cw.CwError as e:
            return e.status, e.body(), e

    def _cw_error(self, entry, err):
        entry["error"] = err.type
        hdr = err.header()
        self._reply(entry, err.status, err.body(), ctype=aws_cw.CONTENT_TYPE,
                    extra=(() if hdr is None else (("x-amzn-query-error", hdr),)))

    def _bench_cw(self, entry, bench, body):
        try:
            page = bench.cw_page_for(body)
        except ValueError:
            return self._cw_error(entry, aws_cw.bad_token())
        return self._reply(entry, 200, page, ctype=aws_cw.CONTENT_TYPE)

    def _cw_fault(self, entry, fault, op, body, ctx):
        kind, p = fault["kind"], fault["params"]
        key = p.get("message_key", "message")

        def err(status, type_, query_error, message):
            e = aws_cw.CwError(int(p.get("status", status)), p.get("code", type_), None, p.get("message", message),
                               message_key=key)
            qe = p.get("query_error", query_error)
            extra = () if qe is None else (("x-amzn-query-error", qe),)
            return self._reply(entry, e.status, e.body(), ctype=aws_cw.CONTENT_TYPE, extra=extra)

        if kind == "throttle":
            t = aws_cw.throttling()
            return err(400, t.type, t.header(), t.message)
        if kind == "error":
            action = "cloudwatch:" + op
            return err(403, "com.amazon.coral.service#AccessDeniedException", "AccessDenied;Sender",
                       CW_DENIED % (action, action))
        if kind == "http500":
            key = p.get("message_key", "Message")   # InternalServiceFault's member is "Message"
            return err(500, aws_cw.NS + "InternalServiceFault", "InternalServiceError;Receiver", p.get("message"))
        if kind == "http503":
            return err(503, "com.amazon.coral.availability#ServiceUnavailableException", "ServiceUnavailable;Receiver",
                       None)
        if kind == "malformed":
            if "body_hex" in p:
                return self._reply(entry, 200, bytes.fromhex(p["body_hex"]), ctype=aws_cw.CONTENT_TYPE)
            body_ = p.get("body")
            return self._reply(entry, 200, body_.encode() if body_ is not None else aws_cw.MALFORMED[op],
                               ctype=aws_cw.CONTENT_TYPE)
        if kind == "wrong_shape":
            shape = p.get("body", aws_cw.WRONG_SHAPES[op])
            return self._reply(entry, 200, json.dumps(shape, separators=(",", ":")).encode(), ctype=aws_cw.CONTENT_TYPE)
        if kind == "drop":
            return self._drop(entry)
        status, payload, e = self._cw_run(op, body, ctx)
        extra = ()
        if e is not None and e.header():
            extra = (("x-amzn-query-error", e.header()),)
        if kind == "slow":
            time.sleep(float(p.get("delay", 2)))
            return self._reply(entry, status, payload, ctype=aws_cw.CONTENT_TYPE, extra=extra)
        return self._cut_or_truncate(entry, kind, status, payload, ctype=aws_cw.CONTENT_TYPE, extra=extra)


    # -- STS (Query protocol, XML) --------------------------------------------------------
    def _sts(self, raw_path, query, body, region):
        state = self.server.state
        form = self.command == "POST" and aws_sts.is_form(self.headers.get("Content-Type"))
        params = aws_sts.parse_form(body) if form else []
        action = dict(params).get("Action")
        log_op = action if action in aws_sts.OPERATIONS else (action or "-")
        entry = state.begin(log_op, self.command, self.path, self.headers.items(), body, region=region,
                            service="sts", line=aws_sts.log_line(log_op, region, params))
        try:
            self._latency()
            try:
                akid = self._verify(raw_path, query, body, region if aws_cw.valid_region(region) else
                                    aws_sts.DEFAULT_REGION, aws_sts.SERVICE)
            except sigv4.AuthError as e:
                return self._sts_error(entry, aws_sts.auth_error(e))
            try:
                op = aws_sts.check_action(params)
            except aws_sts.StsError as e:
                return self._sts_error(entry, e)
            caller = aws_sts.identity(akid, state.credentials.get(akid))
            fault = self._take_fault(op, region)
            if fault is not None:
                entry["fault"] = fault["kind"]
                return self._sts_fault(entry, fault, op, params, caller)
            status, payload, err = self._sts_run(entry, op, params, caller)
            if err is not None:
                entry["error"] = err.code
            self._reply(entry, status, payload, ctype=aws_sts.CONTENT_TYPE)
        finally:
            state.end(entry)

    def _sts_run(self, entry, op, params, caller):
        """(status, body, StsError or None) of the real answer."""
        rid = control.State.request_id(entry)
        try:
            if op == "AssumeRole":
                cred = aws_sts.assume_role(params, caller, self.server.state.sts_issue)
                return 200, aws_sts.assume_role_xml(cred, rid), None
            return 200, aws_sts.caller_identity_xml(caller, rid), None
        except aws_sts.StsError as e:
            return e.status, e.body(rid), e

    def _sts_error(self, entry, err):
        entry["error"] = err.code
        self._reply(entry, err.status, err.body(control.State.request_id(entry)), ctype=aws_sts.CONTENT_TYPE)

    def _sts_fault(self, entry, fault, op, params, caller):
        kind, p = fault["kind"], fault["params"]
        rid = control.State.request_id(entry)
        ctype = aws_sts.CONTENT_TYPE

        def err(status, code, message, type_="Sender"):
            body = aws_sts.error_body(p.get("code", code), p.get("message", message), rid, p.get("type", type_))
            return self._reply(entry, int(p.get("status", status)), body, ctype=ctype)

        if kind == "throttle":
            return err(400, "Throttling", "Rate exceeded")
        if kind == "error":
            resource = dict(params).get("RoleArn") if op == "AssumeRole" else None
            return err(403, "AccessDenied", "User: %s is not authorized to perform: sts:%s%s" % (
                caller["arn"], op, " on resource: " + resource if resource else ""))
        if kind == "http500":
            return err(500, "InternalFailure", aws_sts.MSG_INTERNAL, "Receiver")
        if kind == "http503":
            return err(503, "ServiceUnavailable", aws_sts.MSG_UNAVAILABLE, "Receiver")
        if kind in ("malformed", "wrong_shape"):
            if "body_hex" in p:
                return self._reply(entry, 200, bytes.fromhex(p["body_hex"]), ctype=ctype)
            if "body" in p:
                b = p["body"]
                return self._reply(entry, 200, (b if isinstance(b, str) else json.dumps(b)).encode(), ctype=ctype)
            return self._reply(entry, 200, (aws_sts.MALFORMED if kind == "malformed" else aws_sts.WRONG_SHAPES)[op],
                               ctype=ctype)
        if kind == "drop":
            return self._drop(entry)
        status, payload, _ = self._sts_run(entry, op, params, caller)
        if kind == "slow":
            time.sleep(float(p.get("delay", 2)))
            return self._reply(entry, status, payload, ctype=ctype)
        return self._cut_or_truncate(entry, kind, status, payload, ctype=ctype)

    # -- engine test service (/_test/, JSON, bearer tokens) ------------------------------------
    def _test(self, raw_path, query, body):
        state = self.server.state
        op, line = engine_test.describe(self.command, raw_path, query, self.headers, body)
        entry = state.begin(op, self.command, self.path, self.headers.items(), body, region=None, service="test",
                            line=line)
        try:
            self._latency()
            if op != "TestToken":
                denied = engine_test.authenticate(state, self.headers)
                if denied is not None:
                    return self._test_reply(entry, denied)
            fault = self._take_fault(op, None)
            if fault is not None:
                entry["fault"] = fault["kind"]
                return self._test_fault(entry, fault, op, raw_path, query, body)
            self._test_reply(entry, self._test_run(raw_path, query, body))
        finally:
            state.end(entry)

    def _test_run(self, raw_path, query, body):
        return engine_test.handle(self.server.state, self.command, raw_path, query, self.headers, body,
                                  self.server.server_address[1])

    def _test_reply(self, entry, answer, **kw):
        if answer.error and not entry["fault"]:
            entry["error"] = answer.error
        entry["status"] = answer.status
        self._send(answer.status, engine_test.CONTENT_TYPE, answer.body,
                   extra=(("X-Request-Id", control.State.request_id(entry)),) + answer.headers, **kw)

    def _test_fault(self, entry, fault, op, raw_path, query, body):
        kind, p = fault["kind"], fault["params"]
        key = p.get("message_key", "message")

        def err(status, code, message):
            obj = {"error": p.get("code", code)}
            message = p.get("message", message)
            if message is not None:
                obj[key] = message
            return self._test_reply(entry, engine_test.Answer(int(p.get("status", status)), obj))

        if kind == "throttle":
            return err(429, "rate_limited", "Rate exceeded")
        if kind == "error":
            return err(403, "permission_denied", "The caller does not have permission")
        if kind == "http500":
            return err(500, "internal", "Internal error")
        if kind == "http503":
            return err(503, "unavailable", "The service is currently unavailable")
        if kind == "malformed":
            if "body_hex" in p:
                return self._test_reply(entry, engine_test.Answer(200, body=bytes.fromhex(p["body_hex"])))
            b = p.get("body")
            return self._test_reply(entry, engine_test.Answer(200, body=b.encode() if b is not None else
                                                              engine_test.MALFORMED[op]))
        if kind == "wrong_shape":
            return self._test_reply(entry, engine_test.Answer(200, p.get("body", engine_test.WRONG_SHAPES[op])))
        if kind == "drop":
            return self._drop(entry)
        answer = self._test_run(raw_path, query, body)
        if kind == "slow":
            time.sleep(float(p.get("delay", 2)))
            return self._test_reply(entry, answer)
        cut = max(1, len(answer.body) // 2)
        if kind == "truncated":
            return self._test_reply(entry, engine_test.Answer(answer.status, body=answer.body[:cut],
                                                              headers=answer.headers))
        self.close_connection = True
        self._test_reply(entry, answer, send=answer.body[:cut])
        _hard_close(self.connection)


    # -- Azure: Entra ID token endpoint, Cost Management, Monitor, ARM resources (azure_api.py) -------
    def _azure(self, rt, raw_path, query, body):
        state = self.server.state
        line = azure_api.log_line(rt, self.command, raw_path, query, self.headers, body)
        logged = azure_api.A.redacted_body(body) if rt.service == "aad" else body
        region = azure_api.region_of(rt, body)
        entry = state.begin(rt.op, self.command, self.path, self.headers.items(), logged, region=region,
                            service=rt.service, line=line)
        try:
            self._latency()
            denied = azure_api.authenticate(state, rt, self.headers)
            if denied is not None:
                return self._azure_reply(entry, denied)
            fault = self._take_fault(rt.op, region)
            if fault is not None:
                entry["fault"] = fault["kind"]
                return self._azure_fault(entry, fault, rt, raw_path, query, body)
            self._azure_reply(entry, self._azure_run(entry, rt, raw_path, query, body))
        finally:
            state.end(entry)

    def _azure_run(self, entry, rt, raw_path, query, body):
        try:
            return azure_api.run(self.server.state, rt, self.command, raw_path, query, self.headers, body,
                                 self.headers.get("Host"), self.path, entry["seq"])
        except Exception as e:     # an emulator bug: answer 500 and show it
            traceback.print_exc()
            return azure_api.arm_error(500, "InternalServerError", "emulator error in azure: %s: %s"
                                       % (type(e).__name__, e))

    def _azure_reply(self, entry, ans, **kw):
        if ans.error and not entry["fault"]:
            entry["error"] = ans.error
        entry["status"] = ans.status
        rid = control.State.request_id(entry)
        extra = (("x-ms-request-id", rid), ("x-ms-correlation-request-id", rid), ("Cache-Control", "no-cache"))
        names = {k.lower() for k, _ in ans.headers}
        extra = tuple(h for h in extra if h[0].lower() not in names) + ans.headers
        self._send(ans.status, ans.ctype, ans.body, extra=extra, **kw)

    def _azure_fault(self, entry, fault, rt, raw_path, query, body):
        kind, p = fault["kind"], fault["params"]
        if kind in ("throttle", "error", "http500", "http503", "malformed", "wrong_shape", "nocontent"):
            return self._azure_reply(entry, azure_api.fault_answer(kind, p, rt, entry["seq"]))
        if kind == "drop":
            return self._drop(entry)
        ans = self._azure_run(entry, rt, raw_path, query, body)
        if kind == "slow":
            time.sleep(float(p.get("delay", 2)))
            return self._azure_reply(entry, ans)
        cut = max(1, len(ans.body) // 2)
        if kind == "truncated":
            return self._azure_reply(entry, azure_api.A.Answer(ans.status, ans.body[:cut], ans.ctype, ans.headers))
        self.close_connection = True        # cut: promise the whole body, deliver half, hang up
        self._azure_reply(entry, ans, send=ans.body[:cut])
        _hard_close(self.connection)

    # -- Google: OAuth token endpoint, Cloud Monitoring, BigQuery (JSON, bearer tokens) --------------
    def _gcp(self, route, raw_path, query, body):
        state = self.server.state
        service, op, project, job = route
        params = parse_qsl(query, keep_blank_values=True)
        log_op = op or service
        if service == "oauth2":
            line = gcp_oauth.log_line(log_op, self.command, raw_path, self.headers, body)
            logged = gcp_oauth.redacted_body(body)
        else:
            line = gcp_log_line(log_op, self.command, raw_path, params,
                                body if service == "bigquery" and self.command == "POST" else None)
            logged = body
        entry = state.begin(log_op, self.command, self.path, self.headers.items(), logged, region=None,
                            service=service, line=line)
        try:
            self._latency()
            pretty = gcp_monitoring.pretty_wanted(params)
            if service == "oauth2":
                fault = self._take_fault(op, None)
                if fault is not None:
                    entry["fault"] = fault["kind"]
                    return self._gcp_fault(entry, fault, service, op, project, job, params, body, pretty)
                return self._oauth_reply(entry, self._oauth_run(body))
            if op is None:
                return self._gcp_reply(entry, 404, gcp_monitoring.GcpError(
                    404, "Method not found.").envelope(), pretty, error="NOT_FOUND")
            denied = gcp_oauth.authenticate(state, self.headers, service)
            if denied is not None:
                return self._gcp_auth_error(entry, service, op, denied, pretty)
            fault = self._take_fault(op, None)
            if fault is not None:
                entry["fault"] = fault["kind"]
                return self._gcp_fault(entry, fault, service, op, project, job, params, body, pretty)
            status, obj = self._gcp_run(service, op, project, job, params, body)
            self._gcp_reply(entry, status, obj, pretty)
        finally:
            state.end(entry)

    def _oauth_run(self, body):
        state = self.server.state
        return gcp_oauth.issue(state, state.gcp_accounts, self.headers, body)

    def _oauth_reply(self, entry, answer, **kw):
        if answer.error and not entry["fault"]:
            entry["error"] = answer.error
        entry["status"] = answer.status
        self._send(answer.status, gcp_oauth.CONTENT_TYPE, gcp_monitoring.dumps(answer.obj), extra=answer.headers,
                   **kw)

    def _gcp_run(self, service, op, project, job, params, body):
        """(status, JSON object) of the real answer of an authenticated Monitoring/BigQuery request."""
        state = self.server.state
        try:
            if op == "monitoring.timeSeries.list":
                return 200, gcp_monitoring.list_time_series(project, params, state.now(),
                                                            state.config["gcp_page_size"])
            if op == "monitoring.metricDescriptors.list":
                return 200, gcp_monitoring.list_metric_descriptors(project, params)
        except gcp_monitoring.GcpError as e:
            return e.code, e.envelope()
        mod = bigquery_module()
        if mod is None:
            return 501, gcp_monitoring.GcpError(
                501, "BigQuery is not available: gcp_bigquery.py is not part of this emulator yet.",
                errors=[{"message": "gcp_bigquery.py missing", "domain": "global", "reason": "notImplemented"}]
            ).envelope()
        qdict = {}
        for k, v in params:
            qdict.setdefault(k, []).append(v)
        try:
            status, payload = mod.handle(state, op, project, job, qdict, body)
        except Exception as e:     # a bug in gcp_bigquery: answer 500 and show it
            traceback.print_exc()
            return 500, gcp_monitoring.GcpError(
                500, "emulator error in gcp_bigquery: %s: %s" % (type(e).__name__, e),
                errors=[{"message": "emulator error", "domain": "global", "reason": "internalError"}]).envelope()
        return status, payload

    def _gcp_reply(self, entry, status, obj, pretty, error=None, extra=(), **kw):
        if status >= 400 and not entry["fault"]:
            entry["error"] = error or _gcp_error_code(obj)
        entry["status"] = status
        body = obj if isinstance(obj, bytes) else gcp_monitoring.dumps(obj, pretty)
        self._send(status, GCP_JSON, body, extra=(("Vary", "Origin, X-Origin, Referer"), ("Cache-Control", "private"))
                   + tuple(extra), **kw)

    def _gcp_auth_error(self, entry, service, op, denied, pretty):
        status, challenge, reason, message = denied
        canonical = "UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED"
        if service == "bigquery":
            bq = ("Invalid Credentials", "authError") if status == 401 else ("Insufficient Permission",
                                                                             "insufficientPermissions")
            item = {"message": bq[0], "domain": "global", "reason": bq[1]}
            if status == 401:
                item.update(location="Authorization", locationType="header")
            err = gcp_monitoring.GcpError(status, message, canonical, errors=[item])
        else:
            err = gcp_monitoring.GcpError(status, message, canonical, details=[gcp_monitoring.error_info(
                reason, "monitoring.googleapis.com",
                {"method": "google.monitoring.v3.MetricService." +
                 ("ListTimeSeries" if op == "monitoring.timeSeries.list" else "ListMetricDescriptors")})])
        self._gcp_reply(entry, status, err.envelope(), pretty, error=canonical,
                        extra=(("WWW-Authenticate", challenge),))

    def _gcp_fault(self, entry, fault, service, op, project, job, params, body, pretty):
        kind, p = fault["kind"], fault["params"]
        if kind in ("throttle", "error", "http500", "http503"):
            if service == "oauth2":
                return self._oauth_reply(entry, _oauth_fault(kind, p))
            status, obj = _gcp_fault_error(service, op, project, kind, p)
            return self._gcp_reply(entry, status, obj, pretty)
        ctype = gcp_oauth.CONTENT_TYPE if service == "oauth2" else GCP_JSON
        if kind in ("malformed", "wrong_shape"):
            if "body_hex" in p and kind == "malformed":
                payload = bytes.fromhex(p["body_hex"])
            elif "body" in p:
                b = p["body"]
                payload = b.encode() if isinstance(b, str) else json.dumps(b).encode()
            elif service == "oauth2":
                payload = gcp_oauth.MALFORMED if kind == "malformed" else gcp_monitoring.dumps(gcp_oauth.WRONG_SHAPE)
            elif service == "monitoring":
                payload = gcp_monitoring.MALFORMED[op] if kind == "malformed" else \
                    gcp_monitoring.dumps(gcp_monitoring.WRONG_SHAPES[op], pretty)
            else:
                payload = BQ_MALFORMED if kind == "malformed" else gcp_monitoring.dumps(BQ_WRONG_SHAPE, pretty)
            entry["status"] = 200
            return self._send(200, ctype, payload)
        if kind == "drop":
            return self._drop(entry)
        if service == "oauth2":
            answer = self._oauth_run(body)
            status, payload, extra = answer.status, gcp_monitoring.dumps(answer.obj), answer.headers
        else:
            status, obj = self._gcp_run(service, op, project, job, params, body)
            payload, extra = gcp_monitoring.dumps(obj, pretty), ()
        entry["status"] = status
        if kind == "slow":
            time.sleep(float(p.get("delay", 2)))
            return self._send(status, ctype, payload, extra=extra)
        cut = max(1, len(payload) // 2)
        if kind == "truncated":
            return self._send(status, ctype, payload[:cut], extra=extra)
        self.close_connection = True        # cut: promise the whole body, deliver half, hang up
        self._send(status, ctype, payload, extra=extra, send=payload[:cut])
        _hard_close(self.connection)


def _gcp_error_code(obj):
    """What the request log shows of a Google error: BigQuery's errors[0].reason, else the status."""
    err = obj.get("error") if isinstance(obj, dict) else None
    if not isinstance(err, dict):
        return "error"
    errors = err.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("reason"):
        return errors[0]["reason"]
    return err.get("status") or str(err.get("code"))


def _gcp_fault_params(p, code, status):
    """The HTTP code and canonical status a fault asks for: "code" (HTTP) and "status" (canonical
    string, or an HTTP code) override the defaults; a new HTTP code brings its canonical status."""
    c, s = p.get("code"), p.get("status")
    http = code
    if isinstance(c, int) and not isinstance(c, bool):
        http = c
    elif isinstance(s, int) and not isinstance(s, bool):
        http = s
    if isinstance(s, str):
        status = s
    elif http != code:
        status = gcp_monitoring.CANONICAL.get(http, "UNKNOWN")
    return http, status


# BigQuery's answers to the throttle/error/http500/http503 faults: status, canonical status, message,
# errors[0].reason, errors[0].domain ("%(p)s" is the project)
BQ_FAULTS = {
    "throttle": (403, "PERMISSION_DENIED", "Exceeded rate limits: too many api requests per user per method for this "
                 "user_method. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas",
                 "rateLimitExceeded", "usageLimits"),
    "error": (403, "PERMISSION_DENIED", "Access Denied: Project %(p)s: User does not have bigquery.jobs.create "
              "permission in project %(p)s.", "accessDenied", "global"),
    "http500": (500, "INTERNAL", "An internal error occurred and the request could not be completed.",
                "internalError", "global"),
    "http503": (503, "UNAVAILABLE", "The service is currently unavailable.", "backendError", "global"),
}


def _gcp_fault_error(service, op, project, kind, p):
    """(HTTP status, envelope) of a throttle/error/http500/http503 fault on Monitoring or BigQuery."""
    GE = gcp_monitoring.GcpError
    if service == "bigquery":
        code, status, msg, reason, domain = BQ_FAULTS[kind]
        msg = msg % {"p": project}
        code, status = _gcp_fault_params(p, code, status)
        if kind == "throttle" and code == 429 and not isinstance(p.get("status"), str):
            status = "RESOURCE_EXHAUSTED"
        msg = p.get("message", msg)
        err = GE(code, msg, status, errors=[{"message": msg, "domain": domain, "reason": p.get("reason", reason)}],
                 details=p.get("details"))
        return code, err.envelope()
    number = gcp_monitoring.G.PROJECTS.get(project, project)
    details = None
    if kind == "throttle":
        code, status = 429, "RESOURCE_EXHAUSTED"
        msg = ("Quota exceeded for quota metric 'Time series queries' and limit 'Time series queries per minute' "
               "of service 'monitoring.googleapis.com' for consumer 'project_number:%s'." % number)
        details = [gcp_monitoring.error_info(p.get("reason", "RATE_LIMIT_EXCEEDED"), "monitoring.googleapis.com", {
            "quota_metric": "monitoring.googleapis.com/read_requests",
            "quota_limit": "ReadRequestsPerMinutePerProject", "consumer": "projects/%s" % number})]
    elif kind == "error":
        code, status = 403, "PERMISSION_DENIED"
        perm = op if op in ("monitoring.timeSeries.list", "monitoring.metricDescriptors.list") else "monitoring"
        msg = "Permission %s denied (or the resource may not exist)." % perm
        details = [gcp_monitoring.error_info(p.get("reason", "IAM_PERMISSION_DENIED"), "monitoring.googleapis.com",
                                             {"permission": perm, "resource": "projects/%s" % project})]
    elif kind == "http500":
        code, status, msg = 500, "INTERNAL", "Internal error encountered."
    else:
        code, status, msg = 503, "UNAVAILABLE", "The service is currently unavailable."
    code, status = _gcp_fault_params(p, code, status)
    return code, GE(code, p.get("message", msg), status, details=p.get("details", details)).envelope()


def _oauth_fault(kind, p):
    """The token endpoint's answer to a throttle/error/http500/http503 fault."""
    code, error, desc = {"throttle": (429, "rate_limit_exceeded", "Rate Limit Exceeded"),
                         "error": (400, "invalid_grant", "Invalid grant: account not found"),
                         "http500": (500, "internal_failure", "Backend Error"),
                         "http503": (503, "temporarily_unavailable", "The service is currently unavailable.")}[kind]
    status, c = p.get("status"), p.get("code")
    if not isinstance(status, int) or isinstance(status, bool):
        status = code                       # "status": the HTTP status; "code": the OAuth error code
    obj = {"error": c if isinstance(c, str) else error, "error_description": p.get("message", desc)}
    return gcp_oauth.Answer(status, obj)


_GZIP_SPACES = {}


def _gzip_spaces(size):
    """A gzip member of "size" spaces (made once per size: it takes a moment)."""
    if size not in _GZIP_SPACES:
        import gzip
        _GZIP_SPACES[size] = gzip.compress(b" " * size, compresslevel=9)
    return _GZIP_SPACES[size]


def _error_body(code, message, message_key="message"):
    obj = {"__type": code}
    if message is not None:
        obj[message_key] = message
    return json.dumps(obj, separators=(",", ":")).encode()


def _hard_close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not delay shutdown

    def handle_error(self, request, client_address):
        # A client that hangs up mid-response (a cancelled query) is not an
        # emulator bug; stay quiet about it unless --verbose.
        if isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)) and not self.state.verbose:
            return
        super().handle_error(request, client_address)
    allow_reuse_address = True
    request_queue_size = 128


def make_server(port=0, today=None, page_size=control.DEFAULT_PAGE_SIZE, verbose=False, warm=True,
                gcp_auth_dir=None):
    srv = Server(("127.0.0.1", port), Handler)
    srv.state = control.State(today=today, page_size=page_size, verbose=verbose, gcp_auth_dir=gcp_auth_dir)
    if warm:
        threading.Thread(target=_warm, args=(srv.state.today(),), daemon=True).start()
    return srv


def _warm(today):
    """Generate every day up to `today` once (~1 s of CPU), newest first, so the
    first long-window query does not pay for it; the cache is shared and pure."""
    d = min(today, company.DATA_END)
    while d >= company.DATA_START:
        company.rows(d)
        d -= datetime.timedelta(days=1)


def _write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    ap.add_argument("--port-file", help="write the bound port here (atomically) once listening")
    ap.add_argument("--today", type=datetime.date.fromisoformat, default=None,
                    help="the emulator's current date (default: the real UTC date)")
    ap.add_argument("--page-size", type=int, default=control.DEFAULT_PAGE_SIZE,
                    help="groups (or ResultsByTime without GroupBy) per page; default %(default)s")
    ap.add_argument("--gcp-auth-dir", default=None,
                    help="directory with service_account.json and public_cert.pem, the Google service account "
                         "whose JWTs the token endpoint accepts (default: %s)" % gcp_oauth.DEFAULT_AUTH_DIR)
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = ap.parse_args(argv)
    if args.page_size < 1:
        ap.error("--page-size must be >= 1")

    srv = make_server(args.port, args.today, args.page_size, args.verbose, gcp_auth_dir=args.gcp_auth_dir)
    port = srv.server_address[1]
    if args.port_file:
        _write_port_file(args.port_file, port)
    if args.verbose:
        sys.stderr.write("finops emulator listening on 127.0.0.1:%d\n" % port)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
