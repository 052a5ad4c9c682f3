"""AWS Signature Version 4 verification (header-based, non-S3 rules).

The canonical request is rebuilt from the request exactly as it arrived: the
method, the raw path (normalised, then URI-encoded once more, as AWS does for
every service but S3), the raw query string, the signed headers' values as
received, and the SHA-256 of the body bytes.  A client that signs anything
other than what it sends therefore fails here just as it would against AWS.

Errors are raised as AuthError(status, code, message); server.py renders them
as AWS JSON 1.1 error bodies.
"""

import datetime
import hashlib
import hmac
import re
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = datetime.timedelta(minutes=5)

# The credentials the emulator accepts (documented in README.md).
CREDENTIALS = {
    "AKIAFINOPSEMULATOR01": {"secret": "emulator/Secret/Key/For/Tests+0123456789", "token": None},
    "ASIAFINOPSEMULATOR02": {"secret": "emulator/Temp/Secret/Key+9876543210", "token": "emulator-session-token"},
}
EXPIRED_TOKEN = "emulator-expired-token"  # lets tests exercise ExpiredTokenException

SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                      "for details.")
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_MESSAGE = "The security token included in the request is expired"

# HTTP status per error.  AWS's Coral JSON services are not uniform here; these
# follow the project's brief (see README "faithful vs simplified").
STATUS_MISSING_AUTH = 400
STATUS_UNRECOGNIZED_CLIENT = 400
STATUS_INCOMPLETE = 400
STATUS_INVALID_SIGNATURE = 403
STATUS_BAD_TOKEN = 403


class AuthError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _invalid(message):
    return AuthError(STATUS_INVALID_SIGNATURE, "InvalidSignatureException", message)


def _remove_dot_segments(path):
    # Same normalisation as botocore: drop empty and "." segments, resolve "..",
    # keep the leading and trailing slash.
    out = []
    for seg in path.split("/"):
        if seg and seg != ".":
            if seg == "..":
                if out:
                    out.pop()
            else:
                out.append(seg)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def canonical_uri(raw_path):
    """Canonical URI of a non-S3 request from the path as sent on the wire.

    The wire path is already percent-encoded once; encoding it again is the
    "double encoding" the SigV4 suite expects (/%E1%88%B4 -> /%25E1%2588%25B4).
    """
    path = _remove_dot_segments(raw_path) if raw_path else "/"
    return quote(path or "/", safe="/~")


def canonical_query(raw_query):
    pairs = []
    for part in raw_query.split("&") if raw_query else ():
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs)


_WS = re.compile(r"\s+")


def canonical_headers(headers, signed):
    """`headers` is the received (name, value) list, duplicates and order kept.

    The lines are emitted in the sorted order of the names, whatever the order
    of the client's SignedHeaders list: AWS builds the canonical request that
    way, so a client that signs its headers unsorted gets a signature mismatch.
    """
    lines = []
    for name in sorted(signed):
        values = [_WS.sub(" ", v.strip()) for n, v in headers if n.lower() == name]
        lines.append("%s:%s\n" % (name, ",".join(values)))
    return "".join(lines)


def canonical_request(method, raw_path, raw_query, headers, signed, body):
    return "\n".join((
        method,
        canonical_uri(raw_path),
        canonical_query(raw_query),
        canonical_headers(headers, signed),
        ";".join(sorted(signed)),
        hashlib.sha256(body).hexdigest(),
    ))


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def signature(secret, amz_date, scope, creq):
    date, region, service, _ = scope.split("/")
    sts = "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()))
    return hmac.new(signing_key(secret, date, region, service), sts.encode(), hashlib.sha256).hexdigest()


def _parse_authorization(value):
    algo, _, rest = value.strip().partition(" ")
    params = {}
    for part in rest.split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            params[k.strip()] = v.strip()
    return algo, params


def scope_of(authorization):
    """(region, service) of the credential scope in an Authorization header, else (None, None)."""
    if not authorization:
        return None, None
    m = re.search(r"Credential=([^,\s]+)", authorization)
    if not m:
        return None, None
    parts = m.group(1).split("/")
    return (parts[2], parts[3]) if len(parts) == 5 else (None, None)


def _fmt(ts):
    return ts.strftime("%Y%m%dT%H%M%SZ")


