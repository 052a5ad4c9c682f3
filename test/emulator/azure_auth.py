"""Microsoft Entra ID (Azure AD) for the emulator: the client-credentials token endpoint
(POST .../{tenant}/oauth2/v2.0/token, op "azure.token") and the bearer-token checks of
the ARM routes and of the metrics data plane (getBatch).

One known app of Northwind Robotics:
    tenant    4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47   (also accepted: northwindrobotics.onmicrosoft.com)
    client id b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63
    secret    northwind~Emulator.Secret-0123456789
Scopes: https://management.azure.com/.default (ARM audience) and
https://metrics.monitor.azure.com/.default (metrics data plane audience).

Issued tokens live in control.State.azure_tokens (token -> {"expires", "aud", "tenant"}), outlive
/_emulator/reset, expire on the real clock (config azure_token_ttl) or on /_emulator/azure/expire.
The static token `azure.northwind-emulator-demo` is valid for every audience and never expires.
"""

import base64
import datetime
import hashlib
import json
import re
import time
from urllib.parse import parse_qsl

TENANT = "4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47"
TENANT_DOMAIN = "northwindrobotics.onmicrosoft.com"
TENANT_NAME = "Northwind Robotics"
CLIENT_ID = "b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63"
CLIENT_SECRET = "northwind~Emulator.Secret-0123456789"
DEMO_TOKEN = "azure.northwind-emulator-demo"
ARM = "arm"
METRICS = "metrics"
SCOPES = {"https://management.azure.com/.default": ARM, "https://metrics.monitor.azure.com/.default": METRICS}
AUDIENCE_URI = {ARM: "https://management.azure.com/", METRICS: "https://metrics.monitor.azure.com"}
DEFAULT_TTL = 3599
CONTENT_TYPE = "application/json; charset=utf-8"
FORM_TYPE = "application/x-www-form-urlencoded"
_ISSUED = re.compile(r"^(azure\.emu-\d+-(?:arm|metrics)-)")


class Answer:
    """status, body bytes, content type, extra headers, error code (for the request log)."""

    def __init__(self, status, body, ctype="application/json; charset=utf-8", headers=(), error=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.ctype = ctype
        self.headers = tuple(headers)
        self.error = error


def _guid(*parts):
    h = hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])


def aad_error(status, error, code, text, seq=0, correlation=None):
    """An Entra ID error answer: {"error","error_description","error_codes","timestamp","trace_id",
    "correlation_id","error_uri"} as login.microsoftonline.com sends it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ts = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace = _guid("aad-trace", seq, code)
    corr = correlation or _guid("aad-corr", seq)
    desc = "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
        code, text, trace, corr, now.strftime("%Y-%m-%d %H:%M:%S.") + "%03dZ" % (now.microsecond // 1000))
    obj = {"error": error, "error_description": desc, "error_codes": [code], "timestamp": ts, "trace_id": trace,
           "correlation_id": corr, "error_uri": "https://login.microsoftonline.com/error?code=%d" % code}
    return Answer(status, obj, headers=_aad_headers(trace), error=error)


def _aad_headers(trace):
    return (("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache"), ("x-ms-request-id", trace))


def form_of(headers, body):
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != FORM_TYPE:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def make_token(n, aud, seed):
    h = hashlib.sha256(("azure-token|%d|%s|%s" % (n, aud, seed)).encode()).digest()
    return "azure.emu-%d-%s-%s" % (n, aud, base64.urlsafe_b64encode(h).decode().rstrip("=")[:40])


def issue(state, tenant, method, headers, body, seq=0):
    """The token endpoint's Answer."""
    corr = headers.get("client-request-id")
    if method != "POST":
        return aad_error(405, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a %s "
                         "request." % method, seq, corr)
    if tenant.lower() not in (TENANT, TENANT_DOMAIN):
        return aad_error(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the "
                         "correct tenant ID and are signing into the correct cloud. Check with your subscription "
                         "administrator, this may happen if there are no active subscriptions for the tenant."
                         % tenant, seq, corr)
    form = form_of(headers, body)
    for p in ("grant_type", "client_id", "scope"):
        if not form.get(p):
            if p == "scope":
                return aad_error(400, "invalid_scope", 70011, "The provided request must include a 'scope' input "
                                 "parameter.", seq, corr)
            return aad_error(400, "invalid_request", 900144, "The request body must contain the following "
                             "parameter: '%s'." % p, seq, corr)
    if form["grant_type"] != "client_credentials":
        return aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'."
                         % form["grant_type"], seq, corr)
    if form["client_id"] != CLIENT_ID:
        return aad_error(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the "
                         "directory '%s'. This can happen if the application has not been installed by the "
                         "administrator of the tenant or consented to by any user in the tenant. You may have sent "
                         "your authentication request to the wrong tenant." % (form["client_id"], TENANT_NAME),
                         seq, corr)
    aud = SCOPES.get(form["scope"])
    if aud is None:
        return aad_error(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not "
                         "valid. The scope %s is not valid." % form["scope"], seq, corr)
    if not form.get("client_secret"):
        return aad_error(401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is "
                         "required for the 'client_credentials' grant type.", seq, corr)
    if form["client_secret"] != CLIENT_SECRET:
        return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                         "sent in the request is the client secret value, not the client secret ID, for a secret "
                         "added to app '%s'." % CLIENT_ID, seq, corr)
    with state.lock:
        ttl = state.config["azure_token_ttl"]
        state.azure_token_seq += 1
        token = make_token(state.azure_token_seq, aud, form["scope"])
        state.azure_tokens[token] = {"expires": time.time() + ttl, "aud": aud, "tenant": TENANT}
    return Answer(200, {"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": token},
                  headers=_aad_headers(_guid("aad-ok", seq)))


