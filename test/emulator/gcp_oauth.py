"""Google OAuth 2.0 for the emulator: the service-account token endpoint (JWT
bearer grant, RFC 7523, as oauth2.googleapis.com/token answers it) and the
bearer-token check every Monitoring and BigQuery request goes through.

    POST .../token  grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>   (oauth2.token)

The assertion is verified like Google does: three base64url parts without
padding, header {"alg":"RS256","typ":"JWT","kid":<private_key_id>}, an RS256
signature checked here in pure Python (RSASSA-PKCS1-v1_5, SHA-256) against the
public key of the X.509 certificate of the known service account, and the
claims iss, aud, scope, iat, exp.  The key material comes from a directory
holding `public_cert.pem` and `service_account.json` (default: the shared
fixtures, /work/shared/fixtures/gcp-auth, found relative to this file; server
option --gcp-auth-dir).  Without it every JWT grant fails with invalid_grant.

Tokens the endpoint issues live in control.State (gcp_tokens, under its lock)
with their scopes and expiry (real clock); they outlive /_emulator/reset, and
/_emulator/gcp/expire expires them all.  One static token,
`ya29.northwind-emulator-demo`, never expires and carries the cloud-platform
scope (the demo and the `access_token` user-mapping option use it).
"""

import base64
import hashlib
import json
import os
import re
import time
from urllib.parse import parse_qsl

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FORM_TYPE = "application/x-www-form-urlencoded"
CONTENT_TYPE = "application/json; charset=utf-8"
DEMO_TOKEN = "ya29.northwind-emulator-demo"
GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
CLOUD_PLATFORM_RO = "https://www.googleapis.com/auth/cloud-platform.read-only"
SCOPE_PREFIX = "https://www.googleapis.com/auth/"
DEFAULT_TTL = 3599
CLOCK_SKEW = 300            # iat may be this far from the real clock
MAX_LIFETIME = 3600         # exp - iat
DEFAULT_AUTH_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                                 "shared", "fixtures", "gcp-auth"))

# Scopes that let a token call an API (besides cloud-platform and cloud-platform.read-only).
API_SCOPES = {
    "monitoring": ("https://www.googleapis.com/auth/monitoring.read", "https://www.googleapis.com/auth/monitoring"),
    "bigquery": ("https://www.googleapis.com/auth/bigquery.readonly", "https://www.googleapis.com/auth/bigquery"),
}

MSG_BAD_SIGNATURE = "Invalid JWT Signature."
MSG_TIMEFRAME = ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                 "Check your iat and exp values in the JWT claim.")
MSG_AUDIENCE = "Invalid JWT: Failed audience check. The expected value was %s" % GOOGLE_TOKEN_AUD
MSG_SCOPE = "Invalid OAuth scope or ID token audience provided."
MSG_CLIENT = "The OAuth client was not found."

MSG_UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                       "or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")
MSG_MISSING = ("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
               "or other valid authentication credential. See "
               "https://developers.google.com/identity/sign-in/web/devconsole-project.")
MSG_SCOPES = "Request had insufficient authentication scopes."
CHALLENGE = 'Bearer realm="https://accounts.google.com/"'
CHALLENGE_INVALID = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
CHALLENGE_SCOPE = 'Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="%s"'

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_ISSUED = re.compile(r"^(ya29\.emu-\d+-)")

# DER DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1)
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
RSA_ENCRYPTION_OID = bytes.fromhex("2a864886f70d010101")   # 1.2.840.113549.1.1.1


class KeyMaterialError(Exception):
    pass


# --- minimal DER / PEM ---------------------------------------------------------------------

def pem_to_der(text, label):
    """The DER bytes of the first PEM block `label` (e.g. "CERTIFICATE") in text."""
    m = re.search(r"-----BEGIN %s-----(.*?)-----END %s-----" % (label, label), text, re.S)
    if not m:
        raise KeyMaterialError("no PEM block %s" % label)
    return base64.b64decode("".join(m.group(1).split()), validate=True)


def der_read(data, pos=0):
    """(tag, content bytes, position after the element) of the DER TLV at pos."""
    if pos + 2 > len(data):
        raise KeyMaterialError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise KeyMaterialError("bad DER length")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise KeyMaterialError("truncated DER")
    return tag, data[pos:pos + length], pos + length


def der_children(content):
    """The elements of a constructed value, as (tag, content) pairs."""
    out = []
    pos = 0
    while pos < len(content):
        tag, value, pos = der_read(content, pos)
        out.append((tag, value))
    return out


def rsa_public_key_of_cert(cert_pem):
    """(n, e) of the RSA key in an X.509 certificate (PEM)."""
    der = pem_to_der(cert_pem, "CERTIFICATE")
    tag, cert, _ = der_read(der)
    if tag != 0x30:
        raise KeyMaterialError("certificate is not a SEQUENCE")
    tag, tbs = der_children(cert)[0]
    fields = der_children(tbs)
    if fields and fields[0][0] == 0xA0:     # [0] EXPLICIT version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    tag, spki = fields[5]
    return rsa_public_key_of_spki(spki)


