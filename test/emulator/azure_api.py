"""Azure for the emulator: routing, request-log lines, bearer checks, the ARM resource listing,
and the answers of faults.  server.py calls route() after the Google routes and before the AWS
dispatch, then authenticate(), State.take_fault(), run() / fault_answer().

The client's `endpoint` option replaces every Azure host (login.microsoftonline.com,
management.azure.com, <region>.metrics.monitor.azure.com) with one base URL, maybe with a path
prefix, so requests are recognised by the end of their (URL-decoded) path:

    POST .../{tenant}/oauth2/v2.0/token                                   azure.token          (service aad)
    POST .../{scope}/providers/Microsoft.CostManagement/query             costmanagement.query (costmanagement)
    GET  .../{resourceId}/providers/Microsoft.Insights/metrics            monitor.metrics      (monitor)
    POST .../subscriptions/{s}/metrics:getBatch                           monitor.getBatch     (monitor)
    GET  .../subscriptions/{s}[/resourceGroups/{rg}]/resources            arm.resources.list   (arm)
"""

import hashlib
import json
import re
from urllib.parse import parse_qsl, unquote

import azure_auth as A
import azure_cost
import azure_monitor
import azure_resources as R

_TOKEN = re.compile(r"(?:^|/)([^/]+)/oauth2/v2\.0/token/?$", re.I)
_COST = re.compile(r"^(.*?)/?providers/Microsoft\.CostManagement/query/?$", re.I)
_METRICS = re.compile(r"^(.*?)/providers/Microsoft\.Insights/metrics/?$", re.I)
_BATCH = re.compile(r"(?:^|/)subscriptions/([^/]+)/metrics:getBatch/?$", re.I)
_RESOURCES = re.compile(r"(?:^|/)subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?/resources/?$", re.I)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
RESOURCES_API_VERSIONS = ("2021-04-01", "2022-09-01", "2020-06-01", "2019-10-01")
DEFAULT_RESOURCES_PAGE_SIZE = 100
ARM_JSON = "application/json; charset=utf-8"


class Route:
    def __init__(self, service, op, **kw):
        self.service = service
        self.op = op
        self.tenant = kw.get("tenant")
        self.scope_path = kw.get("scope_path")       # cost: the text before /providers/Microsoft.CostManagement
        self.resource_path = kw.get("resource_path")  # metrics: the text before /providers/Microsoft.Insights
        self.sub = kw.get("sub")
        self.rg = kw.get("rg")
        self.method_ok = kw.get("method_ok", True)


def route(method, raw_path):
    """The Route of an Azure request, or None."""
    path = unquote(raw_path)
    m = _TOKEN.search(path)
    if m:
        return Route("aad", "azure.token", tenant=m.group(1))
    m = _COST.match(path)
    if m:
        return Route("costmanagement", "costmanagement.query", scope_path=m.group(1), method_ok=method == "POST")
    m = _METRICS.match(path)
    if m:
        return Route("monitor", "monitor.metrics", resource_path=m.group(1), method_ok=method == "GET")
    m = _BATCH.search(path)
    if m:
        return Route("monitor", "monitor.getBatch", sub=m.group(1), method_ok=method == "POST")
    m = _RESOURCES.search(path)
    if m:
        return Route("arm", "arm.resources.list", sub=m.group(1), rg=m.group(2), method_ok=method == "GET")
    return None


def _params(query):
    return parse_qsl(query, keep_blank_values=True)


def log_line(rt, method, raw_path, query, headers, body):
    """The request-log text line (see README "Azure")."""
    if rt.op == "azure.token":
        return A.log_line(rt.op, method, raw_path, rt.tenant, headers, body)
    parts = [rt.op, method, raw_path]
    if rt.op == "monitor.getBatch":
        n, region = azure_monitor.batch_region(body)
        parts += ["ids=%d" % n, "region=%s" % region]
    for k, v in sorted(_params(query), key=lambda kv: kv[0]):
        parts.append("%s=%s" % (k, "<token>" if k.lower() == "$skiptoken" else v))
    if rt.op == "costmanagement.query":
        try:
            parts.append(json.dumps(json.loads(body.decode("utf-8")), sort_keys=True, separators=(",", ":"),
                                    ensure_ascii=False))
        except (ValueError, UnicodeDecodeError):
            parts.append(json.dumps(body.decode("utf-8", "replace")))
    return " ".join(parts)


def region_of(rt, body):
    if rt.op == "monitor.getBatch":
        n, region = azure_monitor.batch_region(body)
        return None if region in ("-", "?", "mixed") else region
    return None