def verify(method, raw_path, raw_query, headers, body, *, region, service, now,
           credentials=CREDENTIALS, check_skew=True):
    """Verify a header-signed request.  Returns the access key id on success.

    headers: list of (name, value) pairs as received.  now: aware UTC datetime.
    credentials: anything with .get(akid) -> {"secret", "token"[, "expires"]} or None;
    "expires" (epoch seconds) marks temporary credentials that expire (issued by STS).
    """
    def header(name):
        vals = [v for n, v in headers if n.lower() == name]
        return vals[-1].strip() if vals else None

    auth = header("authorization")
    if not auth:
        raise AuthError(STATUS_MISSING_AUTH, "MissingAuthenticationTokenException", "Missing Authentication Token")
    algo, params = _parse_authorization(auth)
    if algo != ALGORITHM:
        raise AuthError(STATUS_INCOMPLETE, "IncompleteSignatureException",
                        "Unsupported AWS 'algorithm': '%s'. Authorization=%s" % (algo, auth))
    amz_date = header("x-amz-date")
    missing = ["Authorization header requires '%s' parameter." % p
               for p in ("Credential", "Signature", "SignedHeaders") if not params.get(p)]
    if amz_date is None:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        raise AuthError(STATUS_INCOMPLETE, "IncompleteSignatureException",
                        " ".join(missing) + " Authorization=" + auth)

    credential = params["Credential"]
    parts = credential.split("/")
    if len(parts) != 5:
        raise AuthError(STATUS_INCOMPLETE, "IncompleteSignatureException",
                        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"
                        " got '%s'" % credential)
    akid, scope_date, scope_region, scope_service, terminator = parts
    cred = credentials.get(akid)
    if cred is None:
        raise AuthError(STATUS_UNRECOGNIZED_CLIENT, "UnrecognizedClientException", INVALID_TOKEN)

    try:
        ts = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise AuthError(STATUS_INCOMPLETE, "IncompleteSignatureException",
                        "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                        "http://en.wikipedia.org/wiki/ISO_8601" % amz_date)
    if scope_date != amz_date[:8]:
        raise _invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                       "'%s' != '%s', from '%s'." % (scope_date, amz_date[:8], amz_date))
    expected_scope = "%s/%s/%s/aws4_request" % (scope_date, region, service)
    if scope_region != region:
        raise _invalid("Credential should be scoped to a valid region, not '%s'. Expected scope: %s"
                       % (scope_region, expected_scope))
    if scope_service != service:
        raise _invalid("Credential should be scoped to correct service: '%s'. " % service)
    if terminator != "aws4_request":
        raise _invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. " % terminator)

    signed = params["SignedHeaders"].split(";")
    # AWS computes its canonical request from the list as it is: a list not
    # sorted and lower-case cannot give the signature a conforming signer
    # made, so an unsorted signer must fail here as it would there.
    if signed != sorted(signed) or any(h != h.lower() for h in signed):
        raise _invalid(SIGNATURE_MISMATCH)
    if "host" not in signed:
        raise _invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    if "x-amz-date" not in signed:
        raise _invalid("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")

    if check_skew:
        if ts < now - MAX_SKEW:
            raise _invalid("Signature expired: %s is now earlier than %s (%s - 5 min.)"
                           % (amz_date, _fmt(now - MAX_SKEW), _fmt(now)))
        if ts > now + MAX_SKEW:
            raise _invalid("Signature not yet current: %s is still later than %s (%s + 5 min.)"
                           % (amz_date, _fmt(now + MAX_SKEW), _fmt(now)))

    token = header("x-amz-security-token")
    if cred["token"] is None:
        if token is not None:
            raise AuthError(STATUS_BAD_TOKEN, "UnrecognizedClientException", INVALID_TOKEN)
    else:
        if token == EXPIRED_TOKEN:
            raise AuthError(STATUS_BAD_TOKEN, "ExpiredTokenException", EXPIRED_MESSAGE)
        if token != cred["token"]:
            raise AuthError(STATUS_BAD_TOKEN, "UnrecognizedClientException", INVALID_TOKEN)
        if cred.get("expires") is not None and now.timestamp() >= cred["expires"]:
            raise AuthError(STATUS_BAD_TOKEN, "ExpiredTokenException", EXPIRED_MESSAGE)
        if "x-amz-security-token" not in signed:
            raise _invalid("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization "
                           "(the emulator requires the session token to be signed).")

    creq = canonical_request(method, raw_path, raw_query, headers, signed, body)
    expected = signature(cred["secret"], amz_date, "/".join(parts[1:]), creq)
    if not hmac.compare_digest(expected, params["Signature"]):
        raise _invalid(SIGNATURE_MISMATCH)
    return akid