def rsa_public_key_of_spki(spki):
    (t1, alg), (t2, bits) = der_children(spki)[:2]
    oid = der_children(alg)[0]
    if t1 != 0x30 or t2 != 0x03 or oid != (0x06, RSA_ENCRYPTION_OID):
        raise KeyMaterialError("not an RSA SubjectPublicKeyInfo")
    if bits[0] != 0:
        raise KeyMaterialError("unused bits in the key's BIT STRING")
    tag, rsakey, _ = der_read(bits[1:])
    (tn, n), (te, e) = der_children(rsakey)[:2]
    if tn != 0x02 or te != 0x02:
        raise KeyMaterialError("RSAPublicKey is not two INTEGERs")
    return int.from_bytes(n, "big"), int.from_bytes(e, "big")


def rsa_verify_sha256(n, e, message, signature):
    """RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 8.2.2)."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return em == expected


# --- the known service accounts --------------------------------------------------------------

class ServiceAccount:
    def __init__(self, client_email, key_id, token_uri, n, e):
        self.client_email = client_email
        self.key_id = key_id
        self.token_uri = token_uri
        self.n = n
        self.e = e


def load_accounts(directory):
    """{client_email: ServiceAccount} from DIR/service_account.json + DIR/public_cert.pem; {} when absent."""
    if directory is None:
        directory = DEFAULT_AUTH_DIR
    try:
        with open(os.path.join(directory, "service_account.json"), encoding="utf-8") as f:
            info = json.load(f)
        with open(os.path.join(directory, "public_cert.pem"), encoding="ascii") as f:
            n, e = rsa_public_key_of_cert(f.read())
        acct = ServiceAccount(info["client_email"], str(info["private_key_id"]), info.get("token_uri"), n, e)
    except (OSError, ValueError, KeyError, KeyMaterialError, IndexError):
        return {}
    return {acct.client_email: acct}


# --- the token endpoint ----------------------------------------------------------------------

class Answer:
    def __init__(self, status, obj, error=None, headers=()):
        self.status = status
        self.obj = obj
        self.error = error
        self.headers = tuple(headers)


def _oauth_error(status, code, description=None):
    obj = {"error": code}
    if description is not None:
        obj["error_description"] = description
    return Answer(status, obj, error=code)


def form_of(headers, body):
    """Decoded form parameters (last value wins), {} when the body is not a form."""
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != FORM_TYPE:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def b64url_decode(part):
    """Strict base64url without padding (as JWTs are), or raise ValueError."""
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def decode_jwt(assertion):
    """(header dict, claims dict, signing input bytes, signature bytes), or raise ValueError."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise ValueError("not three parts")
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    sig = b64url_decode(parts[2])
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not JSON objects")
    return header, claims, (parts[0] + "." + parts[1]).encode("ascii"), sig


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_grant(accounts, form, now=None):
    """(ServiceAccount, scopes list) of a valid JWT grant, or an error Answer."""
    if "grant_type" not in form:
        return _oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
    if form["grant_type"] != JWT_BEARER:
        return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + form["grant_type"])
    assertion = form.get("assertion")
    if not assertion:
        return _oauth_error(400, "invalid_request", "Missing required parameter: assertion")
    try:
        header, claims, signing_input, sig = decode_jwt(assertion)
    except (ValueError, UnicodeDecodeError):
        return _oauth_error(400, "invalid_grant", MSG_BAD_SIGNATURE)
    if not accounts:
        # no key material loaded (fixture directory missing): nothing verifies
        return _oauth_error(400, "invalid_grant", MSG_BAD_SIGNATURE)
    acct = accounts.get(claims.get("iss")) if isinstance(claims.get("iss"), str) else None
    if acct is None:
        return _oauth_error(401, "invalid_client", MSG_CLIENT)
    if header.get("alg") != "RS256" or header.get("typ", "JWT") != "JWT" or header.get("kid") != acct.key_id \
            or not rsa_verify_sha256(acct.n, acct.e, signing_input, sig):
        return _oauth_error(400, "invalid_grant", MSG_BAD_SIGNATURE)
    aud = claims.get("aud")
    if aud not in (GOOGLE_TOKEN_AUD, acct.token_uri):
        return _oauth_error(400, "invalid_grant", MSG_AUDIENCE)
    now = time.time() if now is None else now
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _number(iat) or not _number(exp) or abs(iat - now) > CLOCK_SKEW or exp <= now or exp <= iat \
            or exp - iat > MAX_LIFETIME:
        return _oauth_error(400, "invalid_grant", MSG_TIMEFRAME)
    scope = claims.get("scope")
    scopes = scope.split() if isinstance(scope, str) else []
    if not scopes or not all(s.startswith(SCOPE_PREFIX) and len(s) > len(SCOPE_PREFIX) for s in scopes):
        return _oauth_error(400, "invalid_scope", MSG_SCOPE)
    return acct, scopes


