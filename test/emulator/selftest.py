#!/usr/bin/python3
"""Self-check of the emulator: /usr/bin/python3 test/emulator/selftest.py

Starts the server in-process on a free port, talks to it with its own small
SigV4 client (written independently of sigv4.py) and checks paging, filter and
group semantics, validation and signature errors, every fault kind, the
control API and the expectation endpoint.  Last line: "N passed, M failed";
the exit status is non-zero when anything failed.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.request
from decimal import Decimal

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import server  # noqa: E402
import sigv4  # noqa: E402

TODAY = datetime.date(2026, 11, 28)
AKID, SECRET = "AKIAFINOPSEMULATOR01", "emulator/Secret/Key/For/Tests+0123456789"
TMP_AKID, TMP_SECRET, TMP_TOKEN = "ASIAFINOPSEMULATOR02", "emulator/Temp/Secret/Key+9876543210", "emulator-session-token"
AMOUNT_RE = re.compile(r"^-?\d+(\.\d*[1-9])?$")
EC2 = "Amazon Elastic Compute Cloud - Compute"

PASSED = 0
FAILED = []


def check(name, cond, detail=""):
    global PASSED
    if cond:
        PASSED += 1
    else:
        FAILED.append("%s %s" % (name, detail))
        print("FAIL: %s %s" % (name, detail))


# --- a minimal SigV4 client ------------------------------------------------------

def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign_headers(method, path, headers, body, akid, secret, region="us-east-1", service="ce", amz_date=None,
                 signed=None):
    amz_date = amz_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = dict(headers)
    headers["x-amz-date"] = amz_date
    names = sorted(signed if signed is not None else headers)
    canon = "".join("%s:%s\n" % (n, " ".join(headers[n].split())) for n in names)
    creq = "\n".join((method, path, "", canon, ";".join(names), hashlib.sha256(body).hexdigest()))
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(("AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()))
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = _hmac(key, part)
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, ";".join(names), sig)
    return headers


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    @property
    def type(self):
        try:
            return self.json().get("__type")
        except ValueError:
            return None


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return self.conn

    def raw(self, method, path, headers, body):
        c = self._conn()
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        except Exception:
            self.conn.close()
            self.conn = None
            raise

    def call(self, op, body, akid=AKID, secret=SECRET, token=None, sign_token=True, path="/", sign_path=None,
             region="us-east-1", service="ce", amz_date=None, content_type="application/x-amz-json-1.1",
             tamper=None, signed=None, unsigned_auth=False):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"host": "127.0.0.1:%d" % self.port, "content-type": content_type,
             "x-amz-target": "AWSInsightsIndexService." + op}
        if token is not None and sign_token:
            h["x-amz-security-token"] = token
        if unsigned_auth:
            h["x-amz-date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        else:
            h = sign_headers("POST", sign_path or path, h, raw, akid, secret, region, service, amz_date, signed)
        if token is not None and not sign_token:
            h["x-amz-security-token"] = token
        if tamper:
            raw = tamper(raw)
        del h["host"]  # http.client sends Host itself: the signed value must match it
        return self.raw("POST", path, h, raw)

    def cu(self, body, **kw):
        return self.call("GetCostAndUsage", body, **kw)

    def pages(self, body, **kw):
        """All pages of a GetCostAndUsage request."""
        out = []
        body = dict(body)
        while True:
            r = self.cu(body, **kw)
            if r.status != 200:
                raise AssertionError("page failed: %s %s" % (r.status, r.body[:300]))
            page = r.json()
            out.append(page)
            if "NextPageToken" not in page:
                return out
            body["NextPageToken"] = page["NextPageToken"]


def control(port, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/_emulator/%s" % (port, path), data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def post(port, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d/_emulator/%s" % (port, path),
                                 data=json.dumps(body or {}).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def flatten(pages):
    """{(start, end, keys...): {metric: Decimal}} over all pages."""
    out = {}
    for p in pages:
        for rbt in p["ResultsByTime"]:
            tp = (rbt["TimePeriod"]["Start"], rbt["TimePeriod"]["End"])
            if rbt["Groups"]:
                for g in rbt["Groups"]:
                    k = tp + tuple(g["Keys"])
                    assert k not in out, "duplicate group %r" % (k,)
                    out[k] = {m: Decimal(v["Amount"]) for m, v in g["Metrics"].items()}
            elif rbt["Total"]:
                out[tp] = {m: Decimal(v["Amount"]) for m, v in rbt["Total"].items()}
    return out


def expect(port, **params):
    q = "&".join("%s=%s" % (k.replace("__", "."), urllib.request.quote(v)) for k, v in params.items())
    text = control(port, "expect/aws_cost?" + q)
    out = {}
    for line in text.splitlines():
        cols = line.split("\t")
        out[tuple(cols[:-1])] = Decimal(cols[-1])
    return out


def all_amounts(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("Amount", "MeanValue", "PredictionIntervalLowerBound", "PredictionIntervalUpperBound"):
                yield v
            else:
                yield from all_amounts(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from all_amounts(v)


def base(start="2026-10-01", end="2026-12-01", gran="MONTHLY", metrics=("UnblendedCost",), **kw):
    b = {"TimePeriod": {"Start": start, "End": end}, "Granularity": gran, "Metrics": list(metrics)}
    b.update(kw)
    return b


# --- tests -------------------------------------------------------------------------

def test_sigv4_vectors(port, c):
    creds = {"AKIDEXAMPLE": {"secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": None}}
    now = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
    hb = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
    tok = ("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTf"
           "lfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFv"
           "lRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rv"
           "x3iSIlTJabIQwj2ICCR/oLxBA==")
    vectors = [  # AWS SigV4 test suite (botocore / aws-c-auth), credentials AKIDEXAMPLE, service "service"
        ("get-vanilla", "GET", "/", "", hb, b"", "host;x-amz-date",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", None),
        ("get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", hb, b"", "host;x-amz-date",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", None),
        ("post-x-www-form-urlencoded", "POST", "/", "", [("Content-Type", "application/x-www-form-urlencoded")] + hb,
         b"Param1=value1", "content-type;host;x-amz-date",
         "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a", None),
        ("post-sts-header-before", "POST", "/", "", hb + [("X-Amz-Security-Token", tok)], b"",
         "host;x-amz-date;x-amz-security-token",
         "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead", tok),
    ]
    for name, method, path, query, headers, body, signed, sig, token in vectors:
        cr = {"AKIDEXAMPLE": dict(creds["AKIDEXAMPLE"], token=token)}
        auth = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=%s, Signature=%s" % (signed, sig))
        try:
            ok = sigv4.verify(method, path, query, headers + [("Authorization", auth)], body, region="us-east-1",
                              service="service", now=now, credentials=cr) == "AKIDEXAMPLE"
        except sigv4.AuthError as e:
            ok = False
            name += " " + e.message
        check("sigv4 vector " + name, ok)
    check("sigv4 utf8 path double-encoded", sigv4.canonical_uri("/%E1%88%B4") == "/%25E1%2588%25B4")
    check("sigv4 path normalisation", sigv4.canonical_uri("//example//") == "/example/"
          and sigv4.canonical_uri("/example1/example2/../..") == "/")


def test_auth(port, c):
    body = base()
    r = c.cu(body)
    check("auth ok", r.status == 200, r.body[:200])
    check("response content-type", r.headers.get("content-type") == "application/x-amz-json-1.1")
    check("response request id", re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                                              r.headers.get("x-amzn-requestid", "")) is not None)
    check("content-length", int(r.headers["content-length"]) == len(r.body))

    r = c.cu(body, unsigned_auth=True)
    check("missing auth", r.status == 400 and r.json() == {
        "__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}, r.body)
    r = c.cu(body, akid="AKIAUNKNOWNKEY000000")
    check("unknown key", r.status == 400 and r.json() == {
        "__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."},
        r.body)
    r = c.cu(body, secret="wrong")
    check("wrong secret", r.status == 403 and r.json() == {"__type": "InvalidSignatureException",
                                                           "message": sigv4.SIGNATURE_MISMATCH}, r.body)
    r = c.cu(body, tamper=lambda b: b.replace(b"MONTHLY", b"DAILY  "))
    check("tampered body", r.status == 403 and r.type == "InvalidSignatureException", r.body)
    r = c.cu(body, region="eu-west-1")
    check("wrong region", r.status == 403 and r.type == "InvalidSignatureException"
          and "us-east-1" in r.json()["message"], r.body)
    r = c.cu(body, service="monitoring")
    check("wrong service", r.status == 403 and "'ce'" in r.json()["message"], r.body)
    old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)).strftime("%Y%m%dT%H%M%SZ")
    r = c.cu(body, amz_date=old)
    check("skew", r.status == 403 and r.type == "InvalidSignatureException"
          and r.json()["message"].startswith("Signature expired: " + old), r.body)
    r = c.cu(body, signed=["content-type", "x-amz-date", "x-amz-target"])
    check("host must be signed", r.status == 403 and r.type == "InvalidSignatureException", r.body)

    r = c.cu(body, akid=TMP_AKID, secret=TMP_SECRET, token=TMP_TOKEN)
    check("temporary credentials", r.status == 200, r.body[:200])
    r = c.cu(body, akid=TMP_AKID, secret=TMP_SECRET)
    check("temporary key without token", r.status == 403 and r.type == "UnrecognizedClientException", r.body)
    r = c.cu(body, akid=TMP_AKID, secret=TMP_SECRET, token="emulator-expired-token")
    check("expired token", r.status == 403 and r.type == "ExpiredTokenException", r.body)
    r = c.cu(body, akid=TMP_AKID, secret=TMP_SECRET, token=TMP_TOKEN, sign_token=False)
    check("token must be signed", r.status == 403 and r.type == "InvalidSignatureException", r.body)

    r = c.cu(body, path="/aws/")
    check("path prefix signed as received", r.status == 200, r.body[:200])
    r = c.cu(body, path="/aws/", sign_path="/")
    check("path prefix signed over wrong path", r.status == 403, r.body[:200])

    r = c.call("GetCostAndUsageX", body)
    check("unknown operation", r.status == 400 and r.body == b'{"__type":"UnknownOperationException"}', r.body)
    r = c.cu(body, content_type="application/x-www-form-urlencoded")
    check("wrong content type", r.status == 400 and r.type == "UnknownOperationException", r.body)


def test_totals_vs_expect(port, c):
    pages = c.pages(base("2026-11-01", "2026-12-01", "DAILY", ["UnblendedCost", "AmortizedCost"]))
    got = flatten(pages)
    exp = expect(port, start="2026-11-01", end="2026-12-01", granularity="DAILY")
    check("daily totals: 28 days", len(got) == 28, len(got))
    check("daily totals equal expectation",
          all(got[k]["UnblendedCost"] == exp.get(k) for k in got) and len(exp) == len(got))
    am = expect(port, start="2026-11-01", end="2026-12-01", granularity="DAILY", metric="AmortizedCost")
    check("amortized totals equal expectation", all(got[k]["AmortizedCost"] == am.get(k) for k in got))

    got = flatten(c.pages(base("2026-01-01", "2026-12-01", "MONTHLY",
                               GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}])))
    exp = expect(port, start="2026-01-01", end="2026-12-01", granularity="MONTHLY", group="SERVICE")
    check("monthly by service equals expectation",
          {k: v["UnblendedCost"] for k, v in got.items() if v["UnblendedCost"]} == exp, "%d vs %d" % (len(got), len(exp)))
    tot = expect(port, start="2026-01-01", end="2026-12-01", group="SERVICE", sum="1")
    check("expect sum=1", sum(tot.values()) == sum(exp.values()) and len(tot) == len({k[2] for k in exp}))


def test_paging(port, c):
    body = base("2026-10-01", "2026-11-29", "DAILY", ["UnblendedCost", "UsageQuantity"],
                GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": "env"}])
    post(port, "config", {"page_size": 100000})
    one = c.pages(body)
    post(port, "config", {"page_size": 7})
    many = c.pages(body)
    check("paging: single page", len(one) == 1)
    check("paging: several pages", len(many) > 10, len(many))
    check("paging: page size respected", all(sum(len(r["Groups"]) for r in p["ResultsByTime"]) <= 7 for p in many))
    check("paging: same groups and amounts", flatten(one) == flatten(many))
    split = any(p["ResultsByTime"][-1]["TimePeriod"] == q["ResultsByTime"][0]["TimePeriod"]
                for p, q in zip(many, many[1:]))
    check("paging: a ResultByTime continues on the next page", split)
    check("paging: GroupDefinitions on every page", all(p["GroupDefinitions"] == body["GroupBy"] for p in many))
    tags = {g["Keys"][1] for p in one for r in p["ResultsByTime"] for g in r["Groups"]}
    check("tag keys", {"env$prod", "env$staging", "env$dev", "env$"} <= tags, tags)
    check("groups sorted", all([g["Keys"] for g in r["Groups"]] == sorted(g["Keys"] for g in r["Groups"])
                               for p in one for r in p["ResultsByTime"]))

    tok = many[0]["NextPageToken"]
    r = c.cu(dict(body, NextPageToken=tok, Metrics=["UnblendedCost"]))
    check("RequestChangedException", r.status == 400 and r.type == "RequestChangedException", r.body)
    r = c.cu(dict(body, NextPageToken="garbage!!"))
    check("InvalidNextTokenException", r.status == 400 and r.type == "InvalidNextTokenException", r.body)
    r = c.cu(dict(body, NextPageToken=base64.b64encode(b'{"op":"GetCostAndUsage","o":99999999,"h":"x"}').decode()))
    check("token of another request", r.status == 400 and r.type in ("RequestChangedException",
                                                                     "InvalidNextTokenException"), r.body)
    # A different key order in the JSON is the same request.
    body2 = json.loads(json.dumps(body), object_pairs_hook=lambda kv: dict(reversed(kv)))
    r = c.cu(dict(body2, NextPageToken=tok))
    check("token survives key reordering", r.status == 200, r.body[:200])

    # Without GroupBy the page size counts ResultsByTime.
    pages = c.pages(base("2026-10-01", "2026-11-29", "DAILY"))
    check("ungrouped paging", len(pages) == 9 and sum(len(p["ResultsByTime"]) for p in pages) == 59, len(pages))
    check("ungrouped: no GroupDefinitions, Groups []",
          "GroupDefinitions" not in pages[0] and pages[0]["ResultsByTime"][0]["Groups"] == [])
    post(port, "reset")


def test_semantics(port, c):
    r = c.cu(base("2026-09-15", "2026-11-10"))
    rbt = r.json()["ResultsByTime"]
    check("monthly clipping", [(x["TimePeriod"]["Start"], x["TimePeriod"]["End"], x["Estimated"]) for x in rbt] == [
        ("2026-09-15", "2026-10-01", False), ("2026-10-01", "2026-11-01", False), ("2026-11-01", "2026-11-10", True)],
        rbt)
    r = c.cu(base("2026-11-25", "2026-12-01", "DAILY"))
    check("no buckets after today", [x["TimePeriod"]["Start"] for x in r.json()["ResultsByTime"]] ==
          ["2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28"])

    r = c.cu(base(metrics=["UnblendedCost", "UsageQuantity", "NormalizedUsageAmount"],
                  GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}]))
    groups = {g["Keys"][0]: g["Metrics"] for g in r.json()["ResultsByTime"][0]["Groups"]}
    check("usage unit per usage type", groups["BoxUsage:m5.large"]["UsageQuantity"]["Unit"] == "Hrs"
          and groups["TimedStorage-ByteHrs"]["UsageQuantity"]["Unit"] == "GB-Mo", groups.get("BoxUsage:m5.large"))
    check("cost unit USD", groups["BoxUsage:m5.large"]["UnblendedCost"]["Unit"] == "USD")
    check("normalized unit N/A", groups["BoxUsage:m5.large"]["NormalizedUsageAmount"]["Unit"] == "N/A")
    check("tax usage type", "NoUsageType" in groups)
    r = c.cu(base(metrics=["UsageQuantity"]))
    check("mixed units -> N/A", r.json()["ResultsByTime"][0]["Total"]["UsageQuantity"]["Unit"] == "N/A")
    check("all amounts plain decimals", all(AMOUNT_RE.match(a) for a in all_amounts(r.json())))

    r = c.cu(base(GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]))
    dva = r.json()["DimensionValueAttributes"]
    check("DimensionValueAttributes", {d["Value"]: d["Attributes"]["description"] for d in dva} == {
        "111111111111": "northwind-prod", "222222222222": "northwind-staging", "333333333333": "northwind-data",
        "444444444444": "northwind-sandbox"}, dva)
    r = c.cu(base(GroupBy=[{"Type": "DIMENSION", "Key": "RECORD_TYPE"}]))
    rts = {g["Keys"][0] for g in r.json()["ResultsByTime"][0]["Groups"]}
    check("record types", {"Usage", "Tax", "SavingsPlanCoveredUsage", "SavingsPlanNegation",
                           "SavingsPlanRecurringFee"} <= rts, rts)
    r = c.cu(base("2025-03-01", "2025-04-01", metrics=["UnblendedCost"],
                  GroupBy=[{"Type": "DIMENSION", "Key": "RECORD_TYPE"}]))
    rts = {g["Keys"][0]: Decimal(g["Metrics"]["UnblendedCost"]["Amount"]) for g in r.json()["ResultsByTime"][0]["Groups"]}
    check("credits and refunds are negative", rts.get("Credit", 0) < 0 and rts.get("Refund", 0) < 0, rts)

    r1 = c.cu(base(GroupBy=[{"Type": "TAG", "Key": "team"}, {"Type": "COST_CATEGORY", "Key": "BusinessUnit"}]))
    r2 = c.cu(base(GroupBy=[{"Type": "TAG", "Key": "team"}, {"Type": "COST_CATEGORY", "Key": "BusinessUnit"}]))
    check("deterministic bodies", r1.body == r2.body)
    keys = {tuple(g["Keys"]) for g in r1.json()["ResultsByTime"][0]["Groups"]}
    check("cost category keys", ("team$platform", "BusinessUnit$Robotics Platform") in keys, sorted(keys)[:3])


def test_filters(port, c):
    def total(flt, **kw):
        r = c.cu(base("2026-10-01", "2026-11-01", Filter=flt, **kw))
        assert r.status == 200, r.body
        return Decimal(r.json()["ResultsByTime"][0]["Total"]["UnblendedCost"]["Amount"])

    def exp_total(**where):
        e = expect(port, start="2026-10-01", end="2026-11-01", **{"where__" + k: v for k, v in where.items()})
        return sum(e.values())

    svc = {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}}
    acct = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["111111111111"]}}
    check("filter leaf", total(svc) == exp_total(SERVICE=EC2))
    check("filter And", total({"And": [svc, acct]}) == exp_total(SERVICE=EC2, LINKED_ACCOUNT="111111111111"))
    t_all = total({"Not": {"Dimensions": {"Key": "SERVICE", "Values": ["none"]}}})
    check("filter Or = a + b - both", total({"Or": [svc, acct]}) == total(svc) + total(acct) - total({"And": [svc, acct]}))
    check("filter Not", total({"Not": svc}) == t_all - total(svc))
    absent = {"Tags": {"Key": "env"}}
    check("Tags Key without Values = ABSENT", total(absent) == exp_total(**{"TAG:env": ""}) and total(absent) != 0)
    check("Tags ABSENT option", total({"Tags": {"Key": "env", "MatchOptions": ["ABSENT"]}}) == total(absent))
    check("Tags values", total({"Tags": {"Key": "env", "Values": ["prod", "dev"]}}) ==
          exp_total(**{"TAG:env": "prod"}) + exp_total(**{"TAG:env": "dev"}))
    check("Tags case sensitive", total({"Tags": {"Key": "env", "Values": ["PROD"]}}) == 0)

    def err(flt, **kw):
        r = c.cu(base(Filter=flt, **kw))
        return r.status, r.type, r.json().get("message")

    s, t, m = err(dict(svc, And=[svc, acct]))
    check("single root error", (s, t, m) == (400, "ValidationException",
                                             "Expression has more than one roots. Only one root operator is allowed "
                                             "for each expression: And, Or, Not, Dimensions, Tags, CostCategories"), m)
    s, t, m = err({"And": [svc]})
    check("And needs 2 operands", t == "ValidationException" and m == "And expression must have at least 2 operands", m)
    s, t, m = err({"Dimensions": {"Key": "SERVICE", "Values": ["Amazon"], "MatchOptions": ["STARTS_WITH"]}})
    check("Dimensions STARTS_WITH rejected", t == "ValidationException", m)
    s, t, m = err({"Tags": {"Key": "env", "Values": ["p"], "MatchOptions": ["CONTAINS"]}})
    check("Tags CONTAINS rejected", t == "ValidationException", m)
    s, t, m = err({"Dimensions": {"Key": "COLOUR", "Values": ["x"]}})
    check("bad dimension enum", t == "ValidationException" and m.startswith("1 validation error detected: Value "
                                                                            "'COLOUR' at 'filter.dimensions.key'"), m)


def test_validation(port, c):
    def err(body):
        r = c.cu(body)
        return r.status, r.type, r.json().get("message", "")

    cases = [
        ("missing TimePeriod", {"Granularity": "DAILY", "Metrics": ["UnblendedCost"]}, "ValidationException",
         "1 validation error detected: Value null at 'timePeriod' failed to satisfy constraint: Member must not be null"),
        ("bad date pattern", base("2026-1-1", "2026-02-01"), "ValidationException", "1 validation error detected"),
        ("bad granularity", base(gran="WEEKLY"), "ValidationException", "1 validation error detected"),
        ("hourly", base(gran="HOURLY"), "ValidationException", "Hourly"),
        ("start >= end", base("2026-11-01", "2026-11-01"), "ValidationException",
         "Start date (and hour) should be before end date (and hour)"),
        ("start after today", base("2026-11-29", "2026-12-01"), "ValidationException", "Start date"),
        ("end past next month", base("2026-11-01", "2027-01-01"), "ValidationException",
         "end date past the beginning of next month"),
        ("14 months rule", base("2025-05-15", "2026-11-01"), "ValidationException",
         "To retrieve data beyond the past 14 months"),
        ("no metrics", base(metrics=[]), "ValidationException", ""),
        ("bad metric", base(metrics=["UNBLENDED_COST"]), "ValidationException", ""),
        ("3 group bys", base(GroupBy=[{"Type": "DIMENSION", "Key": k} for k in ("SERVICE", "REGION", "AZ")]),
         "ValidationException", ""),
        ("bad group dimension", base(GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT_NAME"}]),
         "ValidationException", ""),
        ("unknown member", dict(base(), Filters={}), "SerializationException", ""),
        ("wrong type", dict(base(), Metrics="UnblendedCost"), "SerializationException", ""),
    ]
    for name, body, typ, prefix in cases:
        s, t, m = err(body)
        check("validation: " + name, s == 400 and t == typ and m.startswith(prefix), "%s %s %s" % (s, t, m))
    r = c.cu(b"{not json")
    check("validation: invalid JSON", r.status == 400 and r.type == "SerializationException", r.body)
    r = c.cu(base("2024-01-01", "2026-12-01", GroupBy=[{"Type": "DIMENSION", "Key": "REGION"}]))
    check("long history from the 1st is fine", r.status == 200 and len(r.json()["ResultsByTime"]) == 35)


def test_forecast(port, c):
    def fc(**kw):
        b = {"TimePeriod": {"Start": "2026-11-28", "End": "2026-12-28"}, "Metric": "UNBLENDED_COST",
             "Granularity": "DAILY"}
        b.update(kw)
        return c.call("GetCostForecast", b)

    r = fc()
    check("forecast ok", r.status == 200, r.body[:300])
    j = r.json()
    res = j["ForecastResultsByTime"]
    check("forecast daily buckets", len(res) == 30 and res[0]["TimePeriod"] == {"Start": "2026-11-28",
                                                                                "End": "2026-11-29"})
    check("forecast bounds ordered", all(Decimal(x["PredictionIntervalLowerBound"]) <= Decimal(x["MeanValue"]) <=
                                         Decimal(x["PredictionIntervalUpperBound"]) for x in res))
    check("forecast total", Decimal(j["Total"]["Amount"]) == sum(Decimal(x["MeanValue"]) for x in res)
          and j["Total"]["Unit"] == "USD")
    check("forecast amounts are strings", all(isinstance(a, str) and AMOUNT_RE.match(a) for a in all_amounts(j)))
    w = [Decimal(x["PredictionIntervalUpperBound"]) - Decimal(x["PredictionIntervalLowerBound"]) for x in res]
    check("forecast interval widens with horizon", w[-1] > w[0])
    w95 = [Decimal(x["PredictionIntervalUpperBound"]) - Decimal(x["PredictionIntervalLowerBound"])
           for x in fc(PredictionIntervalLevel=95).json()["ForecastResultsByTime"]]
    check("forecast interval widens with level", w95[5] > w[5])
    check("forecast deterministic", fc().body == r.body)
    r = fc(Granularity="MONTHLY", TimePeriod={"Start": "2026-11-28", "End": "2027-06-01"})
    check("forecast monthly", r.status == 200 and [x["TimePeriod"]["Start"] for x in r.json()["ForecastResultsByTime"]]
          == ["2026-11-28", "2026-12-01", "2027-01-01", "2027-02-01", "2027-03-01", "2027-04-01", "2027-05-01"], r.body)
    r = fc(TimePeriod={"Start": "2026-11-01", "End": "2026-12-01"})
    check("forecast start before today", r.status == 400 and r.type == "ValidationException", r.body)
    r = fc(PredictionIntervalLevel=50)
    check("forecast level 50", r.status == 400 and r.json()["message"].startswith("1 validation error"), r.body)
    r = fc(Metric="UnblendedCost")
    check("forecast metric enum", r.status == 400 and r.type == "ValidationException", r.body)
    r = fc(TimePeriod={"Start": "2026-11-28", "End": "2027-06-01"})
    check("forecast daily horizon", r.status == 400 and r.type == "ValidationException", r.body)
    r = fc(Metric="USAGE_QUANTITY")
    check("forecast mixed units", r.status == 400 and r.type == "UnresolvableUsageUnitException", r.body)
    r = fc(Metric="USAGE_QUANTITY", Filter={"Dimensions": {"Key": "USAGE_TYPE", "Values": ["BoxUsage:m5.large"]}})
    check("forecast usage with unit", r.status == 200 and r.json()["Total"]["Unit"] == "Hrs", r.body[:300])


def test_dimension_values(port, c):
    def dv(**kw):
        b = {"TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"}, "Dimension": "LINKED_ACCOUNT"}
        b.update(kw)
        return c.call("GetDimensionValues", b)

    r = dv()
    j = r.json()
    check("dimension values: accounts", r.status == 200 and [d["Value"] for d in j["DimensionValues"]] ==
          ["111111111111", "222222222222", "333333333333", "444444444444"] and j["TotalSize"] == 4
          and j["ReturnSize"] == 4, r.body[:300])
    check("dimension values: descriptions", j["DimensionValues"][0]["Attributes"] == {"description": "northwind-prod"})
    r = dv(Dimension="USAGE_TYPE", SearchString="boxusage")
    vals = r.json()["DimensionValues"]
    check("dimension values: search + unit", vals and all("BoxUsage" in v["Value"] and v["Attributes"] == {"unit": "Hrs"}
                                                          for v in vals), vals)
    post(port, "config", {"page_size": 3})
    seen = []
    body = {"TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"}, "Dimension": "SERVICE"}
    while True:
        j = c.call("GetDimensionValues", body).json()
        seen += [d["Value"] for d in j["DimensionValues"]]
        if "NextPageToken" not in j:
            break
        body["NextPageToken"] = j["NextPageToken"]
    post(port, "reset")
    check("dimension values: paging", len(seen) == j["TotalSize"] == 13 and len(set(seen)) == 13, seen)
    r = dv(Dimension="SERVICE", SortBy=[{"Key": "UnblendedCost", "SortOrder": "DESCENDING"}], MaxResults=2)
    check("dimension values: sort", r.status == 200 and len(r.json()["DimensionValues"]) == 2, r.body[:300])


def test_faults(port, c):
    post(port, "reset")
    body = base()
    good = c.cu(body).body

    post(port, "fault", {"kind": "throttle", "count": 2})
    r1, r2, r3 = c.cu(body), c.cu(body), c.cu(body)
    check("fault throttle", r1.status == 400 and r1.json() == {"__type": "LimitExceededException",
                                                              "message": "Rate exceeded"} and r2.status == 400
          and r3.status == 200, (r1.body, r3.status))
    post(port, "fault", {"kind": "throttle", "code": "ThrottlingException"})
    check("fault throttle code", c.cu(body).type == "ThrottlingException")
    post(port, "fault", {"kind": "error", "status": 400, "code": "AccessDeniedException", "message": "no"})
    r = c.cu(body)
    check("fault error", r.status == 400 and r.json() == {"__type": "AccessDeniedException", "message": "no"}, r.body)
    post(port, "fault", {"kind": "http500"})
    r = c.cu(body)
    check("fault http500", r.status == 500 and r.json() == {"__type": "InternalFailure"}, r.body)
    post(port, "fault", {"kind": "http503"})
    r = c.cu(body)
    check("fault http503", r.status == 503 and r.json() == {"__type": "ServiceUnavailable"}, r.body)
    post(port, "fault", {"kind": "malformed"})
    r = c.cu(body)
    bad = False
    try:
        json.loads(r.body)
    except ValueError:
        bad = True
    check("fault malformed", r.status == 200 and bad, r.body)
    post(port, "fault", {"kind": "truncated"})
    r = c.cu(body)
    check("fault truncated", r.status == 200 and good.startswith(r.body) and len(r.body) < len(good)
          and int(r.headers["content-length"]) == len(r.body))
    post(port, "fault", {"kind": "wrong_shape"})
    r = c.cu(body)
    check("fault wrong_shape", r.status == 200 and r.json() == {"ResultsByTime": 42}, r.body)
    post(port, "fault", {"kind": "cut"})
    try:
        c.cu(body)
        check("fault cut", False, "no error")
    except http.client.IncompleteRead:
        check("fault cut", True)
    except Exception as e:
        check("fault cut", False, repr(e))
    post(port, "fault", {"kind": "drop"})
    try:
        c.cu(body)
        check("fault drop", False, "no error")
    except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
        check("fault drop", True)
    post(port, "fault", {"kind": "throttle", "target": "GetCostForecast"})
    check("fault target filter", c.cu(body).status == 200)
    post(port, "reset")
    check("reset clears faults", json.loads(control(port, "faults")) == [])

    # slow must not block other requests
    post(port, "fault", {"kind": "slow", "delay": 1.5})
    done = {}

    def slow_call():
        t0 = time.time()
        r = Client(port).cu(body)
        done["slow"] = (r.status, time.time() - t0)
    th = threading.Thread(target=slow_call)
    th.start()
    time.sleep(0.3)
    t0 = time.time()
    r = Client(port).cu(body)
    fast = time.time() - t0
    th.join()
    check("fault slow answers normally", done["slow"][0] == 200 and done["slow"][1] >= 1.4, done)
    check("slow does not block others", r.status == 200 and fast < 1.0, fast)
    st = json.loads(control(port, "stats"))
    check("stats max_in_flight", st["max_in_flight"] >= 2 and st["in_flight"] == 0, st)

    post(port, "config", {"latency_ms": 300})
    t0 = time.time()
    c.cu(body)
    check("latency", time.time() - t0 >= 0.3)
    post(port, "reset")
    t0 = time.time()
    c.cu(body)
    check("reset restores latency", time.time() - t0 < 0.3)


def test_request_log(port, c):
    post(port, "reset")
    body = base(GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
    post(port, "config", {"page_size": 50})
    c.pages(body)
    c.cu(body, secret="wrong")
    post(port, "fault", {"kind": "throttle", "target": "GetCostAndUsage"})
    c.cu(body)
    lines = control(port, "requests").splitlines()
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"))
    with_tok = json.dumps(dict(body, NextPageToken="<token>"), sort_keys=True, separators=(",", ":"))
    check("log first line", lines[0] == "GetCostAndUsage " + canon, lines[0])
    check("log token placeholder", lines[1] == "GetCostAndUsage " + with_tok, lines[1])
    check("log error marker", lines[-2] == "GetCostAndUsage " + canon + " [error=InvalidSignatureException]",
          lines[-2])
    check("log fault marker", lines[-1] == "GetCostAndUsage " + canon + " [fault=throttle]", lines[-1])
    js = json.loads(control(port, "requests?format=json"))
    check("log json", len(js) == len(lines) and js[0]["method"] == "POST" and js[0]["status"] == 200
          and js[0]["headers"]["authorization"].endswith("Signature=<sig>")
          and js[0]["headers"]["x-amz-target"] == "AWSInsightsIndexService.GetCostAndUsage", js[0])
    st = json.loads(control(port, "stats"))
    check("stats counts", st["requests"] == len(lines) and st["by_operation"] == {"GetCostAndUsage": len(lines)}, st)
    post(port, "reset")
    check("reset clears log", control(port, "requests") == "" and json.loads(control(port, "stats"))["requests"] == 0)
    cfg = json.loads(control(port, "config"))
    check("reset restores page size", cfg["page_size"] == 500 and cfg["today"] == TODAY.isoformat(), cfg)


def test_control_misc(port, c):
    text = control(port, "expect/aws_cost?start=2026-10-01&end=2026-11-01&group=SERVICE,TAG:env")
    rows = [l.split("\t") for l in text.splitlines()]
    check("expect: 5 columns", rows and all(len(r) == 5 for r in rows))
    check("expect: untagged as \\N", any(r[3] == "\\N" for r in rows))
    check("expect: sorted", rows == sorted(rows, key=lambda r: (r[0], r[2], r[3] != "\\N", r[3])))
    try:
        control(port, "expect/aws_cost?start=2026-10-01")
        check("expect: missing end is 400", False)
    except urllib.error.HTTPError as e:
        check("expect: missing end is 400", e.code == 400)
    post(port, "config", {"today": "2025-06-15"})
    r = c.cu(base("2025-06-01", "2025-07-01", "DAILY"))
    check("config today", r.status == 200 and len(r.json()["ResultsByTime"]) == 15, r.body[:200])
    post(port, "reset")


def test_concurrency(port, c):
    post(port, "reset")
    post(port, "config", {"page_size": 20, "latency_ms": 20})
    body = base("2026-09-01", "2026-11-29", "DAILY", ["UnblendedCost", "NetAmortizedCost"],
                GroupBy=[{"Type": "DIMENSION", "Key": "REGION"}, {"Type": "TAG", "Key": "team"}])
    results = [None] * 8

    def worker(i):
        results[i] = flatten(Client(port).pages(body))
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    check("concurrent paging: identical results", results[0] and all(r == results[0] for r in results))
    st = json.loads(control(port, "stats"))
    check("concurrent paging: requests overlapped", st["max_in_flight"] >= 4 and st["in_flight"] == 0, st)
    post(port, "reset")


def test_performance(port, c):
    post(port, "config", {"page_size": 5000})
    body = base("2026-07-01", "2026-11-29", "DAILY", ["UnblendedCost", "UsageQuantity"],
                GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
    t0 = time.time()
    r = c.cu(body)
    first = time.time() - t0
    n = sum(len(x["Groups"]) for x in r.json()["ResultsByTime"])
    t0 = time.time()
    r2 = c.cu(dict(body, NextPageToken=r.json()["NextPageToken"]))
    second = time.time() - t0
    check("performance: 5000 groups on the first page", n == 5000, n)
    check("performance: first page < 1 s", first < 1.0, "%.3f s" % first)
    check("performance: next page < 0.5 s", r2.status == 200 and second < 0.5, "%.3f s" % second)
    print("info: 5000-group page %.3f s (cold), %.3f s (cached aggregate)" % (first, second))
    post(port, "reset")


def main():
    srv = server.make_server(0, today=TODAY)
    port = srv.server_address[1]
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    th.start()
    c = Client(port)
    tests = [test_sigv4_vectors, test_auth, test_totals_vs_expect, test_paging, test_semantics, test_filters,
             test_validation, test_forecast, test_dimension_values, test_faults, test_request_log, test_control_misc,
             test_concurrency, test_performance]
    try:
        for t in tests:
            try:
                t(port, c)
            except Exception:
                FAILED.append(t.__name__ + " raised")
                print("FAIL: %s raised\n%s" % (t.__name__, traceback.format_exc()))
                c = Client(port)
    finally:
        srv.shutdown()
        srv.server_close()
    for f in FAILED:
        print("failed: " + f)
    print("%d passed, %d failed" % (PASSED, len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
