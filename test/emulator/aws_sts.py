"""AWS Security Token Service (service `sts`) over the Query protocol:
AssumeRole and GetCallerIdentity.

Wire format (README.md "STS"): POST, Content-Type
application/x-www-form-urlencoded, body `Action=..&Version=2011-06-15&...`;
answers are XML in the namespace https://sts.amazonaws.com/doc/2011-06-15/
(Content-Type text/xml), errors an <ErrorResponse>.

The credentials AssumeRole issues live in control.State (`sts_issued`, guarded
by the State lock) so that sigv4.verify accepts them for every service until
they expire.  Everything here is deterministic except Expiration, which is the
real UTC clock plus the duration (credentials expire in real time).
"""

import base64
import hashlib
import re
import time
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSION = "2011-06-15"
SERVICE = "sts"
CONTENT_TYPE = "text/xml"
FORM_TYPE = "application/x-www-form-urlencoded"
DEFAULT_REGION = "us-east-1"
ACCOUNT = "111111111111"
DEFAULT_DURATION = 3600
CHAINING_LIMIT = 3600

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _alnum(seed, n):
    """n upper-case alphanumerics, a pure function of seed."""
    out = []
    counter = 0
    while len(out) < n:
        for b in hashlib.sha256(("%s#%d" % (seed, counter)).encode()).digest():
            if b < 252:                 # 252 = 7 * 36: no modulo bias
                out.append(_ALNUM[b % 36])
                if len(out) == n:
                    break
        counter += 1
    return "".join(out)


class Role:
    def __init__(self, arn, max_session, trusted_accounts, external_id=None):
        self.arn = arn
        self.account = arn.split(":")[4]
        self.name = arn.rsplit("/", 1)[1]
        self.max_session = max_session
        self.trusted_accounts = frozenset(trusted_accounts)
        self.external_id = external_id
        self.role_id = "AROA" + _alnum("role-id|" + arn, 16)

    def trusts(self, account, external_id):
        return account in self.trusted_accounts and (self.external_id is None or external_id == self.external_id)


ROLES = {r.arn: r for r in (
    Role("arn:aws:iam::111111111111:role/finops-reader", 3600, ("111111111111",)),
    Role("arn:aws:iam::222222222222:role/partner-billing", 43200, ("111111111111",), "northwind-ext-42"),
)}

# Who the emulator's static credentials (sigv4.CREDENTIALS) are.
_READER = ROLES["arn:aws:iam::111111111111:role/finops-reader"]
STATIC_IDENTITIES = {
    "AKIAFINOPSEMULATOR01": {"arn": "arn:aws:iam::111111111111:user/finops-reader",
                             "user_id": "AIDA" + _alnum("user-id|finops-reader", 16), "account": ACCOUNT,
                             "temporary": False},
    "ASIAFINOPSEMULATOR02": {"arn": "arn:aws:sts::111111111111:assumed-role/finops-reader/emulator",
                             "user_id": _READER.role_id + ":emulator", "account": ACCOUNT, "temporary": True},
}

OPERATIONS = ("AssumeRole", "GetCallerIdentity")

# Coral constraint texts (model: sts/2011-06-15/service-2.json).
ARN_PATTERN = r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+"
SESSION_PATTERN = r"[\w+=,.@-]*"
EXTERNAL_ID_PATTERN = r"[\w+=,.@:\/-]*"
_ARN_RE = re.compile("[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+")
_SESSION_RE = re.compile(r"[A-Za-z0-9_+=,.@-]*")
_EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9_+=,.@:/-]*")
_INT_RE = re.compile(r"[+-]?[0-9]+")

MSG_MAX_SESSION = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
MSG_CHAINING = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
MSG_MISSING_AUTH = "Request is missing Authentication Token"
MSG_INTERNAL = "The request processing has failed because of an unknown error, exception or failure."
MSG_UNAVAILABLE = "The request has failed due to a temporary failure of the server."

# sigv4.AuthError codes (JSON names) -> (status, query code) as STS answers them.
AUTH_ERRORS = {
    "MissingAuthenticationTokenException": (403, "MissingAuthenticationToken"),
    "IncompleteSignatureException": (400, "IncompleteSignature"),
    "UnrecognizedClientException": (403, "InvalidClientTokenId"),
    "InvalidSignatureException": (403, "SignatureDoesNotMatch"),
    "ExpiredTokenException": (400, "ExpiredToken"),
}


class StsError(Exception):
    def __init__(self, status, code, message, type_="Sender"):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.type = type_

    def body(self, request_id):
        return error_body(self.code, self.message, request_id, self.type)


