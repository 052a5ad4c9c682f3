#!/usr/bin/python3
"""Local cloud emulator for finops_usage tests.

    python3 test/emulator/server.py --port 0 --port-file FILE [--today YYYY-MM-DD] [--page-size N] [--verbose]

Binds 127.0.0.1 only.  API requests (any path outside /_emulator/ and /_test/)
are dispatched on X-Amz-Target -- GraniteServiceVersion20100801.* is CloudWatch
(AWS JSON 1.0, query-compatible) -- else on the SigV4 credential scope's service
-- `sts` is STS (Query protocol, XML) -- everything else is Cost Explorer (AWS
JSON 1.1); all must carry a valid SigV4 signature.  /_test/ is the engine test
service (bearer tokens, see engine_test.py); the control API under /_emulator/
is open.  See README.md.

HTTP/1.1 with keep-alive; every response carries Content-Length.  Each
connection gets its own thread, so a slow or sleeping request never blocks
another one.
"""

import argparse
import datetime
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aws_ce  # noqa: E402
import aws_cw  # noqa: E402
import aws_sts  # noqa: E402
import company  # noqa: E402
import control  # noqa: E402
import engine_test  # noqa: E402
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
        status, payload, _ = self._run(op, body, ctx)
        return self._cut_or_truncate(entry, kind, status, payload)

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


def make_server(port=0, today=None, page_size=control.DEFAULT_PAGE_SIZE, verbose=False, warm=True):
    srv = Server(("127.0.0.1", port), Handler)
    srv.state = control.State(today=today, page_size=page_size, verbose=verbose)
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
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = ap.parse_args(argv)
    if args.page_size < 1:
        ap.error("--page-size must be >= 1")

    srv = make_server(args.port, args.today, args.page_size, args.verbose)
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