def authenticate(state, rt, headers):
    if rt.op == "azure.token":
        return None
    return A.authenticate(state, headers, A.METRICS if rt.op == "monitor.getBatch" else A.ARM)


def arm_error(status, code, message, headers=()):
    return A.Answer(status, {"error": {"code": code, "message": message}}, ctype=ARM_JSON, headers=headers,
                    error=code)


def _api_version(params, versions):
    v = params.get("api-version")
    if v is None:
        return arm_error(400, "MissingApiVersionParameter",
                         "The api-version query parameter (?api-version=) is required for all requests.")
    if v not in versions:
        return arm_error(400, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions "
                         "are '%s'." % (v, ",".join(versions)))
    return None


def _subscription(sub):
    """(canonical subscription id, None) or (None, error Answer)."""
    if not _GUID.match(sub):
        return None, arm_error(400, "InvalidSubscriptionId", "The provided subscription identifier '%s' is malformed "
                               "or invalid." % sub)
    for s in R.SUBSCRIPTIONS:
        if s == sub.lower():
            return s, None
    return None, arm_error(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % sub)


def _resource_group(sub, rg):
    for g in R.RESOURCE_GROUPS[sub]:
        if g.lower() == rg.lower():
            return g, None
    return None, arm_error(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % rg)


def _url_without_token(host, path_and_query):
    """The URL as received, minus any $skiptoken parameter (for nextLink)."""
    path, _, query = path_and_query.partition("?")
    kept = [p for p in query.split("&") if p and not re.match(r"^(\$|%24)skiptoken=", p, re.I)]
    return "http://%s%s%s" % (host or "127.0.0.1", path, ("?" + "&".join(kept)) if kept else "")


def _skiptoken(params):
    for k, v in params:
        if k.lower() == "$skiptoken":
            return v
    return None


def run(state, rt, method, raw_path, query, headers, body, host, path_and_query, seq):
    """The real answer (an azure_auth.Answer) of an authenticated request."""
    if rt.op == "azure.token":
        return A.issue(state, rt.tenant, method, headers, body, seq)
    if not rt.method_ok:
        return arm_error(405, "HttpMethodNotAllowed", "The requested resource does not support http method '%s'."
                         % method)
    plist = _params(query)
    params = dict(plist)
    if rt.op == "costmanagement.query":
        return _cost(state, rt, params, plist, body, host, path_and_query)
    if rt.op == "monitor.metrics":
        return _metrics(state, rt, params)
    if rt.op == "monitor.getBatch":
        return _batch(state, rt, params, body)
    return _resources(state, rt, params, plist, host, path_and_query)


def _cost(state, rt, params, plist, body, host, path_and_query):
    err = _api_version(params, azure_cost.API_VERSIONS)
    if err:
        return err
    m = re.search(r"(?:^|/)subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?$", rt.scope_path, re.I)
    if not m:
        return arm_error(400, "BadRequest", "The scope '%s' is not supported by this emulator: use "
                         "subscriptions/{subscriptionId} or subscriptions/{subscriptionId}/resourceGroups/{name}."
                         % rt.scope_path.strip("/"))
    sub, err = _subscription(m.group(1))
    if err:
        return err
    scope = "subscriptions/" + sub
    if m.group(2) is not None:
        rg, err = _resource_group(sub, m.group(2))
        if err:
            return err
        scope += "/resourceGroups/" + rg
    try:
        status, payload = azure_cost.handle(scope, body, state.today(), state.config["azure_page_size"],
                                            _skiptoken(plist), _url_without_token(host, path_and_query))
    except azure_cost.CostError as e:
        return arm_error(e.status, e.code, e.message)
    return A.Answer(status, payload, ctype=ARM_JSON, headers=(
        ("x-ms-ratelimit-microsoft.costmanagement-qpu-consumed", "1"),
        ("x-ms-ratelimit-microsoft.costmanagement-qpu-remaining", "QueryResource=11,Tenant=199")))


def _metrics(state, rt, params):
    err = _api_version(params, azure_monitor.API_VERSIONS)
    if err:
        return err
    m = re.search(r"(?:^|/)(subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/(.+))$", rt.resource_path, re.I)
    if not m:
        return arm_error(400, "InvalidResourceId", "The resource id '%s' is not a valid Azure resource id."
                         % rt.resource_path)
    sub, err = _subscription(m.group(2))
    if err:
        return err
    _, err = _resource_group(sub, m.group(3))
    if err:
        return err
    r = R.find("/" + m.group(1))
    if r is None:
        tail = m.group(4).split("/")
        return arm_error(404, "ResourceNotFound", "The Resource '%s' under resource group '%s' was not found. For "
                         "more details please go to https://aka.ms/ARMResourceNotFoundFix"
                         % ("/".join(tail), m.group(3)))
    try:
        obj = azure_monitor.single(r, params, state.now())
    except azure_monitor.MonitorError as e:
        return arm_error(e.status, e.code, e.message)
    return A.Answer(200, obj, ctype=ARM_JSON)


