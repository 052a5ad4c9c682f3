"""Engine test service: a provider-neutral JSON API under /_test/ for testing the
C engine's generic machinery (OAuth client-credentials tokens, bearer auth and
its refresh, the paging styles real APIs use, async jobs) without a cloud's
semantics in the way.  See README.md "Engine test service".

    POST /_test/token                       client credentials -> bearer token   (TestToken)
    GET  /_test/items?total=T&size=P[&pageToken=K]   query-token paging          (TestItems)
    POST /_test/items {"total","size"[,"pageToken"]} body-token paging           (TestItems)
    GET  /_test/items?total=T&size=P&link=same|host|port|scheme[&page=N]  next links
    POST /_test/jobs {"total","size","polls"}; GET /_test/jobs/<id>[?pageToken=K]  (TestJobs)

State (tokens, jobs, their counters) lives in control.State under its lock;
/_emulator/reset forgets the jobs, not the tokens (they expire, or
/_emulator/test/expire expires them).  Tokens expire in real time.  Everything
else is a pure function of the request and those counters.
"""

import base64
import hashlib
import json
import re
import time
from urllib.parse import parse_qsl

CONTENT_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
MAX_TOTAL = 1000000
MAX_SIZE = 100000
MAX_POLLS = 1000000
LINK_KINDS = ("same", "host", "port", "scheme")
EXPIRED_CHALLENGE = 'Bearer error="invalid_token", error_description="The access token expired"'
INVALID_CHALLENGE = 'Bearer error="invalid_token", error_description="The access token is invalid"'
_TOKEN_PREFIX = b"\xfb\xff"          # base64 "+/": every page token needs percent-encoding in a URL
_DIGITS = re.compile(r"[0-9]+")
_JOB_PATH = re.compile(r"^/_test/jobs/([^/]+)$")


class Answer:
    def __init__(self, status, obj=None, body=None, headers=(), error=None):
        self.status = status
        self.body = body if body is not None else dumps(obj)
        self.headers = tuple(headers)
        self.error = error          # error code for the request log (" [error=...]")


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _error(status, code, message=None, headers=()):
    obj = {"error": code}
    if message is not None:
        obj["message"] = message
    return Answer(status, obj, headers=headers, error=code)


def _bad(message):
    return _error(400, "invalid_argument", message)


class _Reject(Exception):
    def __init__(self, answer):
        super().__init__(answer.error)
        self.answer = answer


# --- classification (log line, operation, fault target) -------------------------------------

def operation(method, path):
    if path == "/_test/token":
        return "TestToken"
    if path == "/_test/items":
        return "TestItems"
    if path == "/_test/jobs" or _JOB_PATH.match(path):
        return "TestJobs"
    return "Test"


def canonical_json(body):
    text = body.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except ValueError:
        return json.dumps(text, ensure_ascii=False)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _form(headers, body):
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != FORM_TYPE:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _basic_client(headers):
    """(client_id, client_secret) from `Authorization: Basic` (RFC 6749 2.3.1), else None."""
    auth = (headers.get("Authorization") or "").strip()
    scheme, _, cred = auth.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(cred.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    cid, sep, secret = raw.partition(":")
    return (cid, secret) if sep else None


def describe(method, path, query, headers, body):
    """(operation, request-log line) of a /_test/ request."""
    op = operation(method, path)
    if op == "TestToken":
        form = _form(headers, body)
        basic = _basic_client(headers)
        cid = form.get("client_id") or (basic[0] if basic else None) or "-"
        line = "TestToken " + cid
        if "scope" in form:
            line += " scope=" + form["scope"]
        return op, line
    line = "%s %s %s" % (op, method, path + ("?" + query if query else ""))
    if method == "POST" and op != "Test":
        line += " " + canonical_json(body)
    return op, line


# --- tokens -------------------------------------------------------------------------------

def issue_token(state, headers, body):
    form = _form(headers, body)
    if form.get("grant_type") != "client_credentials":
        return _error(400, "unsupported_grant_type")
    basic = _basic_client(headers)
    cid, secret = form.get("client_id"), form.get("client_secret")
    if cid is None and basic is not None:
        cid, secret = basic
    if cid != CLIENT_ID or secret != CLIENT_SECRET:
        return Answer(401, {"error": "invalid_client", "error_description": "Client authentication failed."},
                      error="invalid_client")
    with state.lock:
        ttl = state.config["test_token_ttl"]
        state.test_token_seq += 1
        token = "test-token-%d" % state.test_token_seq
        state.test_tokens[token] = time.time() + ttl
    return Answer(200, {"token_type": "Bearer", "expires_in": ttl, "access_token": token},
                  headers=(("Cache-Control", "no-store"), ("Pragma", "no-cache")))


def authenticate(state, headers):
    """None when the request carries a valid bearer token, else the 401 Answer."""
    auth = (headers.get("Authorization") or "").strip()
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _error(401, "unauthenticated", headers=(("WWW-Authenticate", "Bearer"),))
    with state.lock:
        expires = state.test_tokens.get(token)
    if expires is None:
        return _error(401, "invalid_token", headers=(("WWW-Authenticate", INVALID_CHALLENGE),))
    if time.time() >= expires:
        return _error(401, "token_expired", headers=(("WWW-Authenticate", EXPIRED_CHALLENGE),))
    return None


# --- items ----------------------------------------------------------------------------------

def _int(value, name, lo, hi, json_value=False):
    """An integer in [lo, hi]: a JSON number (json_value) or a string of digits (query), else reject."""
    if isinstance(value, str) and not json_value:
        ok = _DIGITS.fullmatch(value) is not None
        value = int(value) if ok else None
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or not lo <= value <= hi:
        raise _Reject(_bad("%s must be an integer from %d to %d" % (name, lo, hi)))
    return value


def _page(total, size, offset):
    stop = min(offset + size, total)
    return "[" + ",".join('{"n":%d}' % n for n in range(offset + 1, stop + 1)) + "]", stop


def _hash(*parts):
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:16]