def make_token(n, seed):
    """ya29.emu-<n>-<32 url-safe characters>: deterministic for (n, seed), looks random."""
    h = hashlib.sha256(("gcp-token|%d|%s" % (n, seed)).encode()).digest()
    return "ya29.emu-%d-%s" % (n, base64.urlsafe_b64encode(h).decode().rstrip("=")[:32])


def issue(state, accounts, headers, body):
    """The token endpoint's Answer."""
    r = check_grant(accounts, form_of(headers, body))
    if isinstance(r, Answer):
        return r
    acct, scopes = r
    with state.lock:
        ttl = state.config["gcp_token_ttl"]
        state.gcp_token_seq += 1
        token = make_token(state.gcp_token_seq, acct.client_email + "|" + " ".join(scopes))
        state.gcp_tokens[token] = {"expires": time.time() + ttl, "scopes": frozenset(scopes),
                                   "client_email": acct.client_email}
    return Answer(200, {"access_token": token, "expires_in": ttl, "token_type": "Bearer"},
                  headers=(("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"), ("Pragma", "no-cache")))


def redact_token(token):
    """What the request log shows of a bearer token: `ya29.emu-<n>-…` for issued ones, else a short prefix + `…`."""
    m = _ISSUED.match(token)
    if m:
        return m.group(1) + "\u2026"
    return token[:min(len(token) // 2, 10)] + "\u2026"


def redact_authorization(value):
    scheme, sep, cred = value.strip().partition(" ")
    if scheme.lower() == "bearer" and cred.strip():
        return scheme + " " + redact_token(cred.strip())
    if scheme.lower() in ("basic", "bearer"):
        return scheme + (" <redacted>" if cred.strip() else "")
    return value


def redact_assertion(assertion):
    """header.claims.<sig>: the claims stay readable, the signature never reaches the log."""
    parts = assertion.split(".")
    if len(parts) == 3:
        return parts[0] + "." + parts[1] + ".<sig>"
    return "<malformed>"


def redacted_body(body):
    """A token request's form body with the assertion's signature replaced by <sig>."""
    text = body.decode("utf-8", "replace")
    return re.sub(r"(assertion=[^.&]*\.[^.&]*\.)[^&]*", r"\1<sig>", text).encode()


def log_line(op, method, path, headers, body):
    """oauth2.token POST <path> grant_type=<..> iss=<..> aud=<..> scope=<..> (claims decoded, never the signature)."""
    form = form_of(headers, body)
    line = "%s %s %s" % (op, method, path)
    if "grant_type" in form:
        line += " grant_type=" + form["grant_type"]
    a = form.get("assertion")
    if a:
        try:
            _, claims, _, _ = decode_jwt(a)
            for k in ("iss", "aud", "scope"):
                if k in claims:
                    line += " %s=%s" % (k, claims[k])
            if _number(claims.get("iat")) and _number(claims.get("exp")):
                line += " exp-iat=%d" % (claims["exp"] - claims["iat"])
        except (ValueError, UnicodeDecodeError):
            line += " assertion=<malformed>"
    return line


# --- bearer tokens on the APIs -------------------------------------------------------------------

def authenticate(state, headers, api):
    """None when the request carries a valid bearer token whose scopes allow `api`
    ("monitoring" / "bigquery"), else (status, www-authenticate, reason, message)."""
    auth = (headers.get("Authorization") or "").strip()
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if not auth:
        return 401, CHALLENGE, "CREDENTIALS_MISSING", MSG_MISSING
    if scheme.lower() != "bearer" or not token:
        return 401, CHALLENGE_INVALID, "ACCESS_TOKEN_TYPE_UNSUPPORTED", MSG_UNAUTHENTICATED
    if token == DEMO_TOKEN:
        scopes = frozenset((CLOUD_PLATFORM,))
    else:
        with state.lock:
            info = state.gcp_tokens.get(token)
            info = None if info is None else dict(info)
        if info is None:
            return 401, CHALLENGE_INVALID, "ACCESS_TOKEN_TYPE_UNSUPPORTED", MSG_UNAUTHENTICATED
        if time.time() >= info["expires"]:
            return 401, CHALLENGE_INVALID, "ACCESS_TOKEN_EXPIRED", MSG_UNAUTHENTICATED
        scopes = info["scopes"]
    allowed = (CLOUD_PLATFORM, CLOUD_PLATFORM_RO) + API_SCOPES[api]
    if not any(s in scopes for s in allowed):
        return 403, CHALLENGE_SCOPE % " ".join(allowed), "ACCESS_TOKEN_SCOPE_INSUFFICIENT", MSG_SCOPES
    return None


# Bodies of the malformed / wrong_shape faults on the token endpoint.
MALFORMED = b'{\n  "access_token": "ya29.emu-0-malformed",\n  "expires_in": nope'
WRONG_SHAPE = {"access_token": 42, "expires_in": "soon", "token_type": "Bearer"}