def _batch(state, rt, params, body):
    err = _api_version(params, azure_monitor.API_VERSIONS)
    if err:
        return err
    sub, err = _subscription(rt.sub)
    if err:
        return err
    try:
        obj, _ = azure_monitor.batch(sub, params, body, state.now())
    except azure_monitor.MonitorError as e:
        return arm_error(e.status, e.code, e.message)
    return A.Answer(200, obj, ctype=ARM_JSON)


_FILTER_TERM = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.I)
_FILTER_KEYS = {"resourcetype": "type", "location": "location", "resourcegroup": "rg", "name": "name",
                "tagname": "tagname", "tagvalue": "tagvalue"}


def _resources(state, rt, params, plist, host, path_and_query):
    err = _api_version(params, RESOURCES_API_VERSIONS)
    if err:
        return err
    sub, err = _subscription(rt.sub)
    if err:
        return err
    rg = None
    if rt.rg is not None:
        rg, err = _resource_group(sub, rt.rg)
        if err:
            return err
    conds = {}
    flt = params.get("$filter")
    if flt is not None and flt.strip():
        for term in re.split(r"\s+and\s+", flt.strip(), flags=re.I):
            m = _FILTER_TERM.match(term)
            key = _FILTER_KEYS.get(m.group(1).lower()) if m else None
            if key is None or key in conds:
                return arm_error(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query "
                                 "string." % flt)
            conds[key] = m.group(2).lower()
    if "tagvalue" in conds and "tagname" not in conds:
        return arm_error(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string."
                         % flt)
    items = []
    for r in R.resources_of(sub, rg):
        if "type" in conds and r.type.lower() != conds["type"]:
            continue
        if "location" in conds and r.location != conds["location"]:
            continue
        if "rg" in conds and r.rg.lower() != conds["rg"]:
            continue
        if "name" in conds and r.name.lower() != conds["name"]:
            continue
        if "tagname" in conds:
            tags = {k.lower(): v.lower() for k, v in r.tags.items()}
            if conds["tagname"] not in tags or ("tagvalue" in conds and tags[conds["tagname"]] != conds["tagvalue"]):
                continue
        item = {"id": r.id, "name": r.name, "type": r.type, "location": r.location}
        if r.tags:
            item["tags"] = dict(r.tags)
        items.append(item)
    size = state.config["azure_resources_page_size"]
    top = params.get("$top")
    if top is not None:
        if not top.isdigit() or int(top) < 1:
            return arm_error(400, "InvalidTopInQueryString", "Invalid $top '%s' specified in the query string." % top)
        size = min(size, int(top))
    h = hashlib.sha256(("%s|%s|%s" % (sub, rg, sorted(conds.items()))).encode()).hexdigest()[:10]
    offset = 0
    tok = _skiptoken(plist)
    if tok is not None:
        offset = azure_cost.read_skiptoken(tok, h)
        if offset is None:
            return arm_error(400, "InvalidSkipToken", "The provided skip token '%s' is invalid." % tok)
    page = items[offset:offset + size]
    obj = {"value": page}
    if offset + size < len(items):
        url = _url_without_token(host, path_and_query)
        obj["nextLink"] = url + ("&" if "?" in url else "?") + "$skiptoken=" + azure_cost.make_skiptoken(
            offset + size, h)
    return A.Answer(200, obj, ctype=ARM_JSON)


# --- faults --------------------------------------------------------------------------------------

MALFORMED = {"azure.token": b'{"token_type":"Bearer","expires_in":3599,"access_token":"azure.emu-0-arm-nope',
             "costmanagement.query": b'{"properties":{"nextLink":null,"columns":[{"name":"Cost","type":"Number"}],'
                                     b'"rows":[[1.5,nope',
             "monitor.metrics": b'{"cost":0,"timespan":"x","value":[{"id":nope',
             "monitor.getBatch": b'{"values":[{"starttime":nope',
             "arm.resources.list": b'{"value":[{"id":nope'}