def make_token(kind, h, offset):
    raw = _TOKEN_PREFIX + json.dumps({"k": kind, "h": h, "o": offset}, separators=(",", ":")).encode()
    if len(raw) % 3 == 0:
        raw += b" "                 # always some '=' padding too
    return base64.b64encode(raw).decode()


def read_token(token):
    """(kind, hash, offset) of a page token, or None when it is not one of ours."""
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
        if not raw.startswith(_TOKEN_PREFIX):
            return None
        obj = json.loads(raw[len(_TOKEN_PREFIX):])
        k, h, o = obj["k"], obj["h"], obj["o"]
    except (ValueError, KeyError, TypeError, UnicodeError):
        return None
    if not isinstance(o, int) or isinstance(o, bool) or not isinstance(k, str) or not isinstance(h, str):
        return None
    return k, h, o


def _items_answer(total, size, offset, kind, h, prefix=""):
    items, stop = _page(total, size, offset)
    body = '{%s"items":%s' % (prefix, items)
    if stop < total:
        body += ',"nextPageToken":%s' % json.dumps(make_token(kind, h, stop))
    return Answer(200, body=(body + "}").encode())


def _offset(token, kind, h, total, mismatch="invalid_page_token"):
    """The offset a page token designates for this request, or raise."""
    t = read_token(token)
    if t is None or t[0] != kind or not 0 < t[2] < total:
        raise _Reject(_error(400, "invalid_page_token"))
    if t[1] != h:
        raise _Reject(_error(400, mismatch))
    return t[2]


def _query(query):
    params = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        if k in params:
            raise _Reject(_bad("parameter %s given twice" % k))
        params[k] = v
    return params