def challenge(tenant=TENANT):
    return 'Bearer authorization_uri="https://login.microsoftonline.com/%s", error="invalid_token"' % tenant


def authenticate(state, headers, audience):
    """None when the request carries a valid bearer token for `audience` (ARM / METRICS), else an
    error Answer (401, with WWW-Authenticate)."""
    auth = (headers.get("Authorization") or "").strip()
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    www = (("WWW-Authenticate", challenge()),)
    invalid = Answer(401, {"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}},
                     headers=www, error="InvalidAuthenticationToken")
    if scheme.lower() != "bearer" or not token:
        return invalid
    if token == DEMO_TOKEN:
        return None
    with state.lock:
        info = state.azure_tokens.get(token)
        info = None if info is None else dict(info)
    if info is None or time.time() >= info["expires"]:
        return invalid
    if info["aud"] != audience:
        if audience == METRICS:
            return invalid
        return Answer(401, {"error": {
            "code": "InvalidAuthenticationTokenAudience",
            "message": "The access token has been obtained for wrong audience or resource '%s'. It should exactly "
                       "match with one of the allowed audiences 'https://management.core.windows.net/',"
                       "'https://management.core.windows.net','https://management.azure.com/',"
                       "'https://management.azure.com'." % AUDIENCE_URI[info["aud"]]}},
            headers=(("WWW-Authenticate", 'Bearer authorization_uri="https://login.microsoftonline.com/%s", '
                      'error="invalid_token", error_description="The access token has been obtained for wrong '
                      'audience or resource."' % TENANT),), error="InvalidAuthenticationTokenAudience")
    return None


def redact_token(token):
    m = _ISSUED.match(token)
    if m:
        return m.group(1) + "\u2026"
    return token[:min(len(token) // 2, 10)] + "\u2026"


def redacted_body(body):
    """A token request's form body with the client secret replaced by <redacted>."""
    text = body.decode("utf-8", "replace")
    return re.sub(r"(^|&)(client_secret|client_assertion)=[^&]*", r"\1\2=<redacted>", text).encode()


def log_line(op, method, path, tenant, headers, body):
    """azure.token POST <path> tenant=<t> grant_type=.. client_id=.. scope=.. client_secret=<redacted>"""
    form = form_of(headers, body)
    line = "%s %s %s tenant=%s" % (op, method, path, tenant)
    for k in ("grant_type", "client_id", "scope"):
        if k in form:
            line += " %s=%s" % (k, form[k])
    if "client_secret" in form:
        line += " client_secret=<redacted>"
    return line


def expire_all(state):
    now = time.time()
    with state.lock:
        for info in state.azure_tokens.values():
            info["expires"] = min(info["expires"], now)