WRONG_SHAPES = {"azure.token": {"token_type": "Bearer", "expires_in": "soon", "access_token": 42},
                "costmanagement.query": {"properties": {"nextLink": None, "columns": 42, "rows": "none"}},
                "monitor.metrics": {"cost": 0, "value": 42},
                "monitor.getBatch": {"values": 42},
                "arm.resources.list": {"value": 42}}
COST_RETRY_HEADERS = ("qpu", "entity", "tenant", "client")


def _retry(p, default=1):
    v = p.get("retry_after", default)
    return str(v)


def fault_answer(kind, p, rt, seq):
    """The Answer of a throttle / error / http500 / http503 / malformed / wrong_shape / nocontent fault."""
    op = rt.op
    status = p.get("status")
    status = int(status) if isinstance(status, int) and not isinstance(status, bool) else None
    if kind in ("malformed", "wrong_shape"):
        if kind == "malformed" and "body_hex" in p:
            body = bytes.fromhex(p["body_hex"])
        elif "body" in p:
            b = p["body"]
            body = b.encode() if isinstance(b, str) else json.dumps(b).encode()
        else:
            body = MALFORMED[op] if kind == "malformed" else json.dumps(WRONG_SHAPES[op]).encode()
        return A.Answer(status or 200, body, ctype=ARM_JSON)
    if kind == "nocontent":
        return A.Answer(204, b"", ctype=ARM_JSON)
    if op == "azure.token":
        code, error, aadsts, text = {
            "throttle": (429, "temporarily_unavailable", 50196, "The server terminated an operation because it "
                         "encountered a client request loop. Please contact your app vendor."),
            "error": (401, "invalid_client", 7000222, "The provided client secret keys for app '%s' are expired. "
                      "Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or "
                      "consider using certificate credentials for added security: https://aka.ms/certCreds."
                      % A.CLIENT_ID),
            "http500": (500, "server_error", 50000, "There was an error issuing a token or an issue with our sign-in "
                        "service."),
            "http503": (503, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
        }[kind]
        ans = A.aad_error(status or code, p.get("code", error), aadsts, p.get("message", text), seq)
        if kind in ("throttle", "http503"):
            ans.headers += (("Retry-After", _retry(p)),)
        return ans
    extra = ()
    if kind == "throttle":
        if op == "costmanagement.query":
            ra = p.get("retry_after")
            if isinstance(ra, dict):
                vals = [(k, ra[k]) for k in COST_RETRY_HEADERS if k in ra]
            else:
                vals = [(k, 1 if ra is None else ra) for k in COST_RETRY_HEADERS]
            extra = tuple(("x-ms-ratelimit-microsoft.costmanagement-%s-retry-after" % k, str(v)) for k, v in vals)
            extra += (("x-ms-ratelimit-microsoft.costmanagement-qpu-consumed", "0"),
                      ("x-ms-ratelimit-microsoft.costmanagement-qpu-remaining", "QueryResource=0,Tenant=0"))
            if "retry_after_header" in p:
                extra += (("Retry-After", str(p["retry_after_header"])),)
            return arm_error(status or 429, p.get("code", "429"), p.get("message", "Too many requests. Please retry."),
                             headers=extra)
        extra = (("Retry-After", _retry(p)),)
        if op == "arm.resources.list":
            extra += (("x-ms-ratelimit-remaining-subscription-reads", "0"),)
        return arm_error(status or 429, p.get("code", "TooManyRequests"), p.get(
            "message", "The request is being throttled as the limit has been reached for operation type - Read. "
                       "For more information, see - https://aka.ms/armthrottling"), headers=extra)
    if kind == "error":
        action = {"costmanagement.query": "Microsoft.CostManagement/query/action",
                  "monitor.metrics": "Microsoft.Insights/metrics/read",
                  "monitor.getBatch": "Microsoft.Insights/metrics/read",
                  "arm.resources.list": "Microsoft.Resources/subscriptions/resources/read"}[op]
        return arm_error(status or 403, p.get("code", "AuthorizationFailed"), p.get(
            "message", "The client '%s' with object id '%s' does not have authorization to perform action '%s' over "
                       "scope '/subscriptions/%s' or the scope is invalid. If access was recently granted, please "
                       "refresh your credentials." % (A.CLIENT_ID, "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", action,
                                                      R.PROD)))
    if kind == "http500":
        return arm_error(status or 500, p.get("code", "InternalServerError"), p.get(
            "message", "Encountered internal server error. Diagnostic information: tracking id '%s'."
                       % A._guid("arm-500", seq)))
    # http503
    return arm_error(status or 503, p.get("code", "ServiceUnavailable"), p.get(
        "message", "The service is temporarily unavailable. Please retry."), headers=(("Retry-After", _retry(p)),))