def items_get(query, host):
    q = _query(query)
    unknown = sorted(set(q) - {"total", "size", "pageToken", "link", "page"})
    if unknown:
        raise _Reject(_bad("unknown parameter %s" % unknown[0]))
    total = _int(q.get("total"), "total", 0, MAX_TOTAL)
    size = _int(q.get("size"), "size", 1, MAX_SIZE)
    if "link" not in q:
        if "page" in q:
            raise _Reject(_bad("page is only valid with link"))
        h = _hash("q", total, size)
        offset = _offset(q["pageToken"], "q", h, total) if "pageToken" in q else 0
        return _items_answer(total, size, offset, "q", h)
    link = q["link"]
    if link not in LINK_KINDS:
        raise _Reject(_bad("link must be one of %s" % ", ".join(LINK_KINDS)))
    if "pageToken" in q:
        raise _Reject(_bad("pageToken cannot be combined with link"))
    pages = max(1, -(-total // size))
    page = _int(q.get("page", "1"), "page", 1, pages)
    items, stop = _page(total, size, (page - 1) * size)
    body = '{"items":%s' % items
    if page < pages:
        hostname, hport, verbatim = host
        authority = {"same": verbatim or "%s:%d" % (hostname, hport), "host": "localhost:%d" % hport,
                     "port": "%s:%d" % (hostname, hport + 1), "scheme": "%s:%d" % (hostname, hport)}[link]
        scheme = "https" if link == "scheme" else "http"
        url = "%s://%s/_test/items?total=%d&size=%d&link=%s&page=%d" % (scheme, authority, total, size, link,
                                                                       page + 1)
        body += ',"nextLink":%s' % json.dumps(url)
    return Answer(200, body=(body + "}").encode())


def parse_host(header, server_port):
    """(hostname, port, the header as received or None) of a Host header."""
    h = (header or "").strip()
    if not h:
        return ("127.0.0.1", server_port, None)
    m = re.match(r"^(\[[^\]]*\]|[^:]*)(?::(\d+))?$", h)
    if not m:
        return ("127.0.0.1", server_port, None)
    return (m.group(1), int(m.group(2)) if m.group(2) else server_port, h)


def _json_object(headers, body, allowed, required):
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != CONTENT_TYPE:
        raise _Reject(_error(415, "unsupported_media_type", "Content-Type must be application/json"))
    try:
        obj = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise _Reject(_bad("body is not valid JSON"))
    if not isinstance(obj, dict):
        raise _Reject(_bad("body must be a JSON object"))
    for k in sorted(obj):
        if k not in allowed:
            raise _Reject(_bad("unknown member %s" % k))
    for k in required:
        if k not in obj:
            raise _Reject(_bad("%s is required" % k))
    return obj


def items_post(headers, body):
    obj = _json_object(headers, body, ("total", "size", "pageToken"), ("total", "size"))
    total = _int(obj["total"], "total", 0, MAX_TOTAL, True)
    size = _int(obj["size"], "size", 1, MAX_SIZE, True)
    h = _hash("b", json.dumps({k: v for k, v in obj.items() if k != "pageToken"}, sort_keys=True))
    offset = 0
    if "pageToken" in obj:
        if not isinstance(obj["pageToken"], str):
            raise _Reject(_error(400, "invalid_page_token"))
        offset = _offset(obj["pageToken"], "b", h, total, mismatch="request_changed")
    return _items_answer(total, size, offset, "b", h)


# --- jobs -------------------------------------------------------------------------------------

def jobs_post(state, headers, body):
    obj = _json_object(headers, body, ("total", "size", "polls"), ("total", "size"))
    total = _int(obj["total"], "total", 0, MAX_TOTAL, True)
    size = _int(obj["size"], "size", 1, MAX_SIZE, True)
    polls = _int(obj.get("polls", 0), "polls", -1, MAX_POLLS, True)
    with state.lock:
        state.test_job_seq += 1
        job_id = "job-%d" % state.test_job_seq
        state.test_jobs[job_id] = {"total": total, "size": size, "polls": polls, "gets": 0}
    if polls == 0:
        return _job_page(job_id, total, size, 0)
    return Answer(200, {"jobId": job_id, "complete": False})


def _job_page(job_id, total, size, offset):
    prefix = '"jobId":%s,"complete":true,' % json.dumps(job_id)
    return _items_answer(total, size, offset, "j", _hash("j", job_id, total, size), prefix)


def jobs_get(state, job_id, query):
    q = _query(query)
    unknown = sorted(set(q) - {"pageToken"})
    if unknown:
        raise _Reject(_bad("unknown parameter %s" % unknown[0]))
    with state.lock:
        job = state.test_jobs.get(job_id)
        if job is not None:
            job["gets"] += 1
            job = dict(job)
    if job is None:
        return _error(404, "not_found")
    complete = job["polls"] >= 0 and job["gets"] >= job["polls"]
    if not complete:
        if "pageToken" in q:
            raise _Reject(_error(400, "invalid_page_token"))
        return Answer(200, {"jobId": job_id, "complete": False})
    h = _hash("j", job_id, job["total"], job["size"])
    offset = _offset(q["pageToken"], "j", h, job["total"]) if "pageToken" in q else 0
    return _job_page(job_id, job["total"], job["size"], offset)


# --- dispatch ---------------------------------------------------------------------------------

def _method_not_allowed(allowed):
    return _error(405, "method_not_allowed", headers=(("Allow", allowed),))


def handle(state, method, path, query, headers, body, server_port):
    """The Answer to an authenticated (or token) request."""
    try:
        if path == "/_test/token":
            if method != "POST":
                return _method_not_allowed("POST")
            return issue_token(state, headers, body)
        if path == "/_test/items":
            if method == "GET":
                return items_get(query, parse_host(headers.get("Host"), server_port))
            if method == "POST":
                return items_post(headers, body)
            return _method_not_allowed("GET, POST")
        if path == "/_test/jobs":
            if method != "POST":
                return _method_not_allowed("POST")
            return jobs_post(state, headers, body)
        m = _JOB_PATH.match(path)
        if m:
            if method != "GET":
                return _method_not_allowed("GET")
            return jobs_get(state, m.group(1), query)
        return _error(404, "not_found")
    except _Reject as r:
        return r.answer


# Bodies for the `malformed` / `wrong_shape` faults.
MALFORMED = {"TestToken": b'{"token_type": "Bearer", "access_token": nope',
             "TestItems": b'{"items": [ {"n": nope',
             "TestJobs": b'{"jobId": "job-1", "complete": nope',
             "Test": b'{"error": nope'}
WRONG_SHAPES = {"TestToken": {"token_type": "Bearer", "expires_in": "soon", "access_token": 42},
                "TestItems": {"items": 42},
                "TestJobs": {"jobId": 42, "complete": "yes"},
                "Test": {"error": 42}}