def error_body(code, message, request_id, type_="Sender"):
    msg = "" if message is None else "    <Message>%s</Message>\n" % escape(message)
    return ('<ErrorResponse xmlns="%s">\n'
            '  <Error>\n'
            '    <Type>%s</Type>\n'
            '    <Code>%s</Code>\n'
            '%s'
            '  </Error>\n'
            '  <RequestId>%s</RequestId>\n'
            '</ErrorResponse>\n' % (NS, escape(type_), escape(code), msg, escape(request_id))).encode()


def auth_error(err):
    """A sigv4.AuthError as STS reports it."""
    status, code = AUTH_ERRORS.get(err.code, (err.status, err.code))
    message = MSG_MISSING_AUTH if code == "MissingAuthenticationToken" else err.message
    return StsError(status, code, message)


def validation(message):
    return StsError(400, "ValidationError", message)


# --- request parsing ----------------------------------------------------------------

def is_form(content_type):
    return (content_type or "").split(";")[0].strip().lower() == FORM_TYPE


def parse_form(body):
    """[(name, value)] of a form body: RFC 3986 percent-encoding, '+' as space, UTF-8."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")


def log_line(operation, region, params):
    """`<Operation> <region> <Name=value&...>`: the parameters except Action and Version, sorted by name."""
    rest = sorted(((k, v) for k, v in params if k not in ("Action", "Version")), key=lambda kv: kv[0])
    line = "%s %s" % (operation, region)
    if rest:
        line += " " + "&".join("%s=%s" % kv for kv in rest)
    return line


def region_of_host(host):
    """sts.<region>.amazonaws.com -> region; sts.amazonaws.com -> us-east-1; else None."""
    if not host:
        return None
    h = host.strip().lower()
    if h.startswith("["):
        return None
    h = h.rsplit(":", 1)[0]
    if h in ("sts.amazonaws.com",):
        return DEFAULT_REGION
    m = re.match(r"^sts(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$", h)
    return m.group(1) if m else None


def check_action(params):
    """The operation named by Action/Version, or raise MissingAction/InvalidAction."""
    p = dict(params)
    action = p.get("Action")
    if not action:
        raise StsError(400, "MissingAction", "Missing Action")
    version = p.get("Version")
    if action not in OPERATIONS or version != VERSION:
        raise StsError(400, "InvalidAction", "Could not find operation %s for version %s"
                       % (action, version or "NO_VERSION_SPECIFIED"))
    return action


# --- identities and credentials ------------------------------------------------------------

def identity(akid, cred):
    """{"arn", "user_id", "account", "temporary"} of a verified access key."""
    if akid in STATIC_IDENTITIES:
        return STATIC_IDENTITIES[akid]
    if cred is not None and "arn" in cred:
        return {k: cred[k] for k in ("arn", "user_id", "account", "temporary")}
    # a test credential set (sigv4 suite): an anonymous user of the emulator's account
    return {"arn": "arn:aws:iam::%s:user/%s" % (ACCOUNT, akid), "user_id": akid, "account": ACCOUNT,
            "temporary": False}


def make_credentials(seed):
    """(AccessKeyId, SecretAccessKey, SessionToken), a pure function of seed."""
    akid = "ASIA" + _alnum("akid|" + seed, 16)
    sec = base64.b64encode(hashlib.sha256(("secret|" + seed).encode()).digest()[:30]).decode()  # 40 chars
    secret = sec[:10] + "/" + sec[11:25] + "+" + sec[26:]
    raw = b"".join(hashlib.sha512(("token|%s|%d" % (seed, i)).encode()).digest() for i in range(5))[:301]
    # Shaped like real tokens: a fixed prefix, runs of '/', '+' and '=' padding; 417 characters.
    token = "IQoJb3JpZ2luX2VjE" + "P//////////wEaCXVzLWVhc3QtMSJH+" + base64.b64encode(raw).decode()
    return akid, secret, token


def iso8601(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --- operations --------------------------------------------------------------------------

class Coral:
    def __init__(self):
        self.errors = []

    def add(self, value, path, constraint):
        self.errors.append("Value '%s' at '%s' failed to satisfy constraint: %s" % (value, path, constraint))

    def string(self, value, path, lo, hi, regex, pattern):
        if value is None:
            return
        if len(value) < lo:
            self.add(value, path, "Member must have length greater than or equal to %d" % lo)
        elif len(value) > hi:
            self.add(value, path, "Member must have length less than or equal to %d" % hi)
        if regex.fullmatch(value) is None:
            self.add(value, path, "Member must satisfy regular expression pattern: %s" % pattern)

    def raise_if_any(self):
        if self.errors:
            n = len(self.errors)
            raise validation("%d validation error%s detected: %s" % (n, "" if n == 1 else "s", "; ".join(self.errors)))


def parse_assume_role(params):
    """Validated (role_arn, session, duration, external_id) or StsError."""
    p = dict(params)
    for name in ("RoleArn", "RoleSessionName"):
        if name not in p:
            raise StsError(400, "MissingParameter", "The request must contain the parameter %s" % name)
    arn, session, ext = p["RoleArn"], p["RoleSessionName"], p.get("ExternalId")
    duration = None
    raw = p.get("DurationSeconds")
    if raw is not None:
        if _INT_RE.fullmatch(raw) is None:
            raise validation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy "
                             "constraint: Member must be an integer" % raw)
        duration = int(raw)
    coral = Coral()
    coral.string(arn, "roleArn", 20, 2048, _ARN_RE, ARN_PATTERN)
    coral.string(session, "roleSessionName", 2, 64, _SESSION_RE, SESSION_PATTERN)
    if duration is not None and duration < 900:
        coral.add(duration, "durationSeconds", "Member must have value greater than or equal to 900")
    if duration is not None and duration > 43200:
        coral.add(duration, "durationSeconds", "Member must have value less than or equal to 43200")
    coral.string(ext, "externalId", 2, 1224, _EXTERNAL_ID_RE, EXTERNAL_ID_PATTERN)
    coral.raise_if_any()
    return arn, session, DEFAULT_DURATION if duration is None else duration, ext


def assume_role(params, caller, issue):
    """Run AssumeRole for `caller` (an identity()); issue(role, session, duration) stores and returns
    the new credentials dict.  Returns the response body minus RequestId as a dict."""
    arn, session, duration, ext = parse_assume_role(params)
    role = ROLES.get(arn)
    if role is None or not role.trusts(caller["account"], ext):
        raise StsError(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                       % (caller["arn"], arn))
    if duration > role.max_session:
        raise validation(MSG_MAX_SESSION)
    if caller["temporary"] and duration > CHAINING_LIMIT:
        raise validation(MSG_CHAINING)
    return issue(role, session, duration)


def assume_role_xml(cred, request_id):
    return ('<AssumeRoleResponse xmlns="%s">\n'
            '  <AssumeRoleResult>\n'
            '    <AssumedRoleUser>\n'
            '      <AssumedRoleId>%s</AssumedRoleId>\n'
            '      <Arn>%s</Arn>\n'
            '    </AssumedRoleUser>\n'
            '    <Credentials>\n'
            '      <AccessKeyId>%s</AccessKeyId>\n'
            '      <SecretAccessKey>%s</SecretAccessKey>\n'
            '      <SessionToken>%s</SessionToken>\n'
            '      <Expiration>%s</Expiration>\n'
            '    </Credentials>\n'
            '  </AssumeRoleResult>\n'
            '  <ResponseMetadata>\n'
            '    <RequestId>%s</RequestId>\n'
            '  </ResponseMetadata>\n'
            '</AssumeRoleResponse>\n' % (
                NS, escape(cred["user_id"]), escape(cred["arn"]), cred["akid"], escape(cred["secret"]),
                escape(cred["token"]), iso8601(cred["expires"]), request_id)).encode()


def caller_identity_xml(ident, request_id):
    # Element order as in the API reference's example response.
    return ('<GetCallerIdentityResponse xmlns="%s">\n'
            '  <GetCallerIdentityResult>\n'
            '    <Arn>%s</Arn>\n'
            '    <UserId>%s</UserId>\n'
            '    <Account>%s</Account>\n'
            '  </GetCallerIdentityResult>\n'
            '  <ResponseMetadata>\n'
            '    <RequestId>%s</RequestId>\n'
            '  </ResponseMetadata>\n'
            '</GetCallerIdentityResponse>\n' % (
                NS, escape(ident["arn"]), escape(ident["user_id"]), escape(ident["account"]), request_id)).encode()


# Bodies for the `malformed` / `wrong_shape` faults.
MALFORMED = {
    "AssumeRole": ('<AssumeRoleResponse xmlns="%s">\n  <AssumeRoleResult>\n    <Credentials>\n'
                   '      <AccessKeyId>nope' % NS).encode(),
    "GetCallerIdentity": ('<GetCallerIdentityResponse xmlns="%s">\n  <GetCallerIdentityResult>\n'
                          '    <Arn>nope' % NS).encode(),
}
WRONG_SHAPES = {
    "AssumeRole": ('<AssumeRoleResponse xmlns="%s">\n  <AssumeRoleResult>\n    <Credentials>42</Credentials>\n'
                   '  </AssumeRoleResult>\n</AssumeRoleResponse>\n' % NS).encode(),
    "GetCallerIdentity": ('<GetCallerIdentityResponse xmlns="%s">\n  <GetCallerIdentityResult>\n'
                          '    <Account><Id>42</Id></Account>\n  </GetCallerIdentityResult>\n'
                          '</GetCallerIdentityResponse>\n' % NS).encode(),
}
