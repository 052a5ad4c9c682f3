#!/usr/bin/python3
"""Self-check of the emulator: /usr/bin/python3 test/emulator/selftest.py

Starts the server in-process on a free port, talks to it with its own small
SigV4 client (written independently of sigv4.py) and checks paging, filter and
group semantics, validation and signature errors, every fault kind, the
control API and the expectation endpoint; then the BigQuery checks
(selftest_bigquery.py) and the Azure checks (selftest_azure.py).  Last line: "N passed, M failed";
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
import urllib.error
import urllib.parse
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
                 signed=None, order=None, auth_order=None):
    """order: sign the canonical headers in this (unsorted) order instead of sorted;
    auth_order: list the names in the Authorization header's SignedHeaders in this order."""
    amz_date = amz_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = dict(headers)
    headers["x-amz-date"] = amz_date
    names = list(order) if order is not None else sorted(signed if signed is not None else headers)
    canon = "".join("%s:%s\n" % (n, " ".join(headers[n].split())) for n in names)
    creq = "\n".join((method, path, "", canon, ";".join(names), hashlib.sha256(body).hexdigest()))
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(("AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()))
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = _hmac(key, part)
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, ";".join(auth_order or names), sig)
    return headers


class Resp:
    def __init__(self, status, headers, body, header_list=()):
        self.status, self.headers, self.body = status, headers, body
        self.header_list = list(header_list)   # (name, value) as received, duplicates kept

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
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data, r.getheaders())
        except Exception:
            self.conn.close()
            self.conn = None
            raise

    def call(self, op, body, akid=AKID, secret=SECRET, token=None, sign_token=True, path="/", sign_path=None,
             region="us-east-1", service="ce", amz_date=None, content_type="application/x-amz-json-1.1",
             tamper=None, signed=None, unsigned_auth=False, order=None, auth_order=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"host": "127.0.0.1:%d" % self.port, "content-type": content_type,
             "x-amz-target": "AWSInsightsIndexService." + op}
        if token is not None and sign_token:
            h["x-amz-security-token"] = token
        if unsigned_auth:
            h["x-amz-date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        else:
            h = sign_headers("POST", sign_path or path, h, raw, akid, secret, region, service, amz_date, signed,
                             order, auth_order)
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
    # the server counts a request out after its answer is sent: wait for it
    for _ in range(50):
        st = json.loads(control(port, "stats"))
        if st["in_flight"] == 0:
            break
        time.sleep(0.05)
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
    for _ in range(50):
        st = json.loads(control(port, "stats"))
        if st["in_flight"] == 0:
            break
        time.sleep(0.05)
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
    # the times are reported, not checked: timings belong to bench/
    check("the next page answers", r2.status == 200, r2.status)
    print("info: 5000-group page %.3f s (cold), %.3f s (cached aggregate)" % (first, second))
    post(port, "reset")


# --- CloudWatch ----------------------------------------------------------------------

NOW = (TODAY - datetime.date(1970, 1, 1)).days * 86400   # TODAY 00:00:00Z, the CloudWatch clock
H, D = 3600, 86400
CW_PREFIX = "GraniteServiceVersion20100801."


def iid(n, region="us-east-1"):
    return "i-0a1b2c3d4e5f6%04x" % ({"us-east-1": 0, "us-west-2": 0x1000, "eu-west-1": 0x2000}[region] + n)


class CwClient(Client):
    def cw(self, op, body, region="us-east-1", host=None, service="monitoring", akid=AKID, secret=SECRET, token=None,
           content_type="application/x-amz-json-1.0", scope_region=None, unsigned_auth=False, order=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"host": host or "127.0.0.1:%d" % self.port, "content-type": content_type,
             "x-amz-target": CW_PREFIX + op, "x-amzn-query-mode": "true"}
        if token is not None:
            h["x-amz-security-token"] = token
        if unsigned_auth:
            h["x-amz-date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        else:
            h = sign_headers("POST", "/", h, raw, akid, secret, scope_region or region, service, order=order)
        if host is None:
            del h["host"]   # http.client sends the same value itself
        return self.raw("POST", "/", h, raw)

    def gmd_pages(self, body, region="us-east-1"):
        body = dict(body)
        pages = []
        while True:
            r = self.cw("GetMetricData", body, region)
            if r.status != 200:
                raise AssertionError("GetMetricData failed: %s %s" % (r.status, r.body[:300]))
            j = r.json()
            pages.append(j)
            if "NextToken" not in j:
                return pages
            body["NextToken"] = j["NextToken"]

    def gmd(self, queries, start, end, region="us-east-1", **kw):
        """{id: [(t, v)] ascending} over all pages."""
        body = dict({"MetricDataQueries": queries, "StartTime": start, "EndTime": end}, **kw)
        out = {}
        for p in self.gmd_pages(body, region):
            for res in p["MetricDataResults"]:
                out.setdefault(res["Id"], []).extend(zip(res["Timestamps"], res["Values"]))
        return {k: sorted(v) for k, v in out.items()}


def mq(qid, ns, name, dims, period, stat, **kw):
    q = {"Id": qid, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name,
                                              "Dimensions": [{"Name": k, "Value": v} for k, v in dims]},
                                   "Period": period, "Stat": stat}}
    if "unit" in kw:
        q["MetricStat"]["Unit"] = kw.pop("unit")
    q.update(kw)
    return q


def cw_expect(port, region, ns, name, dims, stat, period, start, end):
    q = "region=%s&namespace=%s&metric=%s&stat=%s&period=%d&start=%s&end=%s" % (
        region, urllib.request.quote(ns, safe=""), name, stat, period, start, end)
    q += "".join("&dim.%s=%s" % (k, urllib.request.quote(v, safe="")) for k, v in dims)
    out = []
    for line in control(port, "expect/aws_metrics?" + q).splitlines():
        t, v = line.split("\t")
        out.append((int(t), float(v)))
    return out


def test_cw_numbers(port, c):
    import aws_cw
    cases = {1704067200: "1.7040672E9", 1795478400: "1.7954784E9", 12.5: "12.5", 100.0: "100.0", 0.0: "0.0",
             0.0001: "1.0E-4", 1e-5: "1.0E-5", 12345678.9: "1.23456789E7", 1e7: "1.0E7", 9999999.0: "9999999.0",
             0.001: "0.001", -2.5e-7: "-2.5E-7", 1.15e14: "1.15E14", 123456789012.0: "1.23456789012E11"}
    bad = {k: aws_cw.jnum(k) for k, v in cases.items() if aws_cw.jnum(k) != v}
    check("cw: JVM double formatting", not bad, bad)
    check("cw: JVM doubles parse back exactly", all(float(aws_cw.jnum(x)) == x for x in
                                                    (0.1, 1 / 3, 2.0 ** 70, 5e-324, 1.7976931348623157e308, 31.4)))


def test_cw_auth(port, c):
    c = CwClient(port)
    body = {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"}
    r = c.cw("ListMetrics", body)
    check("cw auth ok", r.status == 200, r.body[:200])
    check("cw content-type", r.headers.get("content-type") == "application/x-amz-json-1.0", r.headers)
    check("cw request id", re.fullmatch(r"[0-9a-f-]{36}", r.headers.get("x-amzn-requestid", "")) is not None)
    r = c.cw("ListMetrics", body, service="ce")
    check("cw wrong service", r.status == 403 and r.type == "InvalidSignatureException"
          and r.headers.get("x-amzn-query-error") == "SignatureDoesNotMatch;Sender"
          and "'monitoring'" in r.json()["message"], (r.status, r.body, r.headers.get("x-amzn-query-error")))
    r = c.cw("ListMetrics", body, akid="AKIAUNKNOWNKEY000000")
    check("cw unknown key", r.status == 400 and r.type == "UnrecognizedClientException"
          and r.headers.get("x-amzn-query-error") == "InvalidClientTokenId;Sender", r.body)
    r = c.cw("ListMetrics", body, unsigned_auth=True)
    check("cw missing auth", r.status == 400 and r.type == "MissingAuthenticationTokenException"
          and r.headers.get("x-amzn-query-error") == "MissingAuthenticationToken;Sender", r.body)
    r = c.cw("ListMetrics", body, secret="wrong")
    check("cw wrong secret", r.status == 403 and r.json()["message"] == sigv4.SIGNATURE_MISMATCH, r.body)
    r = c.cw("ListMetrics", body, akid=TMP_AKID, secret=TMP_SECRET, token=TMP_TOKEN)
    check("cw temporary credentials", r.status == 200, r.body[:200])
    r = c.cw("ListMetrics", body, akid=TMP_AKID, secret=TMP_SECRET, token="emulator-expired-token")
    check("cw expired token", r.status == 403 and r.type == "ExpiredTokenException"
          and r.headers.get("x-amzn-query-error") == "ExpiredToken;Sender", r.body)
    # The region: the Host's when it names a monitoring endpoint, else the credential scope's.
    eu_body = {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId"}]}
    r = c.cw("ListMetrics", eu_body, region="eu-west-1", host="monitoring.eu-west-1.amazonaws.com")
    ids = sorted(m["Dimensions"][0]["Value"] for m in r.json().get("Metrics", []))
    check("cw region from Host", r.status == 200 and ids == [iid(n, "eu-west-1") for n in range(1, 9)], r.body[:200])
    r = c.cw("ListMetrics", eu_body, region="us-east-1", host="monitoring.eu-west-1.amazonaws.com")
    check("cw scope region must match the Host's", r.status == 403 and r.type == "InvalidSignatureException"
          and "'us-east-1'" in r.json()["message"] and "eu-west-1" in r.json()["message"], r.body)
    r = c.cw("ListMetrics", eu_body, region="eu-west-1")
    ids2 = sorted(m["Dimensions"][0]["Value"] for m in r.json().get("Metrics", []))
    check("cw region from the credential scope on loopback", r.status == 200 and ids2 == ids, r.body[:200])
    r = c.cw("ListMetrics", eu_body, region="mars-central")
    check("cw invalid region", r.status == 403 and r.type == "InvalidSignatureException", r.body)
    r = c.cw("ListMetrics", eu_body, region="ap-southeast-2")
    check("cw other valid region is empty", r.status == 200 and r.json()["Metrics"] == [], r.body[:200])
    r = c.cw("ListMetrics", body, content_type="application/x-amz-json-1.1")
    check("cw wrong content type", r.status == 400 and r.type == "com.amazon.coral.service#UnknownOperationException",
          r.body)
    r = c.cw("PutMetricData", {"Namespace": "x"})
    check("cw unknown operation", r.status == 400 and r.json() == {
        "__type": "com.amazon.coral.service#UnknownOperationException"}
        and r.headers.get("x-amzn-query-error") == "InvalidAction;Sender", r.body)
    r = c.cw("ListMetrics", b"{nope")
    check("cw invalid JSON", r.status == 400 and r.type == "com.amazon.coral.service#SerializationException", r.body)


def test_cw_list_metrics(port, c):
    c = CwClient(port)

    def all_metrics(body, region="us-east-1"):
        body = dict(body)
        out, pages = [], 0
        while True:
            r = c.cw("ListMetrics", body, region)
            assert r.status == 200, r.body
            j = r.json()
            out += j["Metrics"]
            pages += 1
            if "NextToken" not in j:
                return out, pages
            body["NextToken"] = j["NextToken"]

    res = control(port, "resources?region=us-east-1&type=ec2").split()
    ms, _ = all_metrics({"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                         "Dimensions": [{"Name": "InstanceId"}]})
    check("ListMetrics: one CPU series per instance", sorted(m["Dimensions"][0]["Value"] for m in ms) == sorted(res)
          and len(ms) == 64, len(ms))
    check("ListMetrics: metric shape", ms[0] == {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                                                 "Dimensions": [{"Name": "InstanceId", "Value": ms[0]["Dimensions"][0]
                                                                 ["Value"]}]}, ms[0])
    cpu, _ = all_metrics({"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"})
    kinds = {tuple(d["Name"] for d in m["Dimensions"]) for m in cpu}
    check("ListMetrics: aggregates to filter out", {(), ("AutoScalingGroupName",), ("InstanceType",),
                                                    ("InstanceId",)} == kinds, kinds)
    one, _ = all_metrics({"Namespace": "AWS/EC2", "Dimensions": [{"Name": "InstanceId", "Value": iid(1)}]})
    check("ListMetrics: dimension value filter", sorted(m["MetricName"] for m in one) == [
        "CPUUtilization", "DiskReadBytes", "DiskWriteBytes", "NetworkIn", "NetworkOut", "StatusCheckFailed"], one)
    every, pages = all_metrics({})
    keys = [(m["Namespace"], m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for m in every]
    check("ListMetrics: paging (500 a page), no duplicates", pages == 2 and len(set(keys)) == len(keys) > 500,
          (pages, len(keys)))
    nss = {k[0] for k in keys}
    check("ListMetrics: namespaces", nss == {"AWS/EC2", "AWS/RDS", "AWS/Lambda", "AWS/DynamoDB", "AWS/S3", "AWS/ELB",
                                             "AWS/ApplicationELB"}, nss)
    s3 = [k for k in keys if k[0] == "AWS/S3"]
    check("ListMetrics: S3 storage types", ("AWS/S3", "BucketSizeBytes", (("BucketName", "northwind-data-lake"),
                                                                         ("StorageType", "StandardStorage"))) in s3
          and ("AWS/S3", "NumberOfObjects", (("BucketName", "northwind-data-lake"),
                                             ("StorageType", "AllStorageTypes"))) in s3, s3[:4])
    usw2, _ = all_metrics({"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                           "Dimensions": [{"Name": "InstanceId"}]}, "us-west-2")
    check("ListMetrics: us-west-2 has 12 live instances (terminated one not listed)", len(usw2) == 12, len(usw2))
    post(port, "config", {"today": "2026-03-01"})
    usw2b, _ = all_metrics({"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                            "Dimensions": [{"Name": "InstanceId"}]}, "us-west-2")
    post(port, "config", {"today": TODAY.isoformat()})
    check("ListMetrics: lists what existed 'now' (config today)", len(usw2b) == 13, len(usw2b))
    recent, _ = all_metrics({"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                             "Dimensions": [{"Name": "InstanceId"}], "RecentlyActive": "PT3H"})
    check("ListMetrics: RecentlyActive is a subset", 0 < len(recent) <= 64 and all(m in ms for m in recent), len(recent))
    r = c.cw("ListMetrics", {"RecentlyActive": "PT1H"})
    check("ListMetrics: RecentlyActive enum", r.status == 400 and r.json()["message"] == (
        "1 validation error detected: Value 'PT1H' at 'recentlyActive' failed to satisfy constraint: Member must "
        "satisfy enum value set: [PT3H]") and r.headers.get("x-amzn-query-error") == "ValidationError;Sender", r.body)
    r = c.cw("ListMetrics", {"NextToken": "garbage"})
    check("ListMetrics: bad token", r.status == 400 and r.type.endswith("#InvalidParameterValueException")
          and r.headers.get("x-amzn-query-error") == "InvalidParameterValue;Sender", r.body)
    r = c.cw("ListMetrics", {"Dimensions": [{"Value": "x"}]})
    check("ListMetrics: filter needs a Name", r.status == 400 and "dimensions.1.member.name" in r.json()["message"],
          r.body)
    r = c.cw("ListMetrics", {"IncludeLinkedAccounts": True, "Namespace": "AWS/S3"})
    j = r.json()
    check("ListMetrics: OwningAccounts", len(j["OwningAccounts"]) == len(j["Metrics"]) > 0, j.get("OwningAccounts"))


def test_cw_get_metric_data(port, c):
    c = CwClient(port)
    web = ("AWS/EC2", "CPUUtilization", [("InstanceId", iid(1))])
    cases = [
        ("ec2 cpu avg 1h", "us-east-1", web, "Average", 3600, NOW - 2 * D, NOW),
        ("ec2 cpu max 5m", "us-east-1", web, "Maximum", 300, NOW - 6 * H, NOW - H),
        ("ec2 net sum 1m", "us-east-1", ("AWS/EC2", "NetworkOut", [("InstanceId", iid(5))]), "Sum", 60,
         NOW - 2 * H, NOW),
        ("basic monitoring at 1m", "us-east-1", ("AWS/EC2", "CPUUtilization", [("InstanceId", iid(0x20))]),
         "Average", 60, NOW - 2 * H, NOW),
        ("s3 daily", "us-east-1", ("AWS/S3", "BucketSizeBytes", [("BucketName", "northwind-data-lake"),
                                                                 ("StorageType", "StandardStorage")]),
         "Average", 86400, NOW - 30 * D, NOW),
        ("s3 at 1h: only the daily points", "us-east-1",
         ("AWS/S3", "NumberOfObjects", [("StorageType", "AllStorageTypes"), ("BucketName", "northwind-logs")]),
         "Average", 3600, NOW - 3 * D, NOW),
        ("lambda invocations 5m", "us-east-1", ("AWS/Lambda", "Invocations", [("FunctionName", "image-resize")]),
         "Sum", 300, NOW - D, NOW),
        ("alb p99", "us-east-1", ("AWS/ApplicationELB", "TargetResponseTime",
                                  [("LoadBalancer", "app/web-prod/50dc6c495c0c9188")]), "p99", 60, NOW - 2 * H, NOW),
        ("rds old hourly", "us-east-1", ("AWS/RDS", "CPUUtilization", [("DBInstanceIdentifier", "northwind-prod-db")]),
         "p50.5", 3600, NOW - 100 * D, NOW - 98 * D),
        ("aggregate", "us-east-1", ("AWS/EC2", "CPUUtilization", []), "Average", 3600, NOW - D, NOW),
        ("ddb latency", "us-east-1", ("AWS/DynamoDB", "SuccessfulRequestLatency",
                                      [("TableName", "orders"), ("Operation", "Query")]), "SampleCount", 900,
         NOW - D, NOW),
        ("eu region", "eu-west-1", ("AWS/EC2", "CPUUtilization", [("InstanceId", iid(1, "eu-west-1"))]), "Minimum",
         3600, NOW - D, NOW),
        ("unaligned start", "us-east-1", web, "Average", 3600, NOW - 2 * D + 37, NOW),
        ("float times", "us-east-1", web, "Sum", 600, NOW - 5 * H + 0.25, NOW - 0.5),
    ]
    for name, region, (ns, metric, dims), stat, period, start, end in cases:
        got = c.gmd([mq("q", ns, metric, dims, period, stat)], start, end, region).get("q", [])
        exp = cw_expect(port, region, ns, metric, dims, stat, period, start, end)
        check("GetMetricData = expectation: " + name, got and got == exp, "%d vs %d %s %s" % (
            len(got), len(exp), got[:2], exp[:2]))
    got = c.gmd([mq("q", *web, 3600, "Average")], NOW - 2 * D + 37, NOW)["q"]
    check("GetMetricData: StartTime rounded to the minute (< 15 days)", got[0][0] == (NOW - 2 * D) and
          all(t % 3600 == 0 for t, _ in got), got[:2])
    got = c.gmd([mq("q", *web, 3600, "Average")], NOW - 2 * D + 120, NOW)["q"]
    check("GetMetricData: buckets start at the rounded StartTime", got[0][0] == NOW - 2 * D + 120, got[:1])
    got = c.gmd([mq("q", *web, 3600, "Average")], NOW - 20 * D + 420, NOW - 19 * D)["q"]
    check("GetMetricData: StartTime rounded to 5 min (15-63 days)", got[0][0] == NOW - 20 * D + 300, got[:1])
    got = c.gmd([mq("q", *web, 3600, "Average")], NOW - 70 * D + 1800, NOW - 69 * D)["q"]
    check("GetMetricData: StartTime rounded to 1 h (> 63 days)", got[0][0] == NOW - 70 * D, got[:1])

    # raw response shape
    r = c.cw("GetMetricData", {"MetricDataQueries": [mq("m0", *web, 3600, "Average")], "StartTime": NOW - 3 * H,
                               "EndTime": NOW})
    j = r.json()
    res = j["MetricDataResults"][0]
    check("GetMetricData: response shape", r.status == 200 and list(j) == ["MetricDataResults", "Messages"]
          and j["Messages"] == [] and list(res) == ["Id", "Label", "Timestamps", "Values", "StatusCode"]
          and res["Id"] == "m0" and res["Label"] == "CPUUtilization" and res["StatusCode"] == "Complete"
          and len(res["Timestamps"]) == 3, j)
    check("GetMetricData: default ScanBy TimestampDescending", res["Timestamps"] == [NOW - H, NOW - 2 * H, NOW - 3 * H],
          res["Timestamps"])
    check("GetMetricData: timestamps printed like the JVM (1.7954748E9)", b'"Timestamps":[1.7958204E9,' in r.body,
          r.body[:200])
    asc = c.cw("GetMetricData", {"MetricDataQueries": [mq("m0", *web, 3600, "Average")], "StartTime": NOW - 3 * H,
                                 "EndTime": NOW, "ScanBy": "TimestampAscending"}).json()["MetricDataResults"][0]
    check("GetMetricData: ScanBy TimestampAscending", asc["Timestamps"] == res["Timestamps"][::-1]
          and asc["Values"] == res["Values"][::-1])

    # statistics are consistent
    stats = ("Average", "Sum", "Minimum", "Maximum", "SampleCount", "p10", "p50", "p90", "p99")
    for label, (ns, metric, dims), period, span in (
            ("cpu", web, 3600, 2 * D), ("cpu 5m", web, 300, 6 * H),
            ("lambda", ("AWS/Lambda", "Duration", [("FunctionName", "order-webhook")]), 3600, D),
            ("agg", ("AWS/EC2", "NetworkIn", [("AutoScalingGroupName", "web-prod-asg")]), 900, 6 * H)):
        qs = [mq("s%d" % i, ns, metric, dims, period, st) for i, st in enumerate(stats)]
        g = c.gmd(qs, NOW - span, NOW)
        v = {st: dict(g["s%d" % i]) for i, st in enumerate(stats)}
        ok = bool(v["Average"])
        for t in v["Average"]:
            a, s, lo, hi, n = (v[k][t] for k in ("Average", "Sum", "Minimum", "Maximum", "SampleCount"))
            ps = [v[k][t] for k in ("p10", "p50", "p90", "p99")]
            ok &= lo <= a <= hi and abs(s - a * n) <= 1e-9 * max(1.0, abs(s)) and n == int(n) and n >= 1
            ok &= all(lo <= p <= hi for p in ps) and ps == sorted(ps)
        check("GetMetricData: statistics consistent (%s)" % label, ok)
    # sub-buckets add up
    s5 = c.gmd([mq("a", *web, 300, "Sum"), mq("b", *web, 300, "SampleCount"), mq("c", *web, 300, "Maximum")],
               NOW - 4 * H, NOW)
    s60 = c.gmd([mq("a", *web, 3600, "Sum"), mq("b", *web, 3600, "SampleCount"), mq("c", *web, 3600, "Maximum")],
                NOW - 4 * H, NOW)
    ok = True
    for t, v in s60["a"]:
        part = [x for x in s5["a"] if t <= x[0] < t + H]
        ok &= abs(sum(x[1] for x in part) - v) <= 1e-9 * v
        ok &= sum(x[1] for x in s5["b"] if t <= x[0] < t + H) == dict(s60["b"])[t]
        ok &= max(x[1] for x in s5["c"] if t <= x[0] < t + H) == dict(s60["c"])[t]
    check("GetMetricData: 5-minute buckets add up to the hour", ok and len(s60["a"]) == 4)

    # period versus age of the data
    def empty(period, start, end, stat="Average"):
        r = c.cw("GetMetricData", {"MetricDataQueries": [mq("m0", *web, period, stat)], "StartTime": start,
                                   "EndTime": end})
        res = r.json()["MetricDataResults"][0]
        return r.status == 200 and res["Timestamps"] == [] and res["Values"] == [] and res["StatusCode"] == "Complete"

    check("age rule: 1-minute data older than 15 days -> nothing", empty(60, NOW - 16 * D, NOW - 15 * D - H))
    check("age rule: 1-minute data within 15 days is served", not empty(60, NOW - 14 * D, NOW - 14 * D + H))
    check("age rule: 5-minute data older than 63 days -> nothing", empty(300, NOW - 64 * D, NOW - 63 * D - H))
    check("age rule: 5-minute data within 63 days is served", not empty(300, NOW - 62 * D, NOW - 62 * D + H))
    check("age rule: 90 s period older than 15 days -> nothing", empty(120, NOW - 16 * D, NOW - 16 * D + H))
    check("age rule: sub-minute period older than 3 h -> nothing", empty(10, NOW - 4 * H, NOW - 3 * H - 60))
    check("age rule: sub-minute period within 3 h is served", not empty(10, NOW - 2 * H, NOW - H))
    check("retention: nothing older than 455 days", empty(3600, NOW - 470 * D, NOW - 456 * D))
    got = c.gmd([mq("q", *web, 3600, "Average")], NOW - 460 * D, NOW - 450 * D)["q"]
    check("retention: the window is clipped at 455 days", got and got[0][0] >= NOW - 455 * D
          and got[0][0] - (NOW - 455 * D) < H, got[:1])
    got = c.gmd([mq("q", *web, 3600, "Average")], NOW - 3 * H, NOW + 2 * D)["q"]
    check("no datapoints after now", [t for t, _ in got] == [NOW - 3 * H, NOW - 2 * H, NOW - H], got)
    got = c.gmd([mq("q", *web, 3600, "Average")], NOW - 5 * H, NOW - 2 * H)["q"]
    check("EndTime exclusive", [t for t, _ in got] == [NOW - 5 * H, NOW - 4 * H, NOW - 3 * H], got)
    sub = c.gmd([mq("q", *web, 60, "SampleCount")], NOW - 10 * 60, NOW - 7 * 60 - 30)["q"]
    check("sub-minute EndTime clips the last bucket", [t for t, _ in sub] == [NOW - 600, NOW - 540, NOW - 480], sub)

    # the company's resources behave
    stopped = c.gmd([mq("q", "AWS/EC2", "CPUUtilization", [("InstanceId", iid(0x11))], 86400, "Average")],
                    resources_epoch("2026-10-05"), resources_epoch("2026-10-25"))["q"]
    days = [datetime.datetime.fromtimestamp(t, datetime.timezone.utc).date().isoformat() for t, _ in stopped]
    check("stopped instance has a gap", len(days) == 10 and "2026-10-09" in days and "2026-10-10" not in days
          and "2026-10-19" not in days and "2026-10-20" in days, days)
    idle = [l for l in json.loads(control(port, "resources?region=us-east-1&type=ec2&format=json"))
            if l["profile"] == "idle"]
    g = c.gmd([mq("q%d" % i, "AWS/EC2", "CPUUtilization", [("InstanceId", r["id"])], 3600, "Average")
               for i, r in enumerate(idle)], NOW - 7 * D, NOW)
    check("idle instances: CPU < 5 %", len(g) == len(idle) == 10 and all(v < 5 for s in g.values() for _, v in s))
    busy = c.gmd([mq("q", "AWS/EC2", "CPUUtilization", [("InstanceId", iid(0x1b))], 3600, "Average")],
                 NOW - 7 * D, NOW)["q"]
    check("busy instance: CPU > 60 %", all(v > 60 for _, v in busy) and len(busy) == 168)
    dev = c.gmd([mq("q", "AWS/EC2", "CPUUtilization", [("InstanceId", iid(0x27))], 3600, "Average")],
                NOW - 7 * D, NOW)["q"]
    check("dev instance: stopped nights and weekends", 0 < len(dev) < 100, len(dev))
    diurnal = c.gmd([mq("q", "AWS/ApplicationELB", "RequestCount", [("LoadBalancer", "app/web-prod/50dc6c495c0c9188")],
                        3600, "Sum")], NOW - D, NOW)["q"]
    vals = [v for _, v in diurnal]
    check("diurnal cycle", len(vals) == 24 and max(vals) > 2.5 * min(vals), vals[:4])
    incident = c.gmd([mq("q", "AWS/EC2", "StatusCheckFailed", [("InstanceId", iid(3))], 3600, "Maximum")],
                     resources_epoch("2026-11-03"), resources_epoch("2026-11-04"))["q"]
    check("status check incident", [datetime.datetime.fromtimestamp(t, datetime.timezone.utc).hour
                                    for t, v in incident if v == 1.0] == [14, 15, 16], incident)
    s3h = c.gmd([mq("q", "AWS/S3", "BucketSizeBytes", [("BucketName", "northwind-prod-assets"),
                                                        ("StorageType", "StandardStorage")], 3600, "Average")],
                NOW - 3 * D, NOW)["q"]
    check("S3: one point a day at 00:00Z even with a 1 h period", [t for t, _ in s3h] == [NOW - 3 * D, NOW - 2 * D,
                                                                                      NOW - D], s3h)

    # query options
    g = c.gmd([mq("a", *web, 3600, "Average", unit="Bytes"), mq("b", *web, 3600, "Average", unit="Percent"),
               mq("c", "AWS/EC2", "CPUUtilization", [("InstanceId", "i-doesnotexist")], 3600, "Average")],
              NOW - 3 * H, NOW)
    check("Unit filter and unknown series", g["a"] == [] and len(g["b"]) == 3 and g["c"] == [], g)
    r = c.cw("GetMetricData", {"MetricDataQueries": [mq("a", *web, 3600, "Average"), mq("b", *web, 3600, "Maximum"),
                                                     mq("c", *web, 300, "Maximum", Label="mine"),
                                                     mq("d", *web, 3600, "Minimum", ReturnData=False)],
                               "StartTime": NOW - 3 * H, "EndTime": NOW})
    labels = {x["Id"]: x["Label"] for x in r.json()["MetricDataResults"]}
    check("labels like CloudWatch, ReturnData false omitted", labels == {
        "a": "CPUUtilization Average", "b": "CPUUtilization Maximum", "c": "mine"}, labels)

    # paging: 30 queries x 48 points, 100 datapoints a page
    qs = [mq("q%d" % i, "AWS/EC2", "CPUUtilization", [("InstanceId", iid(i + 1))], 3600, "Average")
          for i in range(30)]
    body = {"MetricDataQueries": qs, "StartTime": NOW - 2 * D, "EndTime": NOW, "MaxDatapoints": 100}
    pages = c.gmd_pages(body)
    whole = c.gmd(qs, NOW - 2 * D, NOW)
    merged = {}
    for p in pages:
        for x in p["MetricDataResults"]:
            merged.setdefault(x["Id"], []).extend(zip(x["Timestamps"], x["Values"]))
    npts = [sum(len(x["Timestamps"]) for x in p["MetricDataResults"]) for p in pages]
    check("paging: pages of MaxDatapoints", len(pages) == 15 and npts == [100] * 14 + [40], npts)
    check("paging: pages add up to the whole", {k: sorted(v) for k, v in merged.items()} == whole)
    check("paging: newest data first across all series", all(
        min(x["Timestamps"]) >= max(y["Timestamps"]) for x in pages[0]["MetricDataResults"] if x["Timestamps"]
        for y in pages[-1]["MetricDataResults"] if y["Timestamps"]))
    st0 = {x["Id"]: x["StatusCode"] for x in pages[0]["MetricDataResults"]}
    stl = {x["Id"]: x["StatusCode"] for x in pages[-1]["MetricDataResults"]}
    check("paging: PartialData until the last page", set(st0.values()) == {"PartialData"}
          and set(stl.values()) == {"Complete"} and len(st0) == 30, (st0, stl))
    r = c.cw("GetMetricData", dict(body, NextToken=pages[0]["NextToken"], MaxDatapoints=50))
    check("paging: changed request -> InvalidNextToken", r.status == 400
          and r.type == "com.amazonaws.cloudwatch#InvalidNextToken"
          and r.headers.get("x-amzn-query-error") == "InvalidNextToken;Sender", r.body)
    r = c.cw("GetMetricData", dict(body, NextToken="bm9wZQ=="))
    check("paging: bad token -> InvalidNextToken", r.status == 400 and r.type.endswith("#InvalidNextToken"), r.body)
    big = [mq("q%d" % i, "AWS/EC2", "CPUUtilization", [("InstanceId", iid(i % 64 + 1))] if i < 64 else
              [("InstanceId", iid(i % 64 + 1))], 3600, ("Average", "Maximum")[i // 64]) for i in range(120)]
    bp = c.gmd_pages({"MetricDataQueries": big, "StartTime": NOW - 40 * D, "EndTime": NOW})
    n0 = sum(len(x["Values"]) for x in bp[0]["MetricDataResults"])
    check("paging: default MaxDatapoints 100,800", len(bp) == 2 and n0 == 100800, (len(bp), n0))

    # validation
    def err(body):
        r = c.cw("GetMetricData", body)
        try:
            return r.status, r.type, r.json().get("message", ""), r.headers.get("x-amzn-query-error")
        except ValueError:
            return r.status, None, r.body, None

    ok_q = mq("m0", *web, 3600, "Average")
    base_b = {"MetricDataQueries": [ok_q], "StartTime": NOW - D, "EndTime": NOW}
    cases = [
        ("missing StartTime", {"MetricDataQueries": [ok_q], "EndTime": NOW}, "ValidationError",
         "1 validation error detected: Value null at 'startTime' failed to satisfy constraint: Member must not be null"),
        ("Id pattern", dict(base_b, MetricDataQueries=[dict(ok_q, Id="1abc")]), "ValidationError",
         "The value 1abc for parameter MetricDataQueries.member.1.Id is not matching the expected pattern "
         "^[a-z][a-zA-Z0-9_]*$."),
        ("Id characters", dict(base_b, MetricDataQueries=[dict(ok_q, Id="a-b")]), "ValidationError", "The value a-b"),
        ("duplicate Ids", dict(base_b, MetricDataQueries=[ok_q, ok_q]), "ValidationError", "The values for parameter Id"),
        ("too many queries", dict(base_b, MetricDataQueries=[dict(ok_q, Id="m%d" % i) for i in range(501)]),
         "ValidationError", "The collection MetricDataQueries must not contain more than 500 items."),
        ("period 45", dict(base_b, MetricDataQueries=[mq("m0", *web, 45, "Average")]), "ValidationError",
         "The parameter MetricDataQueries.member.1.MetricStat.Period must be"),
        ("period 90", dict(base_b, MetricDataQueries=[mq("m0", *web, 90, "Average")]), "ValidationError",
         "The parameter MetricDataQueries.member.1.MetricStat.Period"),
        ("period 0", dict(base_b, MetricDataQueries=[mq("m0", *web, 0, "Average")]), "ValidationError",
         "1 validation error detected: Value '0' at 'metricDataQueries.1.member.metricStat.period' failed to "
         "satisfy constraint: Member must have value greater than or equal to 1"),
        ("bad stat", dict(base_b, MetricDataQueries=[mq("m0", *web, 60, "Avg")]), "ValidationError",
         "The value Avg for parameter MetricDataQueries.member.1.MetricStat.Stat"),
        ("bad percentile", dict(base_b, MetricDataQueries=[mq("m0", *web, 60, "p101")]), "ValidationError",
         "The value p101"),
        ("bad unit", dict(base_b, MetricDataQueries=[mq("m0", *web, 60, "Average", unit="Percents")]),
         "ValidationError", "1 validation error detected: Value 'Percents' at "
                            "'metricDataQueries.1.member.metricStat.unit'"),
        ("start == end", dict(base_b, StartTime=NOW, EndTime=NOW), "ValidationError",
         "The parameter StartTime must not equal parameter EndTime."),
        ("start > end", dict(base_b, StartTime=NOW, EndTime=NOW - D), "ValidationError",
         "The parameter EndTime must be greater than StartTime."),
        ("ScanBy enum", dict(base_b, ScanBy="Newest"), "ValidationError",
         "1 validation error detected: Value 'Newest' at 'scanBy' failed to satisfy constraint: Member must satisfy "
         "enum value set: [TimestampDescending, TimestampAscending]"),
        ("expression", dict(base_b, MetricDataQueries=[{"Id": "e1", "Expression": "SUM(METRICS())"}]),
         "ValidationError", ""),
        ("stat and expression", dict(base_b, MetricDataQueries=[dict(ok_q, Expression="m1*2")]), "ValidationError",
         "Exactly one of MetricStat and Expression"),
        ("no queries", dict(base_b, MetricDataQueries=[]), "ValidationError", ""),
        ("MaxDatapoints 0", dict(base_b, MaxDatapoints=0), "ValidationError", ""),
        ("missing namespace", dict(base_b, MetricDataQueries=[{"Id": "m0", "MetricStat": {
            "Metric": {"MetricName": "CPUUtilization"}, "Period": 60, "Stat": "Average"}}]), "MissingParameter",
         "The parameter MetricDataQueries.member.1.MetricStat.Metric.Namespace is required."),
    ]
    for name, body_, legacy, prefix in cases:
        s, t, m, q = err(body_)
        check("GetMetricData validation: " + name, s == 400 and q == legacy + ";Sender" and m.startswith(prefix),
              (s, t, m, q))
    s, t, m, q = err(dict(base_b, StartTime="2026-11-27T00:00:00Z"))
    check("GetMetricData: string timestamp is a serialization error",
          s == 400 and t == "com.amazon.coral.service#SerializationException", (s, t, m))
    s, t, m, q = err(dict(base_b, Unknown=1))
    check("GetMetricData: unknown member", s == 400 and t == "com.amazon.coral.service#SerializationException", m)


def resources_epoch(day):
    import resources
    return resources.epoch(day)


def test_cw_get_metric_statistics(port, c):
    c = CwClient(port)
    dims = [{"Name": "InstanceId", "Value": iid(2)}]
    body = {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Dimensions": dims, "StartTime": NOW - D,
            "EndTime": NOW, "Period": 3600, "Statistics": ["Average", "Sum", "Maximum", "Minimum", "SampleCount"]}
    r = c.cw("GetMetricStatistics", body)
    j = r.json()
    dps = j["Datapoints"]
    ts = [d["Timestamp"] for d in dps]
    check("GetMetricStatistics: 24 datapoints, label, unit", r.status == 200 and len(dps) == 24
          and j["Label"] == "CPUUtilization" and all(d["Unit"] == "Percent" for d in dps), r.body[:300])
    check("GetMetricStatistics: unordered", ts != sorted(ts) and ts != sorted(ts, reverse=True)
          and sorted(ts) == [NOW - D + i * H for i in range(24)])
    check("GetMetricStatistics: datapoint members in model order", list(dps[0]) == [
        "Timestamp", "SampleCount", "Average", "Sum", "Minimum", "Maximum", "Unit"], list(dps[0]))
    g = c.gmd([mq("a", "AWS/EC2", "CPUUtilization", [("InstanceId", iid(2))], 3600, "Average"),
               mq("x", "AWS/EC2", "CPUUtilization", [("InstanceId", iid(2))], 3600, "Maximum")], NOW - D, NOW)
    check("GetMetricStatistics = GetMetricData", sorted((d["Timestamp"], d["Average"]) for d in dps) == g["a"]
          and sorted((d["Timestamp"], d["Maximum"]) for d in dps) == g["x"])
    r = c.cw("GetMetricStatistics", dict(body, Statistics=None, ExtendedStatistics=["p90", "p99.9"]))
    d0 = r.json()["Datapoints"][0]
    check("GetMetricStatistics: ExtendedStatistics", r.status == 200 and list(d0) == [
        "Timestamp", "Unit", "ExtendedStatistics"] and set(d0["ExtendedStatistics"]) == {"p90", "p99.9"}, d0)
    r = c.cw("GetMetricStatistics", dict(body, StartTime=NOW - 2 * D, Period=60))
    check("GetMetricStatistics: 1,440 datapoint limit", r.status == 400
          and r.type == "com.amazonaws.cloudwatch#InvalidParameterCombinationException"
          and r.headers.get("x-amzn-query-error") == "InvalidParameterCombination;Sender"
          and r.json()["message"] == "You have requested up to 2,880 datapoints, which exceeds the limit of 1,440. "
                                     "You may reduce the datapoints requested by increasing Period, or decreasing "
                                     "the time range.", r.body)
    r = c.cw("GetMetricStatistics", dict(body, StartTime=NOW - D, Period=60))
    check("GetMetricStatistics: exactly 1,440 is fine", r.status == 200 and len(r.json()["Datapoints"]) == 1440)
    for name, b, code in (("both stat kinds", dict(body, ExtendedStatistics=["p90"]), "InvalidParameterCombination"),
                          ("no stats", dict(body, Statistics=None), "MissingParameter"),
                          ("no namespace", dict(body, Namespace=None), "MissingParameter"),
                          ("period 45", dict(body, Period=45), "InvalidParameterValue"),
                          ("bad statistic", dict(body, Statistics=["Avg"]), "ValidationError")):
        r = c.cw("GetMetricStatistics", b)
        check("GetMetricStatistics validation: " + name, r.status == 400
              and r.headers.get("x-amzn-query-error") == code + ";Sender", r.body)


def test_cw_faults_log(port, c):
    c = CwClient(port)
    post(port, "reset")
    lm = {"Namespace": "AWS/S3"}
    post(port, "fault", {"kind": "throttle", "target": "GraniteServiceVersion20100801.ListMetrics"})
    r = c.cw("ListMetrics", lm)
    check("cw fault throttle", r.status == 400 and r.json() == {
        "__type": "com.amazon.coral.availability#ThrottlingException", "message": "Rate exceeded"}
        and r.headers.get("x-amzn-query-error") == "Throttling;Sender"
        and r.headers.get("content-type") == "application/x-amz-json-1.0", (r.body, r.headers))
    post(port, "fault", {"kind": "throttle"})
    r = c.cu(base())
    check("ce fault throttle unchanged", r.json() == {"__type": "LimitExceededException", "message": "Rate exceeded"})
    post(port, "fault", {"kind": "throttle", "region": "eu-west-1"})
    r1 = c.cw("ListMetrics", lm, "us-east-1")
    r2 = c.cw("ListMetrics", lm, "eu-west-1")
    check("cw fault region filter", r1.status == 200 and r2.status == 400, (r1.status, r2.status))
    post(port, "fault", {"kind": "throttle", "region": "us-east-1", "target": "GetCostAndUsage"})
    check("region filter applies to Cost Explorer (us-east-1)", c.cu(base()).status == 400)
    post(port, "fault", {"kind": "error", "target": "GetMetricData"})
    r = c.cw("GetMetricData", {"MetricDataQueries": [mq("m0", "AWS/S3", "x", [], 60, "Sum")], "StartTime": NOW - H,
                               "EndTime": NOW})
    check("cw fault error", r.status == 403 and r.headers.get("x-amzn-query-error") == "AccessDenied;Sender"
          and "cloudwatch:GetMetricData" in r.json()["message"], r.body)
    post(port, "fault", {"kind": "http500"})
    r = c.cw("ListMetrics", lm)
    check("cw fault http500", r.status == 500 and r.type == "com.amazonaws.cloudwatch#InternalServiceFault"
          and r.headers.get("x-amzn-query-error") == "InternalServiceError;Receiver", r.body)
    post(port, "fault", {"kind": "http503"})
    check("cw fault http503", c.cw("ListMetrics", lm).status == 503)
    post(port, "fault", {"kind": "throttle", "code": "Throttling", "query_error": None})
    r = c.cw("ListMetrics", lm)
    check("cw fault overrides", r.type == "Throttling" and "x-amzn-query-error" not in r.headers, r.headers)
    post(port, "fault", {"kind": "malformed"})
    r = c.cw("ListMetrics", lm)
    check("cw fault malformed", r.status == 200 and r.body.startswith(b'{"Metrics": [ {'), r.body)
    post(port, "fault", {"kind": "wrong_shape"})
    check("cw fault wrong_shape", c.cw("ListMetrics", lm).json() == {"Metrics": 42})
    full = c.cw("ListMetrics", lm).body
    post(port, "fault", {"kind": "truncated"})
    r = c.cw("ListMetrics", lm)
    check("cw fault truncated", r.status == 200 and int(r.headers["content-length"]) == len(r.body)
          and full.startswith(r.body) and len(r.body) < len(full))
    post(port, "fault", {"kind": "cut"})
    try:
        c.cw("ListMetrics", lm)
        check("cw fault cut", False)
    except http.client.IncompleteRead:
        check("cw fault cut", True)
    c = CwClient(port)
    post(port, "fault", {"kind": "drop", "target": "ListMetrics"})
    try:
        c.cw("ListMetrics", lm)
        check("cw fault drop", False)
    except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
        check("cw fault drop", True)
    c = CwClient(port)
    post(port, "reset")

    post(port, "config", {"page_size": 500})
    gb = {"MetricDataQueries": [mq("m%d" % i, "AWS/EC2", "CPUUtilization", [("InstanceId", iid(1))], 3600, "Average")
                                for i in range(3)], "StartTime": NOW - 3 * H, "EndTime": NOW, "MaxDatapoints": 4}
    c.gmd_pages(gb)
    c.cw("ListMetrics", lm, "eu-west-1", secret="wrong")
    c.cu(base())
    post(port, "fault", {"kind": "slow", "delay": 0.01, "target": "ListMetrics"})
    c.cw("ListMetrics", lm, "us-west-2")
    lines = control(port, "requests").splitlines()
    canon = json.dumps(gb, sort_keys=True, separators=(",", ":"))
    check("cw log line", lines[0] == "GetMetricData us-east-1 " + canon, lines[0])
    check("cw log NextToken placeholder", lines[1] == "GetMetricData us-east-1 " + json.dumps(
        dict(gb, NextToken="<token>"), sort_keys=True, separators=(",", ":")), lines[1])
    check("cw log error marker", lines[3] == 'ListMetrics eu-west-1 {"Namespace":"AWS/S3"} '
                                            '[error=InvalidSignatureException]', lines[3])
    check("ce log line unchanged", lines[4] == "GetCostAndUsage " + json.dumps(base(), sort_keys=True,
                                                                               separators=(",", ":")), lines[4])
    check("cw log fault marker", lines[5] == 'ListMetrics us-west-2 {"Namespace":"AWS/S3"} [fault=slow]', lines[5])
    js = json.loads(control(port, "requests?format=json"))
    check("cw log json region", js[0]["region"] == "us-east-1" and js[0]["headers"]["x-amz-target"] ==
          "GraniteServiceVersion20100801.GetMetricData", js[0])
    st = json.loads(control(port, "stats"))
    check("stats by operation (both services)", st["by_operation"] == {"GetCostAndUsage": 1, "GetMetricData": 3,
                                                                      "ListMetrics": 2}, st)
    post(port, "reset")

    # latency applies to CloudWatch and does not serialise: 16 requests in parallel
    post(port, "config", {"latency_ms": 100})
    results = [None] * 16
    barrier = threading.Barrier(16)

    def one(i):
        cl = CwClient(port)
        barrier.wait()
        results[i] = cl.cw("ListMetrics", {"Namespace": "AWS/ELB"}, ("us-east-1", "us-west-2")[i % 2]).status
    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    t0 = time.time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.time() - t0
    st = json.loads(control(port, "stats"))
    # in parallel: 16 in a row would take 1.6 s at least
    check("16-request burst with 100 ms latency served in parallel", results == [200] * 16 and took < 1.5
          and st["max_in_flight"] >= 12, (took, st["max_in_flight"], results))
    print("info: 16 concurrent CloudWatch requests with latency 100 ms: %.3f s, max_in_flight %d"
          % (took, st["max_in_flight"]))
    post(port, "reset")


def test_cw_expect_endpoint(port, c):
    try:
        control(port, "expect/aws_metrics?region=us-east-1&namespace=AWS/EC2&metric=CPUUtilization&stat=Average")
        check("expect aws_metrics: missing parameters are 400", False)
    except urllib.error.HTTPError as e:
        check("expect aws_metrics: missing parameters are 400", e.code == 400)
    text = control(port, "expect/aws_metrics?region=us-east-1&namespace=AWS/EC2&metric=CPUUtilization"
                         "&dim.InstanceId=%s&stat=p90&period=3600&start=%d&end=%d" % (iid(1), NOW - D, NOW))
    rows = [l.split("\t") for l in text.splitlines()]
    check("expect aws_metrics: 24 ascending lines, repr floats", len(rows) == 24 and
          [int(r[0]) for r in rows] == [NOW - D + i * H for i in range(24)] and
          all(repr(float(r[1])) == r[1] for r in rows), rows[:2])
    check("expect aws_metrics: unknown series is empty", control(
        port, "expect/aws_metrics?region=us-east-1&namespace=AWS/EC2&metric=CPUUtilization&dim.InstanceId=i-x"
              "&stat=Average&period=60&start=%d&end=%d" % (NOW - H, NOW)) == "")


def test_resources_endpoint(port, c):
    def ids(q):
        return control(port, "resources?" + q).split()
    ec2 = {r: ids("region=%s&type=ec2" % r) for r in ("us-east-1", "us-west-2", "eu-west-1")}
    check("resources: ec2 counts", [len(ec2[r]) for r in ("us-east-1", "us-west-2", "eu-west-1")] == [64, 12, 8],
          {k: len(v) for k, v in ec2.items()})
    check("resources: example ids", ec2["us-east-1"][0] == "i-0a1b2c3d4e5f60001"
          and ec2["us-east-1"][-1] == "i-0a1b2c3d4e5f60040" and ec2["us-west-2"][0] == "i-0a1b2c3d4e5f61001")
    check("resources: all=1 includes terminated", len(ids("region=us-west-2&type=ec2&all=1")) == 13)
    check("resources: alb ids", "app/web-prod/50dc6c495c0c9188" in ids("region=us-east-1&type=alb"))
    counts = {t: len(ids("region=us-east-1&type=" + t)) for t in ("rds", "lambda", "dynamodb", "s3", "elb", "alb")}
    check("resources: other types", counts == {"rds": 4, "lambda": 10, "dynamodb": 5, "s3": 6, "elb": 2, "alb": 3},
          counts)
    check("resources: unknown region is empty", ids("region=ap-south-1&type=ec2") == [])
    js = json.loads(control(port, "resources?region=us-east-1&type=ec2&format=json"))
    check("resources: json attributes", js[0]["instance_type"] == "m5.large" and js[0]["asg"] == "web-prod-asg"
          and js[0]["profile"] == "web", js[0])
    try:
        control(port, "resources?region=us-east-1&type=vm")
        check("resources: bad type is 400", False)
    except urllib.error.HTTPError as e:
        check("resources: bad type is 400", e.code == 400)


def test_bench(port, c):
    c = CwClient(port)
    info = json.loads(post(port, "bench", {"ce_pages": 3, "ce_groups_per_page": 2500, "cw_series": 4,
                                           "cw_points": 60000}))
    check("bench: summary", info["ce"]["pages"] == 3 and info["ce"]["rows"] == 7500 and info["cw"]["pages"] == 3
          and info["cw"]["datapoints"] == 240000, info)
    check("bench: GET summary", json.loads(control(port, "bench")) == info)
    raw = [urllib.request.urlopen("http://127.0.0.1:%d/_emulator/bench/ce/%d" % (port, k)).read() for k in range(3)]
    body = base("2026-01-01", "2026-02-01", "DAILY")
    pages = []
    while True:
        r = c.cu(body)
        pages.append(r.body)
        j = r.json()
        if "NextPageToken" not in j:
            break
        body = dict(body, NextPageToken=j["NextPageToken"])
    rows = sum(len(x["Groups"]) for p in pages for x in json.loads(p)["ResultsByTime"])
    check("bench: GetCostAndUsage serves the pre-rendered pages", pages == raw and rows == 7500, (len(pages), rows))
    j0 = json.loads(raw[0])
    amounts = [g["Metrics"]["UnblendedCost"]["Amount"] for x in j0["ResultsByTime"] for g in x["Groups"]]
    check("bench: CE page shape", j0["GroupDefinitions"] == [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                                                             {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]
          and all(AMOUNT_RE.match(a) for a in amounts) and len(j0["ResultsByTime"]) == 2, j0["ResultsByTime"][0]["TimePeriod"])
    qs = [mq("m%d" % i, "X", "Y", [], 60, "Average") for i in range(4)]
    gb = {"MetricDataQueries": qs, "StartTime": 0, "EndTime": 1}
    cw_pages = c.gmd_pages(gb)
    raw_cw = [urllib.request.urlopen("http://127.0.0.1:%d/_emulator/bench/cw/%d" % (port, k)).read()
              for k in range(3)]
    r0 = c.cw("GetMetricData", gb)
    n = [sum(len(x["Values"]) for x in p["MetricDataResults"]) for p in cw_pages]
    check("bench: GetMetricData serves the pre-rendered pages", r0.body == raw_cw[0] and n == [100800, 100800, 38400],
          n)
    other = c.gmd([mq("alpha", "X", "Y", [], 60, "Sum"), mq("beta", "X", "Y", [], 60, "Sum")], 0, 1)
    check("bench: other Ids map by position", sorted(other) == ["alpha", "beta"]
          and [len(v) for v in other.values()] == [60000, 60000])
    post(port, "reset")
    check("bench: reset turns it off", json.loads(control(port, "bench")) == {"enabled": False}
          and "NextPageToken" not in c.cu(base()).json())
    # throughput of one large page through the API path (informational; see README for curl numbers)
    post(port, "bench", {"ce_pages": 2, "ce_groups_per_page": 60000})
    t0 = time.time()
    r = c.cu(base())
    dt = time.time() - t0
    print("info: bench CE page %.1f MB via the API in %.3f s (%.0f MB/s, Python client)" % (
        len(r.body) / 1e6, dt, len(r.body) / 1e6 / dt))
    post(port, "reset")


# --- SigV4: sorted signed headers ----------------------------------------------------

def test_sigv4_sorted_headers(port, c):
    body = base()
    unsorted = ["x-amz-target", "host", "x-amz-date", "content-type"]
    r = c.cu(body, order=unsorted)
    check("sigv4: unsorted canonical headers refused", r.status == 403 and r.json() == {
        "__type": "InvalidSignatureException", "message": sigv4.SIGNATURE_MISMATCH}, r.body)
    r = c.cu(body, order=sorted(unsorted))
    check("sigv4: sorted canonical headers accepted", r.status == 200, r.body[:200])
    r = c.cu(body, auth_order=unsorted)
    check("sigv4: a SignedHeaders list out of order is refused, as AWS does", r.status == 403 and r.json() == {
        "__type": "InvalidSignatureException", "message": sigv4.SIGNATURE_MISMATCH}, r.body[:200])
    r = c.cu(body, auth_order=[h.upper() if h == "host" else h for h in sorted(unsorted)])
    check("sigv4: a SignedHeaders list not in lower case is refused", r.status == 403, r.body[:200])
    r = CwClient(port).cw("ListMetrics", {"Namespace": "AWS/S3"}, order=["x-amz-target", "x-amz-date", "host",
                                                                         "content-type", "x-amzn-query-mode"])
    check("sigv4: unsorted canonical headers refused (CloudWatch)", r.status == 403
          and r.headers.get("x-amzn-query-error") == "SignatureDoesNotMatch;Sender", r.body)
    # the same at the function level, against the suite's post-x-www-form-urlencoded vector
    now = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
    creds = {"AKIDEXAMPLE": {"secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": None}}
    hs = [("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com"),
          ("X-Amz-Date", "20150830T123600Z")]
    names = ["x-amz-date", "host", "content-type"]       # what a client that forgot to sort signs
    creq = "\n".join(("POST", "/", "", "".join("%s:%s\n" % (n, dict((k.lower(), v) for k, v in hs)[n])
                                                for n in names), ";".join(names),
                      hashlib.sha256(b"Param1=value1").hexdigest()))
    sig = sigv4.signature(creds["AKIDEXAMPLE"]["secret"], "20150830T123600Z",
                          "20150830/us-east-1/service/aws4_request", creq)
    for label, signed in (("unsorted list", ";".join(names)), ("sorted list", "content-type;host;x-amz-date")):
        auth = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=%s, Signature=%s" % (signed, sig))
        try:
            sigv4.verify("POST", "/", "", hs + [("Authorization", auth)], b"Param1=value1", region="us-east-1",
                         service="service", now=now, credentials=creds)
            ok = False
        except sigv4.AuthError as e:
            ok = e.code == "InvalidSignatureException" and e.message == sigv4.SIGNATURE_MISMATCH
        check("sigv4: unsorted canonical block refused (%s)" % label, ok)


# --- STS -----------------------------------------------------------------------------------

STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
FORM = "application/x-www-form-urlencoded"
READER = "arn:aws:iam::111111111111:role/finops-reader"
PARTNER = "arn:aws:iam::222222222222:role/partner-billing"
USER_ARN = "arn:aws:iam::111111111111:user/finops-reader"


class StsClient(Client):
    def sts(self, params, akid=AKID, secret=SECRET, token=None, region="us-east-1", service="sts",
            content_type=FORM, raw_body=None, host=None, unsigned_auth=False, sign_token=True):
        if raw_body is not None:
            body = raw_body
        else:
            body = "&".join("%s=%s" % (urllib.parse.quote(k, safe=""), urllib.parse.quote(str(v), safe=""))
                            for k, v in params).encode()
        h = {"host": host or "127.0.0.1:%d" % self.port, "content-type": content_type}
        if token is not None and sign_token:
            h["x-amz-security-token"] = token
        if unsigned_auth:
            h["x-amz-date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        else:
            h = sign_headers("POST", "/", h, body, akid, secret, region, service)
        if token is not None and not sign_token:
            h["x-amz-security-token"] = token
        if host is None:
            del h["host"]
        return self.raw("POST", "/", h, body)

    def assume(self, role=READER, session="finops_usage", duration=None, external_id=None, **kw):
        params = [("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", role),
                  ("RoleSessionName", session)]
        if duration is not None:
            params.append(("DurationSeconds", duration))
        if external_id is not None:
            params.append(("ExternalId", external_id))
        return self.sts(params, **kw)

    def whoami(self, **kw):
        return self.sts([("Action", "GetCallerIdentity"), ("Version", "2011-06-15")], **kw)


def xml_of(resp):
    import xml.etree.ElementTree as ET
    return ET.fromstring(resp.body)


def sts_err(resp):
    """(status, Type, Code, Message) of an STS error answer (None fields when not one)."""
    try:
        root = xml_of(resp)
    except Exception:
        return resp.status, None, None, None
    if root.tag != STS_NS + "ErrorResponse":
        return resp.status, None, None, None
    e = root.find(STS_NS + "Error")
    return (resp.status, e.findtext(STS_NS + "Type"), e.findtext(STS_NS + "Code"),
            e.findtext(STS_NS + "Message"))


def creds_of(resp):
    root = xml_of(resp)
    cr = root.find(STS_NS + "AssumeRoleResult/" + STS_NS + "Credentials")
    return {k: cr.findtext(STS_NS + k) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}


def test_sts_assume_role(port, c):
    post(port, "reset")
    s = StsClient(port)
    r = s.whoami()
    root = xml_of(r)
    res = root.find(STS_NS + "GetCallerIdentityResult")
    check("sts GetCallerIdentity (long-term key)", r.status == 200 and root.tag == STS_NS + "GetCallerIdentityResponse"
          and [e.tag[len(STS_NS):] for e in res] == ["Arn", "UserId", "Account"]
          and res.findtext(STS_NS + "Arn") == USER_ARN and res.findtext(STS_NS + "Account") == "111111111111"
          and re.fullmatch(r"AIDA[A-Z0-9]{16}", res.findtext(STS_NS + "UserId") or ""), r.body)
    check("sts content type and request id", r.headers.get("content-type") == "text/xml"
          and re.fullmatch(r"[0-9a-f-]{36}", r.headers.get("x-amzn-requestid", "")) is not None
          and root.findtext(STS_NS + "ResponseMetadata/" + STS_NS + "RequestId") == r.headers["x-amzn-requestid"],
          r.headers)
    r = s.whoami(akid=TMP_AKID, secret=TMP_SECRET, token=TMP_TOKEN)
    res = xml_of(r).find(STS_NS + "GetCallerIdentityResult")
    role_id = (res.findtext(STS_NS + "UserId") or "").split(":")[0]
    check("sts GetCallerIdentity (temporary key)", r.status == 200 and res.findtext(STS_NS + "Arn") ==
          "arn:aws:sts::111111111111:assumed-role/finops-reader/emulator"
          and re.fullmatch(r"AROA[A-Z0-9]{16}:emulator", res.findtext(STS_NS + "UserId") or ""), r.body)

    t0 = time.time()
    r = s.assume(duration=900, region="eu-west-1")
    root = xml_of(r)
    result = root.find(STS_NS + "AssumeRoleResult")
    check("sts AssumeRole ok", r.status == 200 and root.tag == STS_NS + "AssumeRoleResponse"
          and [e.tag[len(STS_NS):] for e in result] == ["AssumedRoleUser", "Credentials"], r.body)
    user = result.find(STS_NS + "AssumedRoleUser")
    check("sts AssumedRoleUser", [e.tag[len(STS_NS):] for e in user] == ["AssumedRoleId", "Arn"]
          and user.findtext(STS_NS + "AssumedRoleId") == role_id + ":finops_usage"
          and user.findtext(STS_NS + "Arn") == "arn:aws:sts::111111111111:assumed-role/finops-reader/finops_usage",
          r.body)
    cr = creds_of(r)
    check("sts credentials shape", [e.tag[len(STS_NS):] for e in result.find(STS_NS + "Credentials")] ==
          ["AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]
          and re.fullmatch(r"ASIA[A-Z0-9]{16}", cr["AccessKeyId"]) is not None
          and len(cr["SecretAccessKey"]) == 40 and "/" in cr["SecretAccessKey"] and "+" in cr["SecretAccessKey"]
          and len(cr["SessionToken"]) >= 300 and all(ch in cr["SessionToken"] for ch in "/+=")
          and "PackedPolicySize" not in r.body.decode(), cr)
    exp = datetime.datetime.strptime(cr["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    check("sts Expiration = now + DurationSeconds", abs(exp - (t0 + 900)) <= 3, (cr["Expiration"], t0))
    check("sts body layout", r.body.startswith(b'<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                                               b'\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n') and
          r.body.endswith(b"  </ResponseMetadata>\n</AssumeRoleResponse>\n"), r.body[:120])
    r2 = s.assume(duration=900)
    check("sts: every AssumeRole issues new credentials", creds_of(r2)["AccessKeyId"] != cr["AccessKeyId"])

    # the issued credentials work everywhere, with their (signed) token
    kw = dict(akid=cr["AccessKeyId"], secret=cr["SecretAccessKey"], token=cr["SessionToken"])
    check("issued credentials: Cost Explorer", c.cu(base(), **kw).status == 200)
    cw = CwClient(port)
    check("issued credentials: CloudWatch", cw.cw("ListMetrics", {"Namespace": "AWS/S3"}, **kw).status == 200)
    r = s.whoami(**kw)
    res = xml_of(r).find(STS_NS + "GetCallerIdentityResult")
    check("issued credentials: GetCallerIdentity", r.status == 200 and res.findtext(STS_NS + "Arn") ==
          "arn:aws:sts::111111111111:assumed-role/finops-reader/finops_usage"
          and res.findtext(STS_NS + "UserId") == role_id + ":finops_usage", r.body)
    r = c.cu(base(), akid=cr["AccessKeyId"], secret=cr["SecretAccessKey"])
    check("issued credentials: token required", r.status == 403 and r.type == "UnrecognizedClientException", r.body)
    r = c.cu(base(), sign_token=False, **kw)
    check("issued credentials: token must be signed", r.status == 403 and r.type == "InvalidSignatureException",
          r.body)
    r = c.cu(base(), akid=cr["AccessKeyId"], secret=cr["SecretAccessKey"], token=creds_of(r2)["SessionToken"])
    check("issued credentials: another session's token", r.status == 403 and r.type == "UnrecognizedClientException")

    # roles, trust, durations, chaining
    r = s.assume(PARTNER, duration=43200, external_id="northwind-ext-42")
    pc = creds_of(r) if r.status == 200 else {}
    arn = xml_of(r).findtext(STS_NS + "AssumeRoleResult/" + STS_NS + "AssumedRoleUser/" + STS_NS + "Arn")
    check("sts partner role with ExternalId, 12 h", r.status == 200 and arn ==
          "arn:aws:sts::222222222222:assumed-role/partner-billing/finops_usage", r.body[:300])
    denied = "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
    for label, resp, caller, role in (
            ("wrong ExternalId", s.assume(PARTNER, external_id="northwind-ext-43"), USER_ARN, PARTNER),
            ("missing ExternalId", s.assume(PARTNER), USER_ARN, PARTNER),
            ("unknown role", s.assume("arn:aws:iam::111111111111:role/admin"), USER_ARN,
             "arn:aws:iam::111111111111:role/admin"),
            ("untrusted account", s.assume(READER, akid=pc.get("AccessKeyId"), secret=pc.get("SecretAccessKey"),
                                           token=pc.get("SessionToken")),
             "arn:aws:sts::222222222222:assumed-role/partner-billing/finops_usage", READER)):
        check("sts AccessDenied: " + label, sts_err(resp) == (403, "Sender", "AccessDenied", denied % (caller, role)),
              sts_err(resp))
    r = s.assume(duration=7200)
    check("sts DurationSeconds above MaxSessionDuration", sts_err(r) == (
        400, "Sender", "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this "
                                          "role."), sts_err(r))
    chained = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    r = s.assume(PARTNER, duration=7200, external_id="northwind-ext-42", **kw)
    check("sts role chaining (issued credentials) > 1 h", sts_err(r) == (400, "Sender", "ValidationError", chained),
          sts_err(r))
    r = s.assume(PARTNER, duration=7200, external_id="northwind-ext-42", akid=TMP_AKID, secret=TMP_SECRET,
                 token=TMP_TOKEN)
    check("sts role chaining (emulator temporary key) > 1 h", sts_err(r)[2:] == ("ValidationError", chained))
    r = s.assume(PARTNER, duration=3600, external_id="northwind-ext-42", **kw)
    check("sts role chaining 1 h ok", r.status == 200, r.body[:300])
    r = s.assume(PARTNER, external_id="northwind-ext-42", **kw)
    check("sts role chaining default duration ok", r.status == 200, r.body[:300])

    # validation
    v = "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must %s"
    for label, resp, message in (
            ("duration 100", s.assume(duration=100), v % ("100", "durationSeconds",
                                                          "have value greater than or equal to 900")),
            ("duration 43201", s.assume(PARTNER, duration=43201, external_id="northwind-ext-42"),
             v % ("43201", "durationSeconds", "have value less than or equal to 43200")),
            ("session pattern", s.assume(session="a b"), v % ("a b", "roleSessionName",
                                                              r"satisfy regular expression pattern: [\w+=,.@-]*")),
            ("session length", s.assume(session="a"), v % ("a", "roleSessionName",
                                                            "have length greater than or equal to 2")),
            ("session length 65", s.assume(session="s" * 65), v % ("s" * 65, "roleSessionName",
                                                                   "have length less than or equal to 64")),
            ("role arn length", s.assume("arn:aws:iam::1:r"), v % ("arn:aws:iam::1:r", "roleArn",
                                                                   "have length greater than or equal to 20")),
            ("external id pattern", s.assume(PARTNER, external_id="north wind"),
             v % ("north wind", "externalId", r"satisfy regular expression pattern: [\w+=,.@:\/-]*")),
            ("two errors", s.assume(session="a", duration=100),
             "2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must "
             "have length greater than or equal to 2; Value '100' at 'durationSeconds' failed to satisfy "
             "constraint: Member must have value greater than or equal to 900")):
        check("sts validation: " + label, sts_err(resp) == (400, "Sender", "ValidationError", message),
              sts_err(resp))
    r = s.sts([("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", READER)])
    check("sts MissingParameter", sts_err(r) == (400, "Sender", "MissingParameter",
                                                 "The request must contain the parameter RoleSessionName"), sts_err(r))
    r = s.sts([("Action", "AssumeRole"), ("Version", "2011-06-15")])
    check("sts MissingParameter RoleArn first", sts_err(r)[2:] == (
        "MissingParameter", "The request must contain the parameter RoleArn"), sts_err(r))
    r = s.sts([("Action", "GetSessionToken"), ("Version", "2011-06-15")])
    check("sts InvalidAction", sts_err(r) == (400, "Sender", "InvalidAction",
                                              "Could not find operation GetSessionToken for version 2011-06-15"),
          sts_err(r))
    r = s.sts([("Action", "GetCallerIdentity")])
    check("sts missing Version", sts_err(r)[2:] == (
        "InvalidAction", "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED"), sts_err(r))
    r = s.sts([("Version", "2011-06-15")])
    check("sts missing Action", sts_err(r)[:3] == (400, "Sender", "MissingAction"), sts_err(r))
    check("sts error body layout", r.body.startswith(
        b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n    <Type>Sender</Type>\n')
        and xml_of(r).findtext(STS_NS + "RequestId") == r.headers.get("x-amzn-requestid")
        and r.headers.get("content-type") == "text/xml", r.body)

    # form encoding: '+' is a space, '; charset=utf-8' accepted, percent-encoding decoded
    body = ("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Ffinops-reader"
            "&RoleSessionName=a+b").encode()
    r = s.sts(None, raw_body=body, content_type="application/x-www-form-urlencoded; charset=utf-8")
    check("sts form: '+' decodes to a space", sts_err(r)[3] == v % (
        "a b", "roleSessionName", r"satisfy regular expression pattern: [\w+=,.@-]*"), sts_err(r))
    r = s.sts(None, raw_body=body.replace(b"a+b", b"a%2Bb"),
              content_type="application/x-www-form-urlencoded; charset=utf-8")
    check("sts form: charset parameter, %2B", r.status == 200, r.body[:300])

    # authentication errors in the Query protocol
    for label, resp, want in (
            ("unknown key", s.whoami(akid="AKIAUNKNOWNKEY000000"),
             (403, "Sender", "InvalidClientTokenId", "The security token included in the request is invalid.")),
            ("wrong secret", s.whoami(secret="wrong"), (403, "Sender", "SignatureDoesNotMatch",
                                                         sigv4.SIGNATURE_MISMATCH)),
            ("no Authorization", s.whoami(unsigned_auth=True), (403, "Sender", "MissingAuthenticationToken",
                                                                "Request is missing Authentication Token")),
            ("expired token", s.whoami(akid=TMP_AKID, secret=TMP_SECRET, token="emulator-expired-token"),
             (400, "Sender", "ExpiredToken", "The security token included in the request is expired"))):
        check("sts auth: " + label, sts_err(resp) == want, sts_err(resp))
    r = s.whoami(region="mars")
    check("sts auth: invalid region", sts_err(r)[:3] == (403, "Sender", "SignatureDoesNotMatch")
          and "not 'mars'" in sts_err(r)[3], sts_err(r))
    r = s.whoami(region="eu-west-2", host="sts.eu-west-2.amazonaws.com")
    check("sts regional endpoint Host", r.status == 200, r.body[:300])
    r = s.whoami(region="us-east-1", host="sts.eu-west-2.amazonaws.com")
    check("sts scope must match the endpoint's region", sts_err(r)[:3] == (403, "Sender", "SignatureDoesNotMatch"),
          sts_err(r))
    r = s.whoami(region="us-east-1", host="sts.amazonaws.com")
    check("sts global endpoint Host (us-east-1)", r.status == 200, r.body[:300])
    r = s.whoami(content_type="application/json")
    check("sts: a non-form body has no Action", sts_err(r)[2] == "MissingAction", sts_err(r))
    post(port, "reset")


def test_sts_expiry_log_faults(port, c):
    post(port, "reset")
    s = StsClient(port)
    cw = CwClient(port)
    cr = creds_of(s.assume(region="eu-west-1", duration=900))
    kw = dict(akid=cr["AccessKeyId"], secret=cr["SecretAccessKey"], token=cr["SessionToken"])
    check("sts expire: valid before", c.cu(base(), **kw).status == 200)
    check("sts expire endpoint", post(port, "sts/expire") == "ok")
    r = c.cu(base(), **kw)
    check("sts expired: Cost Explorer", r.status == 403 and r.json() == {
        "__type": "ExpiredTokenException", "message": "The security token included in the request is expired"},
        r.body)
    r = cw.cw("ListMetrics", {"Namespace": "AWS/S3"}, **kw)
    check("sts expired: CloudWatch", r.status == 403 and r.type == "ExpiredTokenException"
          and r.headers.get("x-amzn-query-error") == "ExpiredToken;Sender", r.body)
    r = s.whoami(**kw)
    check("sts expired: STS", sts_err(r) == (400, "Sender", "ExpiredToken",
                                             "The security token included in the request is expired"), sts_err(r))
    check("sts expired: the static keys still work", c.cu(base()).status == 200
          and c.cu(base(), akid=TMP_AKID, secret=TMP_SECRET, token=TMP_TOKEN).status == 200)

    # sts_credential_seconds: short-lived credentials, expiring in real time
    post(port, "config", {"sts_credential_seconds": 1})
    check("config sts_credential_seconds", json.loads(control(port, "config"))["sts_credential_seconds"] == 1)
    t0 = time.time()
    r = s.assume(duration=3600)
    cr = creds_of(r)
    exp = datetime.datetime.strptime(cr["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    check("sts_credential_seconds sets Expiration", abs(exp - (t0 + 1)) <= 2, (cr["Expiration"], t0))
    kw = dict(akid=cr["AccessKeyId"], secret=cr["SecretAccessKey"], token=cr["SessionToken"])
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    r = c.cu(base(), **kw)
    check("sts credentials expire on the real clock", r.status == 403 and r.type == "ExpiredTokenException", r.body)
    for bad in (0, "5", 1.5, True):
        try:
            post(port, "config", {"sts_credential_seconds": bad})
            check("config sts_credential_seconds rejects %r" % (bad,), False)
        except urllib.error.HTTPError as e:
            check("config sts_credential_seconds rejects %r" % (bad,), e.code == 400)
    post(port, "config", {"sts_credential_seconds": None})
    check("config sts_credential_seconds null", json.loads(control(port, "config"))["sts_credential_seconds"] is None)
    post(port, "config", {"sts_credential_seconds": 30})
    cr = creds_of(s.assume())
    post(port, "reset")
    check("reset clears sts_credential_seconds", json.loads(control(port, "config"))["sts_credential_seconds"]
          is None)
    r = c.cu(base(), akid=cr["AccessKeyId"], secret=cr["SecretAccessKey"], token=cr["SessionToken"])
    check("reset keeps issued credentials", r.status == 200, r.body)

    # request log, stats
    post(port, "reset")
    s.assume(duration=900, region="eu-west-1")
    s.whoami()
    s.assume(PARTNER, region="us-west-2")
    s.whoami(secret="wrong")
    post(port, "fault", {"kind": "throttle", "target": "AssumeRole"})
    r = s.assume(session="x@y.z", region="eu-west-1")
    check("sts fault throttle", sts_err(r) == (400, "Sender", "Throttling", "Rate exceeded"), sts_err(r))
    c.cu(base())
    lines = control(port, "requests").splitlines()
    check("sts log lines", lines == [
        "AssumeRole eu-west-1 DurationSeconds=900&RoleArn=arn:aws:iam::111111111111:role/finops-reader"
        "&RoleSessionName=finops_usage",
        "GetCallerIdentity us-east-1",
        "AssumeRole us-west-2 RoleArn=arn:aws:iam::222222222222:role/partner-billing&RoleSessionName=finops_usage"
        " [error=AccessDenied]",
        "GetCallerIdentity us-east-1 [error=SignatureDoesNotMatch]",
        "AssumeRole eu-west-1 RoleArn=arn:aws:iam::111111111111:role/finops-reader&RoleSessionName=x@y.z"
        " [fault=throttle]",
        "GetCostAndUsage " + json.dumps(base(), sort_keys=True, separators=(",", ":"))], lines)
    js = json.loads(control(port, "requests?format=json"))
    check("sts json log", [e["service"] for e in js] == ["sts"] * 5 + ["ce"] and js[0]["region"] == "eu-west-1"
          and js[0]["operation"] == "AssumeRole" and js[0]["status"] == 200 and js[2]["error"] == "AccessDenied"
          and js[0]["body"].startswith("Action=AssumeRole&") and not any(k.startswith("_") for k in js[0]), js[0])
    st = json.loads(control(port, "stats"))
    check("sts stats", st["by_operation"] == {"AssumeRole": 3, "GetCallerIdentity": 2, "GetCostAndUsage": 1}
          and st["by_service"] == {"ce": 1, "sts": 5}, st)

    # faults
    post(port, "reset")
    post(port, "fault", {"kind": "error", "target": "GetCallerIdentity", "status": 400,
                         "code": "RegionDisabledException", "message": "STS is not activated in this region"})
    r = s.whoami()
    check("sts fault error with status/code/message", sts_err(r) == (
        400, "Sender", "RegionDisabledException", "STS is not activated in this region"), sts_err(r))
    post(port, "fault", {"kind": "error", "target": "AssumeRole"})
    r = s.assume()
    check("sts fault error default", sts_err(r) == (403, "Sender", "AccessDenied", "User: %s is not authorized to "
                                                    "perform: sts:AssumeRole on resource: %s" % (USER_ARN, READER)),
          sts_err(r))
    post(port, "fault", {"kind": "throttle", "target": "GetCostAndUsage"})
    check("sts: a Cost Explorer fault does not apply", s.whoami().status == 200)
    post(port, "reset")
    post(port, "fault", {"kind": "http500", "target": "AssumeRole"})
    r = s.assume()
    check("sts fault http500", sts_err(r)[:3] == (500, "Receiver", "InternalFailure"), sts_err(r))
    post(port, "fault", {"kind": "http503"})
    r = s.whoami()
    check("sts fault http503", sts_err(r)[:3] == (503, "Receiver", "ServiceUnavailable"), sts_err(r))
    post(port, "fault", {"kind": "malformed", "target": "AssumeRole"})
    r = s.assume()
    try:
        xml_of(r)
        bad = False
    except Exception:
        bad = True
    check("sts fault malformed", r.status == 200 and bad and r.headers.get("content-type") == "text/xml", r.body)
    post(port, "fault", {"kind": "wrong_shape", "target": "AssumeRole"})
    r = s.assume()
    check("sts fault wrong_shape", r.status == 200 and xml_of(r).findtext(
        STS_NS + "AssumeRoleResult/" + STS_NS + "Credentials") == "42", r.body)
    good = s.whoami().body
    post(port, "fault", {"kind": "truncated", "target": "GetCallerIdentity"})
    r = s.whoami()
    check("sts fault truncated", r.status == 200 and len(r.body) < len(good) and
          int(r.headers["content-length"]) == len(r.body) and good[:40] == r.body[:40], r.body)
    post(port, "fault", {"kind": "cut", "target": "GetCallerIdentity"})
    try:
        s.whoami()
        check("sts fault cut", False)
    except http.client.IncompleteRead:
        check("sts fault cut", True)
    s = StsClient(port)
    post(port, "fault", {"kind": "drop", "target": "AssumeRole"})
    try:
        s.assume()
        check("sts fault drop", False)
    except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
        check("sts fault drop", True)
    s = StsClient(port)
    post(port, "fault", {"kind": "slow", "delay": 0.2, "target": "AssumeRole"})
    t0 = time.time()
    r = s.assume()
    check("sts fault slow", r.status == 200 and time.time() - t0 >= 0.2)
    post(port, "fault", {"kind": "throttle"})
    r = s.whoami(secret="wrong")
    check("sts: unauthenticated requests do not consume faults", sts_err(r)[2] == "SignatureDoesNotMatch"
          and len(json.loads(control(port, "faults"))) == 1)
    post(port, "reset")
    post(port, "config", {"latency_ms": 200})
    t0 = time.time()
    s.whoami()
    check("sts latency", time.time() - t0 >= 0.2)
    post(port, "reset")

    # concurrent AssumeRole calls: distinct credentials, all usable
    out = [None] * 12
    barrier = threading.Barrier(12)

    def one(i):
        cl = StsClient(port)
        barrier.wait()
        cr = creds_of(cl.assume(session="s%d" % i))
        out[i] = (cr["AccessKeyId"], cl.whoami(akid=cr["AccessKeyId"], secret=cr["SecretAccessKey"],
                                               token=cr["SessionToken"]).status)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    check("sts: concurrent AssumeRole", all(o and o[1] == 200 for o in out) and len({o[0] for o in out}) == 12, out)
    post(port, "reset")


# --- fault headers, 429 ----------------------------------------------------------------------

def _raw_http(port, request):
    """Send raw request bytes; everything the server sends until it closes."""
    import socket
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(request)
        chunks = []
        while True:
            b = sock.recv(65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        sock.close()


def test_fault_headers(port, c):
    post(port, "reset")
    cw = CwClient(port)
    s = StsClient(port)
    hdrs = {"Retry-After": "1", "x-anything": "v"}
    too_many = {"kind": "error", "status": 429, "code": "TooManyRequests", "message": "slow down", "headers": hdrs}
    post(port, "fault", dict(too_many, target="GetCostAndUsage"))
    r = c.cu(base())
    check("fault 429 Cost Explorer", r.status == 429 and r.body == b'{"__type":"TooManyRequests","message":"slow down"}'
          and r.headers.get("retry-after") == "1" and r.headers.get("x-anything") == "v", (r.status, r.body, r.headers))
    post(port, "fault", dict(too_many, target="ListMetrics"))
    r = cw.cw("ListMetrics", {"Namespace": "AWS/S3"})
    check("fault 429 CloudWatch", r.status == 429 and r.body == b'{"__type":"TooManyRequests","message":"slow down"}'
          and r.headers.get("retry-after") == "1" and r.headers.get("x-anything") == "v"
          and r.headers.get("content-type") == "application/x-amz-json-1.0", (r.status, r.body, r.headers))
    post(port, "fault", dict(too_many, target="ListMetrics", query_error="TooManyRequests;Sender"))
    r = cw.cw("ListMetrics", {"Namespace": "AWS/S3"})
    check("fault 429 CloudWatch with query_error", r.status == 429
          and r.headers.get("x-amzn-query-error") == "TooManyRequests;Sender", r.headers)

    calls = {
        "ce": (lambda: c.cu(base()), "GetCostAndUsage"),
        "cw": (lambda: cw.cw("ListMetrics", {"Namespace": "AWS/S3"}), "ListMetrics"),
        "sts": (lambda: s.whoami(), "GetCallerIdentity"),
    }
    tok = json.loads(test_token(port).body)["access_token"]
    tc = Client(port)
    calls["test"] = (lambda: tc.raw("GET", "/_test/items?total=3&size=2", {"Authorization": "Bearer " + tok}, None),
                     "TestItems")
    bad = []
    for svc, (call, target) in sorted(calls.items()):
        for kind in ("throttle", "error", "http500", "http503", "malformed", "wrong_shape", "truncated", "slow"):
            post(port, "fault", {"kind": kind, "target": target, "delay": 0.01, "headers": hdrs})
            r = call()
            if r.headers.get("retry-after") != "1" or r.headers.get("x-anything") != "v":
                bad.append((svc, kind, r.status))
    check("fault headers on every kind and service", not bad, bad)

    # cut: the headers go out before the connection is cut
    raw = json.dumps(base()).encode()
    h = sign_headers("POST", "/", {"host": "127.0.0.1:%d" % port, "content-type": "application/x-amz-json-1.1",
                                   "x-amz-target": "AWSInsightsIndexService.GetCostAndUsage"}, raw, AKID, SECRET)
    req = "POST / HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv for kv in h.items()) + \
          "content-length: %d\r\n\r\n" % len(raw)
    post(port, "fault", {"kind": "cut", "headers": hdrs})
    got = _raw_http(port, req.encode() + raw)
    head, _, rest = got.partition(b"\r\n\r\n")
    cl = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    check("fault headers on cut", b"\r\nRetry-After: 1\r\n" in head and b"\r\nx-anything: v\r\n" in head
          and len(rest) < cl, head)

    # a fault header replaces a same-named header; framing headers cannot be set
    post(port, "fault", {"kind": "throttle", "headers": {"Content-Type": "text/html", "x-amzn-RequestId": "fixed"}})
    r = c.cu(base())
    names = [k.lower() for k, _ in r.header_list]
    check("fault headers replace same-named headers", r.headers.get("content-type") == "text/html"
          and names.count("content-type") == 1 and r.headers.get("x-amzn-requestid") == "fixed"
          and names.count("x-amzn-requestid") == 1, r.header_list)
    for bad_headers in ({"Content-Length": "1"}, {"Connection": "close"}, {"x": 1}, {"bad name": "v"},
                        {"x-a": "a\r\nb"}, ["Retry-After"]):
        try:
            post(port, "fault", {"kind": "throttle", "headers": bad_headers})
            check("fault headers rejected: %r" % (bad_headers,), False)
        except urllib.error.HTTPError as e:
            check("fault headers rejected: %r" % (bad_headers,), e.code == 400)
    post(port, "reset")


# --- engine test service ---------------------------------------------------------------------

def test_token(port, client_id="test-client", secret="test-secret", grant="client_credentials", scope=None,
               basic=None):
    parts = []
    if grant is not None:
        parts.append("grant_type=" + grant)
    if client_id is not None:
        parts.append("client_id=" + client_id)
    if secret is not None:
        parts.append("client_secret=" + secret)
    if scope is not None:
        parts.append("scope=" + urllib.parse.quote(scope, safe=""))
    h = {"Content-Type": FORM}
    if basic:
        h["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    return Client(port).raw("POST", "/_test/token", h, "&".join(parts).encode())


class TestClient(Client):
    def __init__(self, port, token=None):
        super().__init__(port)
        self.token = token

    def get(self, path, token=None, headers=None):
        h = dict(headers or {})
        if token is not False and (token or self.token):
            h["Authorization"] = "Bearer " + (token or self.token)
        return self.raw("GET", path, h, None)

    def post_json(self, path, obj, token=None, content_type="application/json"):
        h = {"Content-Type": content_type, "Authorization": "Bearer " + (token or self.token)}
        return self.raw("POST", path, h, obj if isinstance(obj, bytes) else json.dumps(obj).encode())


def test_engine_tokens(port, c):
    post(port, "reset")
    r = test_token(port, scope="read all")
    first = r.json()["access_token"]
    n = int(first.rsplit("-", 1)[1])
    check("test token", r.status == 200 and r.body == b'{"token_type":"Bearer","expires_in":3600,'
                                                       b'"access_token":"' + first.encode() + b'"}'
          and r.headers.get("content-type") == "application/json", r.body)
    r = test_token(port)
    check("test token counts", r.json()["access_token"] == "test-token-%d" % (n + 1))
    r = test_token(port, client_id=None, secret=None, basic="test-client:test-secret")
    check("test token with HTTP Basic client auth",
          r.status == 200 and r.json()["access_token"] == "test-token-%d" % (n + 2))
    r = test_token(port, secret="nope")
    check("test token invalid_client", r.status == 401 and r.body == b'{"error":"invalid_client",'
                                                                     b'"error_description":"Client authentication '
                                                                     b'failed."}', r.body)
    r = test_token(port, client_id="other")
    check("test token unknown client", r.status == 401 and r.json()["error"] == "invalid_client")
    for grant in ("password", None):
        r = test_token(port, grant=grant)
        check("test token grant_type %s" % grant, r.status == 400 and r.body == b'{"error":"unsupported_grant_type"}',
              r.body)
    r = Client(port).raw("GET", "/_test/token", {}, None)
    check("test token: POST only", r.status == 405 and r.json() == {"error": "method_not_allowed"})
    post(port, "config", {"test_token_ttl": 2})
    r = test_token(port)
    check("config test_token_ttl", r.json()["expires_in"] == 2, r.body)
    t2 = r.json()["access_token"]
    tc = TestClient(port, first)
    check("bearer token accepted", tc.get("/_test/items?total=1&size=1").status == 200)
    r = tc.get("/_test/items?total=1&size=1", token=False)
    check("no token: unauthenticated", r.status == 401 and r.body == b'{"error":"unauthenticated"}', r.body)
    r = tc.get("/_test/items?total=1&size=1", token="test-token-99")
    check("unknown token: invalid_token", r.status == 401 and r.body == b'{"error":"invalid_token"}', r.body)
    r = tc.get("/_test/items?total=1&size=1", headers={"Authorization": "Basic dGVzdA=="}, token=False)
    check("basic auth on the API: unauthenticated", r.status == 401 and r.json() == {"error": "unauthenticated"})
    check("test/expire endpoint", post(port, "test/expire") == "ok")
    r = tc.get("/_test/items?total=1&size=1")
    check("expired token", r.status == 401 and r.body == b'{"error":"token_expired"}'
          and r.headers.get("www-authenticate") == 'Bearer error="invalid_token", error_description="The access '
                                                   'token expired"', (r.body, r.headers))
    check("expired: every issued token", tc.get("/_test/items?total=1&size=1", token=t2).status == 401)
    t = test_token(port).json()
    check("new token after expiry", tc.get("/_test/items?total=1&size=1", token=t["access_token"]).status == 200
          and t["expires_in"] == 2)
    post(port, "config", {"test_token_ttl": 1})
    t = test_token(port).json()["access_token"]
    check("ttl 1 s token works", tc.get("/_test/items?total=1&size=1", token=t).status == 200)
    time.sleep(1.05)
    r = tc.get("/_test/items?total=1&size=1", token=t)
    check("token expires on the real clock", r.status == 401 and r.json() == {"error": "token_expired"}, r.body)
    for bad in (0, "60", None):
        try:
            post(port, "config", {"test_token_ttl": bad})
            check("config test_token_ttl rejects %r" % (bad,), False)
        except urllib.error.HTTPError as e:
            check("config test_token_ttl rejects %r" % (bad,), e.code == 400)
    post(port, "reset")
    check("reset restores test_token_ttl", json.loads(control(port, "config"))["test_token_ttl"] == 3600)
    t = test_token(port).json()["access_token"]
    post(port, "reset")
    check("reset keeps tokens", tc.get("/_test/items?total=1&size=1", token=t).status == 200
          and test_token(port).json()["access_token"] != t)
    post(port, "reset")


def test_engine_items(port, c):
    post(port, "reset")
    tc = TestClient(port, test_token(port).json()["access_token"])
    q = urllib.parse.quote

    # query tokens
    r = tc.get("/_test/items?total=5&size=2")
    j = r.json()
    tok = j.get("nextPageToken", "")
    check("items: first page", r.status == 200 and j["items"] == [{"n": 1}, {"n": 2}]
          and r.body == b'{"items":[{"n":1},{"n":2}],"nextPageToken":' + json.dumps(tok).encode() + b"}"
          and r.headers.get("content-type") == "application/json", r.body)
    check("items: tokens need percent-encoding", all(ch in tok for ch in "+/="), tok)
    seen, query, pages = [], "total=5&size=2", 0
    while True:
        r = tc.get("/_test/items?" + query)
        j = r.json()
        seen += [x["n"] for x in j["items"]]
        pages += 1
        if "nextPageToken" not in j:
            break
        query = "total=5&size=2&pageToken=" + q(j["nextPageToken"], safe="")
    check("items: query-token paging", seen == [1, 2, 3, 4, 5] and pages == 3, seen)
    r = tc.get("/_test/items?total=5&size=2&pageToken=" + tok)
    check("items: unencoded token is refused", r.status == 400 and r.json() == {"error": "invalid_page_token"}, r.body)
    r = tc.get("/_test/items?total=6&size=2&pageToken=" + q(tok, safe=""))
    check("items: token of another query", r.status == 400 and r.body == b'{"error":"invalid_page_token"}', r.body)
    r = tc.get("/_test/items?total=5&size=2&pageToken=garbage")
    check("items: garbage token", r.status == 400 and r.json() == {"error": "invalid_page_token"})
    r = tc.get("/_test/items?total=0&size=10")
    check("items: total 0 is one empty page", r.status == 200 and r.body == b'{"items":[]}', r.body)
    r = tc.get("/_test/items?total=4&size=2&pageToken=" + q(tc.get("/_test/items?total=4&size=2").json()
                                                              ["nextPageToken"], safe=""))
    check("items: exact last page has no token", r.json() == {"items": [{"n": 3}, {"n": 4}]}, r.body)
    for label, query in (("total -1", "total=-1&size=2"), ("total too big", "total=1000001&size=2"),
                         ("size 0", "size=0&total=2"), ("size too big", "total=2&size=100001"),
                         ("size not a number", "total=2&size=x"), ("total missing", "size=2"),
                         ("unknown parameter", "total=2&size=2&limit=3"),
                         ("page without link", "total=2&size=1&page=2"),
                         ("twice", "total=2&total=3&size=1")):
        r = tc.get("/_test/items?" + query)
        check("items: invalid_argument " + label, r.status == 400 and r.json()["error"] == "invalid_argument"
              and isinstance(r.json().get("message"), str), r.body)
    t0 = time.time()
    r = tc.get("/_test/items?total=1000000&size=100000")
    j = r.json()
    check("items: 100,000-item page", len(j["items"]) == 100000 and j["items"][-1] == {"n": 100000}
          and "nextPageToken" in j, len(r.body))
    print("info: 100,000-item test page (%d bytes) in %.3f s" % (len(r.body), time.time() - t0))

    # body tokens
    seen, body, pages = [], {"total": 5, "size": 2}, 0
    while True:
        r = tc.post_json("/_test/items", body)
        j = r.json()
        seen += [x["n"] for x in j["items"]]
        pages += 1
        if "nextPageToken" not in j:
            break
        body = {"size": 2, "total": 5, "pageToken": j["nextPageToken"]}
    check("items: body-token paging", seen == [1, 2, 3, 4, 5] and pages == 3, seen)
    btok = tc.post_json("/_test/items", {"total": 5, "size": 2}).json()["nextPageToken"]
    r = tc.post_json("/_test/items", {"total": 5, "size": 3, "pageToken": btok})
    check("items: body changed", r.status == 400 and r.body == b'{"error":"request_changed"}', r.body)
    r = tc.post_json("/_test/items", {"total": 5, "size": 2, "pageToken": "nope"})
    check("items: body garbage token", r.status == 400 and r.json() == {"error": "invalid_page_token"}, r.body)
    r = tc.post_json("/_test/items", {"total": 5, "size": 2, "pageToken": tok})
    check("items: query token in a body", r.status == 400 and r.json() == {"error": "invalid_page_token"}, r.body)
    r = tc.post_json("/_test/items", {"total": "5", "size": 2})
    check("items: body total must be a number", r.status == 400 and r.json()["error"] == "invalid_argument", r.body)
    r = tc.post_json("/_test/items", b"[1]")
    check("items: body must be an object", r.status == 400 and r.json()["error"] == "invalid_argument", r.body)
    r = tc.post_json("/_test/items", {"total": 5, "size": 2}, content_type="text/plain")
    check("items: body must be JSON", r.status == 415, r.body)

    # next links
    links = {}
    for kind in ("same", "host", "port", "scheme"):
        links[kind] = tc.get("/_test/items?total=5&size=2&link=" + kind).json().get("nextLink")
    check("items: nextLink same", links["same"] == "http://127.0.0.1:%d/_test/items?total=5&size=2&link=same&page=2"
          % port, links)
    check("items: nextLink host", links["host"] == "http://localhost:%d/_test/items?total=5&size=2&link=host&page=2"
          % port, links)
    check("items: nextLink port", links["port"] == "http://127.0.0.1:%d/_test/items?total=5&size=2&link=port&page=2"
          % (port + 1), links)
    check("items: nextLink scheme", links["scheme"] ==
          "https://127.0.0.1:%d/_test/items?total=5&size=2&link=scheme&page=2" % port, links)
    url, seen = "/_test/items?size=2&total=5&link=same", []
    while url:
        j = tc.get(url).json()
        seen += [x["n"] for x in j["items"]]
        url = j.get("nextLink", "").replace("http://127.0.0.1:%d" % port, "") or None
    check("items: following nextLink", seen == [1, 2, 3, 4, 5], seen)
    r = tc.get("/_test/items?total=5&size=2&link=same", headers={"Host": "emu.example:8080"})
    check("items: nextLink uses the Host header", r.json()["nextLink"] ==
          "http://emu.example:8080/_test/items?total=5&size=2&link=same&page=2", r.body)
    r = tc.get("/_test/items?total=5&size=2&link=same&page=4")
    check("items: page past the end", r.status == 400 and r.json()["error"] == "invalid_argument", r.body)
    r = tc.get("/_test/items?total=5&size=2&link=other")
    check("items: bad link kind", r.status == 400 and r.json()["error"] == "invalid_argument", r.body)
    r = tc.get("/_test/nothing")
    check("test: unknown path", r.status == 404 and r.json() == {"error": "not_found"}, r.body)
    r = tc.raw("DELETE", "/_test/items", {"Authorization": "Bearer " + tc.token}, None)
    check("test: method not allowed", r.status == 405 and r.headers.get("allow") == "GET, POST", r.body)
    post(port, "reset")


def test_engine_jobs_log_faults(port, c):
    post(port, "reset")
    tc = TestClient(port, test_token(port, scope="jobs").json()["access_token"])
    r = tc.post_json("/_test/jobs", {"total": 3, "size": 2, "polls": 0})
    check("jobs: polls 0 complete at once", r.status == 200 and r.json()["jobId"] == "job-1"
          and r.json()["complete"] is True and r.json()["items"] == [{"n": 1}, {"n": 2}]
          and r.body.startswith(b'{"jobId":"job-1","complete":true,"items":[') and "nextPageToken" in r.json(),
          r.body)
    r = tc.get("/_test/jobs/job-1?pageToken=" + urllib.parse.quote(r.json()["nextPageToken"], safe=""))
    check("jobs: next page", r.json() == {"jobId": "job-1", "complete": True, "items": [{"n": 3}]}, r.body)
    r = tc.post_json("/_test/jobs", {"total": 5, "size": 2, "polls": 3})
    check("jobs: created incomplete", r.status == 200 and r.body == b'{"jobId":"job-2","complete":false}', r.body)
    states = [tc.get("/_test/jobs/job-2").json() for _ in range(3)]
    check("jobs: K-1 incomplete polls, then complete", [x["complete"] for x in states] == [False, False, True]
          and states[0] == {"jobId": "job-2", "complete": False}, states)
    seen, tok = [], None
    while True:
        j = tc.get("/_test/jobs/job-2" + ("?pageToken=" + urllib.parse.quote(tok, safe="") if tok else "")).json()
        seen += [x["n"] for x in j["items"]]
        tok = j.get("nextPageToken")
        if not tok:
            break
    check("jobs: paging a complete job", seen == [1, 2, 3, 4, 5], seen)
    jtok = tc.get("/_test/jobs/job-2").json()["nextPageToken"]
    tc.post_json("/_test/jobs", {"total": 5, "size": 2, "polls": 0})
    r = tc.get("/_test/jobs/job-3?pageToken=" + urllib.parse.quote(jtok, safe=""))
    check("jobs: token of another job", r.status == 400 and r.json() == {"error": "invalid_page_token"}, r.body)
    tc.post_json("/_test/jobs", {"total": 5, "size": 2, "polls": -1})
    check("jobs: polls -1 never completes", all(tc.get("/_test/jobs/job-4").json() == {
        "jobId": "job-4", "complete": False} for _ in range(5)))
    r = tc.get("/_test/jobs/job-99")
    check("jobs: unknown job", r.status == 404 and r.body == b'{"error":"not_found"}', r.body)
    r = tc.post_json("/_test/jobs", {"total": 5, "size": 2, "polls": -2})
    check("jobs: bad polls", r.status == 400 and r.json()["error"] == "invalid_argument", r.body)

    # request log
    post(port, "reset")
    tok = test_token(port, scope="read all").json()["access_token"]
    test_token(port, secret="x")
    tc = TestClient(port, tok)
    tc.get("/_test/items?size=2&total=3")
    tc.get("/_test/items?size=2&total=3", token="bogus")
    tc.post_json("/_test/items", {"total": 3, "size": 2})
    tc.post_json("/_test/jobs", {"total": 3, "size": 2, "polls": 2})
    tc.get("/_test/jobs/job-1")
    tc.get("/_test/jobs/job-1?pageToken=x")
    post(port, "fault", {"kind": "throttle", "target": "TestItems"})
    r = tc.get("/_test/items?total=1&size=1")
    check("test fault throttle", r.status == 429 and r.body == b'{"error":"rate_limited","message":"Rate exceeded"}',
          r.body)
    lines = control(port, "requests").splitlines()
    check("test log lines", lines == [
        "TestToken test-client scope=read all",
        "TestToken test-client [error=invalid_client]",
        "TestItems GET /_test/items?size=2&total=3",
        "TestItems GET /_test/items?size=2&total=3 [error=invalid_token]",
        'TestItems POST /_test/items {"size":2,"total":3}',
        'TestJobs POST /_test/jobs {"polls":2,"size":2,"total":3}',
        "TestJobs GET /_test/jobs/job-1",
        "TestJobs GET /_test/jobs/job-1?pageToken=x [error=invalid_page_token]",
        "TestItems GET /_test/items?total=1&size=1 [fault=throttle]"], lines)
    js = json.loads(control(port, "requests?format=json"))
    check("test json log", all(e["service"] == "test" and e["region"] is None for e in js)
          and js[2]["status"] == 200 and js[3]["status"] == 401, js[3])
    st = json.loads(control(port, "stats"))
    check("test stats", st["by_operation"] == {"TestItems": 4, "TestJobs": 3, "TestToken": 2}
          and st["by_service"] == {"test": 9}, st)

    # faults
    post(port, "reset")
    tok = test_token(port).json()["access_token"]
    tc = TestClient(port, tok)
    post(port, "fault", {"kind": "throttle", "target": "TestItems"})
    r = tc.get("/_test/items?total=1&size=1", token="bogus")
    check("test: unauthenticated requests do not consume faults", r.status == 401
          and len(json.loads(control(port, "faults"))) == 1)
    post(port, "reset")
    post(port, "fault", {"kind": "http503", "target": "TestToken", "headers": {"Retry-After": "2"}})
    r = test_token(port)
    check("test fault on the token endpoint", r.status == 503 and r.json()["error"] == "unavailable"
          and r.headers.get("retry-after") == "2", r.body)
    tok = test_token(port).json()["access_token"]
    tc = TestClient(port, tok)
    post(port, "fault", {"kind": "error", "target": "TestJobs", "status": 409, "code": "conflict", "message": "busy"})
    r = tc.post_json("/_test/jobs", {"total": 1, "size": 1})
    check("test fault error", r.status == 409 and r.json() == {"error": "conflict", "message": "busy"}, r.body)
    post(port, "fault", {"kind": "wrong_shape", "target": "TestJobs"})
    r = tc.post_json("/_test/jobs", {"total": 1, "size": 1})
    check("test fault wrong_shape", r.status == 200 and r.json() == {"jobId": 42, "complete": "yes"}, r.body)
    post(port, "fault", {"kind": "malformed", "target": "TestItems"})
    r = tc.get("/_test/items?total=1&size=1")
    check("test fault malformed", r.status == 200 and r.body == b'{"items": [ {"n": nope', r.body)
    post(port, "fault", {"kind": "http500"})
    r = tc.get("/_test/items?total=1&size=1")
    check("test fault http500", r.status == 500 and r.json()["error"] == "internal", r.body)
    full = tc.get("/_test/items?total=50&size=50").body
    post(port, "fault", {"kind": "truncated", "target": "TestItems"})
    r = tc.get("/_test/items?total=50&size=50")
    check("test fault truncated", r.status == 200 and full.startswith(r.body) and len(r.body) < len(full)
          and int(r.headers["content-length"]) == len(r.body))
    post(port, "fault", {"kind": "cut", "target": "TestItems"})
    try:
        tc.get("/_test/items?total=50&size=50")
        check("test fault cut", False)
    except http.client.IncompleteRead:
        check("test fault cut", True)
    tc = TestClient(port, tok)
    post(port, "fault", {"kind": "drop", "target": "TestItems"})
    try:
        tc.get("/_test/items?total=1&size=1")
        check("test fault drop", False)
    except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
        check("test fault drop", True)
    tc = TestClient(port, tok)
    post(port, "fault", {"kind": "slow", "delay": 0.2, "target": "TestItems"})
    t0 = time.time()
    r = tc.get("/_test/items?total=1&size=1")
    check("test fault slow", r.status == 200 and time.time() - t0 >= 0.2)
    post(port, "config", {"latency_ms": 200})
    t0 = time.time()
    r = tc.get("/_test/items?total=1&size=1")
    check("test latency", r.status == 200 and time.time() - t0 >= 0.2)
    post(port, "reset")


# --- Google: OAuth token endpoint, Cloud Monitoring, BigQuery routing ----------------

GCP_AUTH_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                                             "fixtures", "gcp-auth"))
GCP_DEMO = "ya29.northwind-emulator-demo"
GCP_UNAUTH = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
              "valid authentication credential. See https://developers.google.com/identity/sign-in/web/"
              "devconsole-project.")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE_MON = "https://www.googleapis.com/auth/monitoring.read"
SCOPE_BQ = "https://www.googleapis.com/auth/bigquery.readonly"
SCOPE_CP_RO = "https://www.googleapis.com/auth/cloud-platform.read-only"
CPU = "compute.googleapis.com/instance/cpu/utilization"
RX = "compute.googleapis.com/instance/network/received_bytes_count"
RTT = "networking.googleapis.com/vm_flow/rtt"
CORE = "kubernetes.io/container/cpu/core_usage_time"
CONT_MEM = "kubernetes.io/container/memory/used_bytes"
GCS_REQ = "storage.googleapis.com/api/request_count"
SQL_DISK = "cloudsql.googleapis.com/database/disk/bytes_used"
SQL_CPU = "cloudsql.googleapis.com/database/cpu/utilization"
SKIPPED = 0


def skip(name, n=1):
    global SKIPPED
    SKIPPED += n
    print("skip: %s" % name)


def rfc(t):
    """Epoch seconds (int or float) -> RFC 3339 UTC."""
    whole = int(t)
    text = datetime.datetime.fromtimestamp(whole, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    frac = round((t - whole) * 1000)
    return text + (".%03dZ" % frac if frac else "Z")


# A tiny DER reader and an RS256 signer, independent of gcp_oauth.py.
def _der(data, i):
    tag, n = data[i], data[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[i:i + k], "big")
        i += k
    return tag, data[i:i + n], i + n


def rsa_private_key(pem_text):
    """(n, d) of a PKCS#1 "RSA PRIVATE KEY"."""
    b64 = "".join(l for l in pem_text.splitlines() if l and not l.startswith("-----"))
    _, body, _ = _der(base64.b64decode(b64), 0)
    ints = []
    i = 0
    while i < len(body) and len(ints) < 4:
        tag, v, i = _der(body, i)
        ints.append(int.from_bytes(v, "big"))
    _, n, _, d = ints
    return n, d


def b64u(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def rs256(key, message):
    n, d = key
    k = (n.bit_length() + 7) // 8
    t = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(message).digest()
    em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")


def make_jwt(key, claims=None, header=None, iat=None, lifetime=3600, tamper=None):
    now = int(time.time()) if iat is None else iat
    c = {"iss": "service-account@example.com", "scope": SCOPE_MON + " " + SCOPE_BQ,
         "aud": "https://oauth2.googleapis.com/token", "iat": now, "exp": now + lifetime}
    c.update(claims or {})
    c = {k: v for k, v in c.items() if v is not None}
    h = {"alg": "RS256", "typ": "JWT", "kid": "1"}
    h.update(header or {})
    signing = b64u(json.dumps(h).encode()) + "." + b64u(json.dumps(c).encode())
    sig = rs256(key, signing.encode())
    if tamper:
        sig = tamper(sig)
    return signing + "." + b64u(sig)


def gcp_token(port, assertion, path="/token", grant=JWT_BEARER, content_type=FORM):
    form = []
    if grant is not None:
        form.append("grant_type=" + urllib.parse.quote(grant, safe=""))
    if assertion is not None:
        form.append("assertion=" + assertion)
    return Client(port).raw("POST", path, {"Content-Type": content_type}, "&".join(form).encode())


class GcpClient(Client):
    def __init__(self, port, token=GCP_DEMO):
        super().__init__(port)
        self.token = token

    def get(self, path, params=(), token=None, headers=None):
        h = dict(headers or {})
        tok = self.token if token is None else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        q = urllib.parse.urlencode(list(params), quote_via=urllib.parse.quote)
        return self.raw("GET", path + ("?" + q if q else ""), h, None)

    def ts(self, flt, start=None, end=None, aligner=None, period=None, project="northwind-prod", extra=(), **kw):
        params = [("filter", flt)]
        if start is not None:
            params.append(("interval.startTime", start if isinstance(start, str) else rfc(start)))
        if end is not None:
            params.append(("interval.endTime", end if isinstance(end, str) else rfc(end)))
        if period is not None:
            params.append(("aggregation.alignmentPeriod", period if isinstance(period, str) else "%ds" % period))
        if aligner is not None:
            params.append(("aggregation.perSeriesAligner", aligner))
        params += list(extra)
        return self.get("/v3/projects/%s/timeSeries" % project, params, **kw)

    def ts_all(self, flt, start, end, aligner=None, period=None, project="northwind-prod", extra=()):
        """(pages, {(resource id label value, metric labels json): [(endTime, value)...]}) over all pages."""
        pages = []
        token = None
        while True:
            ex = list(extra) + ([("pageToken", token)] if token else [])
            r = self.ts(flt, start, end, aligner, period, project, ex)
            if r.status != 200:
                raise AssertionError("timeSeries.list failed: %s %s" % (r.status, r.body[:400]))
            j = r.json()
            pages.append(j)
            if "nextPageToken" not in j:
                break
            token = j["nextPageToken"]
        return pages, merge_series(pages)


def series_id(s):
    import gcp_resources
    lab = s["resource"]["labels"]
    return lab[gcp_resources.ID_LABEL[s["resource"]["type"]]], json.dumps(s["metric"].get("labels", {}),
                                                                          sort_keys=True)


def point_value(p):
    v = p["value"]
    if "doubleValue" in v:
        return v["doubleValue"]
    if "int64Value" in v:
        return v["int64Value"]
    return v["distributionValue"]


def merge_series(pages):
    out = {}
    for pg in pages:
        for s in pg.get("timeSeries", []):
            out.setdefault(series_id(s), []).extend((p["interval"]["endTime"], point_value(p)) for p in s["points"])
    return out


def gcp_expect(port, **params):
    q = "&".join("%s=%s" % (k.replace("__", "."), urllib.parse.quote(str(v), safe="")) for k, v in params.items())
    out = {}
    for line in control(port, "expect/gcp_metrics?" + q).splitlines():
        cols = line.split("\t")
        out.setdefault(cols[0], []).append((cols[1], cols[2]))
    return out


def gerr(r):
    """(status, canonical status, message) of a Google error answer."""
    try:
        e = r.json()["error"]
        return r.status, e.get("status"), e.get("message")
    except (ValueError, KeyError, TypeError):
        return r.status, None, r.body[:200]


def test_gcp_oauth(port, c):
    post(port, "reset")
    if not (os.path.exists(os.path.join(GCP_AUTH_DIR, "privatekey.pem")) and
            os.path.exists(os.path.join(GCP_AUTH_DIR, "public_cert.pem"))):
        skip("Google JWT grant checks: no fixture directory %s" % GCP_AUTH_DIR, 33)
        r = gcp_token(port, "a.b.c")
        check("no fixture: JWT grants fail with invalid_grant", r.status == 400 and
              r.json()["error"] == "invalid_grant", r.body)
        return
    with open(os.path.join(GCP_AUTH_DIR, "privatekey.pem")) as f:
        key = rsa_private_key(f.read())
    with open(os.path.join(GCP_AUTH_DIR, "service_account.json")) as f:
        sa = json.load(f)
    r = gcp_token(port, make_jwt(key))
    j = r.json() if r.status == 200 else {}
    tok = j.get("access_token", "")
    check("gcp token: 200, Google's fields", r.status == 200 and sorted(j) == ["access_token", "expires_in",
                                                                              "token_type"]
          and j["expires_in"] == 3599 and j["token_type"] == "Bearer"
          and re.match(r"^ya29\.emu-\d+-[A-Za-z0-9_-]{32}$", tok) is not None, r.body)
    check("gcp token: pretty JSON, application/json; charset=utf-8", r.body.startswith(b'{\n  "access_token": "')
          and r.headers.get("content-type") == "application/json; charset=utf-8", (r.body, r.headers))
    n = int(tok.split("-")[1]) if tok else 0
    gc = GcpClient(port, tok)
    r = gc.ts('metric.type = "%s"' % CPU, end=NOW)
    check("issued token works on Monitoring", r.status == 200, r.body[:300])
    r = gcp_token(port, make_jwt(key, {"aud": sa["token_uri"]}), path="/gcp/o/oauth2/token")
    check("gcp token: key's token_uri as aud, prefixed /o/oauth2/token path",
          r.status == 200 and r.json()["access_token"].startswith("ya29.emu-%d-" % (n + 1)), r.body)
    # failures
    flip = (lambda s: s[:-1] + bytes([s[-1] ^ 1]))
    cases = [
        ("wrong signature", make_jwt(key, tamper=flip), 400, "invalid_grant", "Invalid JWT Signature."),
        ("wrong kid", make_jwt(key, header={"kid": "2"}), 400, "invalid_grant", "Invalid JWT Signature."),
        ("alg HS256", make_jwt(key, header={"alg": "HS256"}), 400, "invalid_grant", "Invalid JWT Signature."),
        ("wrong aud", make_jwt(key, {"aud": "https://example.com/token"}), 400, "invalid_grant", None),
        ("exp - iat > 3600", make_jwt(key, lifetime=3601), 400, "invalid_grant",
         "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat "
         "and exp values in the JWT claim."),
        ("iat 400 s ago", make_jwt(key, iat=int(time.time()) - 400), 400, "invalid_grant", None),
        ("iat 400 s ahead", make_jwt(key, iat=int(time.time()) + 400), 400, "invalid_grant", None),
        ("expired assertion", make_jwt(key, iat=int(time.time()) - 200, lifetime=100), 400, "invalid_grant", None),
        ("unknown iss", make_jwt(key, {"iss": "other@example.com"}), 401, "invalid_client",
         "The OAuth client was not found."),
        ("empty scope", make_jwt(key, {"scope": ""}), 400, "invalid_scope", None),
        ("no scope", make_jwt(key, {"scope": None}), 400, "invalid_scope", None),
        ("padded base64", make_jwt(key) + "==", 400, "invalid_grant", "Invalid JWT Signature."),
        ("two parts", "eyJhbGciOiJSUzI1NiJ9.e30", 400, "invalid_grant", "Invalid JWT Signature."),
    ]
    for name, a, st, err, desc in cases:
        r = gcp_token(port, a)
        ok = r.status == st and r.json().get("error") == err and (desc is None or
                                                                  r.json().get("error_description") == desc)
        check("gcp token %s -> %d %s" % (name, st, err), ok, r.body)
    r = gcp_token(port, make_jwt(key, {"aud": "https://example.com/token"}))
    check("wrong aud: audience message", "audience" in r.json().get("error_description", ""), r.body)
    r = gcp_token(port, None, path="/o/oauth2/token")
    check("missing assertion: invalid_request", r.status == 400 and r.json() == {
        "error": "invalid_request", "error_description": "Missing required parameter: assertion"}, r.body)
    r = gcp_token(port, "x", path="/o/oauth2/token", grant="client_credentials")
    check("other grant_type: unsupported_grant_type", r.status == 400 and
          r.json()["error"] == "unsupported_grant_type", r.body)
    # scopes
    only_bq = gcp_token(port, make_jwt(key, {"scope": SCOPE_BQ})).json()["access_token"]
    r = GcpClient(port, only_bq).ts('metric.type = "%s"' % CPU, end=NOW)
    check("token without a Monitoring scope: 403 insufficient scopes", gerr(r) == (
        403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."), r.body)
    ro = gcp_token(port, make_jwt(key, {"scope": SCOPE_CP_RO})).json()["access_token"]
    check("cloud-platform.read-only covers Monitoring",
          GcpClient(port, ro).ts('metric.type = "%s"' % CPU, end=NOW).status == 200)
    # TTL, expiry, reset
    post(port, "config", {"gcp_token_ttl": 2})
    r = gcp_token(port, make_jwt(key))
    check("config gcp_token_ttl", r.json()["expires_in"] == 2, r.body)
    short = r.json()["access_token"]
    post(port, "reset")
    check("reset restores gcp_token_ttl", json.loads(control(port, "config"))["gcp_token_ttl"] == 3599)
    check("issued tokens outlive a reset", gc.ts('metric.type = "%s"' % CPU, end=NOW).status == 200)
    time.sleep(2.05)
    r = GcpClient(port, short).ts('metric.type = "%s"' % CPU, end=NOW)
    check("token expires on the real clock", gerr(r) == (401, "UNAUTHENTICATED", GCP_UNAUTH), r.body)
    check("gcp/expire endpoint", post(port, "gcp/expire") == "ok")
    r = gc.ts('metric.type = "%s"' % CPU, end=NOW)
    check("gcp/expire: issued tokens are expired", gerr(r) == (401, "UNAUTHENTICATED", GCP_UNAUTH)
          and r.headers.get("www-authenticate", "").startswith('Bearer realm="https://accounts.google.com/"'),
          (r.body, r.headers))
    check("gcp/expire: the demo token still works", GcpClient(port).ts('metric.type = "%s"' % CPU,
                                                                        end=NOW).status == 200)
    # the request log: claims, never the signature or a token
    post(port, "reset")
    a = make_jwt(key)
    tok = gcp_token(port, a).json()["access_token"]
    GcpClient(port, tok).ts('metric.type = "%s"' % CPU, end=NOW)
    gcp_token(port, make_jwt(key, tamper=flip))
    lines = control(port, "requests").splitlines()
    check("token log line", lines[0] == "oauth2.token POST /token grant_type=%s iss=service-account@example.com "
                                        "aud=https://oauth2.googleapis.com/token scope=%s %s exp-iat=3600"
          % (JWT_BEARER, SCOPE_MON, SCOPE_BQ), lines[0])
    check("token log line: error marker", lines[2].endswith("[error=invalid_grant]"), lines[2])
    js = json.loads(control(port, "requests?format=json"))
    sig = a.rsplit(".", 1)[1]
    check("json log: no signature, no token in clear", sig not in json.dumps(js) and tok not in json.dumps(js)
          and js[0]["body"].endswith(".<sig>") and js[0]["service"] == "oauth2", js[0])
    check("json log: bearer shortened", js[1]["headers"]["authorization"] == "Bearer ya29.emu-%s-\u2026"
          % tok.split("-")[1], js[1]["headers"])
    st = json.loads(control(port, "stats"))
    check("stats count token requests", st["by_operation"].get("oauth2.token") == 2 and
          st["by_service"].get("oauth2") == 2, st)
    post(port, "reset")


def test_gcp_auth(port, c):
    post(port, "reset")
    gc = GcpClient(port)
    flt = 'metric.type = "%s"' % CPU
    r = gc.ts(flt, end=NOW, token="")
    check("no Authorization: 401 UNAUTHENTICATED", r.status == 401 and r.json()["error"]["status"] ==
          "UNAUTHENTICATED" and r.headers.get("www-authenticate") == 'Bearer realm="https://accounts.google.com/"'
          and r.headers.get("content-type") == "application/json; charset=UTF-8", (r.body, r.headers))
    r = gc.ts(flt, end=NOW, token="ya29.unknown")
    check("unknown token: 401 with Google's message", gerr(r) == (401, "UNAUTHENTICATED", GCP_UNAUTH), r.body)
    r = gc.ts(flt, end=NOW, token="", headers={"Authorization": "Basic dGVzdA=="})
    check("Basic auth: 401", r.status == 401)
    post(port, "fault", {"kind": "throttle", "target": "monitoring.timeSeries.list"})
    gc.ts(flt, end=NOW, token="nope")
    check("unauthenticated request does not consume a fault", gc.ts(flt, end=NOW).status == 429)
    r = gc.get("/bigquery/v2/projects/northwind-billing/queries/job_x", token="")
    e = r.json().get("error", {})
    check("BigQuery 401 with errors[] (authError)", r.status == 401 and e.get("errors", [{}])[0].get("reason") ==
          "authError" and e.get("status") == "UNAUTHENTICATED", r.body)
    post(port, "reset")


def test_gcp_filter(port, c):
    import gcp_monitoring as M
    p = M.parse_filter
    check("filter: AND binds tighter than OR", p('metric.type = "1" OR metric.type = "2" AND resource.type = "3"') ==
          ("or", [("cmp", ("metric.type",), "=", ("str", "1")),
                  ("and", [("cmp", ("metric.type",), "=", ("str", "2")),
                           ("cmp", ("resource.type",), "=", ("str", "3"))])]))
    check("filter: NOT binds tightest", p('NOT metric.type = "a" AND project = "b"') ==
          ("and", [("not", ("cmp", ("metric.type",), "=", ("str", "a"))), ("cmp", ("project",), "=", ("str", "b"))]))
    check("filter: escapes \\\" and \\\\", p(r'metric.label.k = "a\"b\\c"') ==
          ("cmp", ("metric.label", "k"), "=", ("str", 'a"b\\c')))
    check("filter: quoted label key, labels spelling", p('resource.labels."zone" = "x"') ==
          ("cmp", ("resource.label", "zone"), "=", ("str", "x")))
    check("filter: one_of", p('metric.label.k = one_of("a", "b")')[3] == ("func", "one_of", ["a", "b"]))
    for bad in ('metric.type = "a" and project = "b"', 'metric.type = "a', 'metric.type = starts_with(1)',
                'metric.type =', 'foo.bar = "x"', 'metric.type = "a" project = "b"', 'metric.type = nope("x")',
                '(metric.type = "a"', r'metric.type = "a\q"', 'metric.label.k : starts_with("a")'):
        try:
            p(bad)
            check("filter rejects %s" % bad, False)
        except M.FilterError:
            check("filter rejects %s" % bad, True)
    gc = GcpClient(port)

    def names(flt, project="northwind-prod"):
        r = gc.ts(flt, end=NOW, project=project)
        if r.status != 200:
            return r.status, gerr(r)[2]
        return sorted(s["metric"]["labels"]["instance_name"] for s in r.json().get("timeSeries", []))
    base = 'metric.type = "%s"' % CPU
    check("all prod instances", names(base) == ["api-1", "batch-1", "batch-2", "web-1", "web-2", "web-3"],
          names(base))
    check("project by number", names(base, "412730194385") == names(base))
    check("ml project", names(base, "northwind-ml") == ["ml-train-1", "ml-train-2"])
    check("starts_with", names(base + ' AND metric.label.instance_name = starts_with("web")') ==
          ["web-1", "web-2", "web-3"])
    check("ends_with + NOT", names(base + ' AND NOT metric.labels.instance_name = ends_with("-1")') ==
          ["batch-2", "web-2", "web-3"])
    check("has_substring, !=", names(base + ' AND resource.label.zone = has_substring("central1")'
                                            ' AND resource.label.zone != "us-central1-b"') ==
          ["api-1", "batch-1", "web-1"])
    check("one_of", names(base + ' AND metric.label.instance_name = one_of("web-2", "api-1", "nope")') ==
          ["api-1", "web-2"])
    check("regex full_match", names(base + ' AND metric.label.instance_name = monitoring.regex.full_match("'
                                           '(web|batch)-[12]")') == ["batch-1", "batch-2", "web-1", "web-2"])
    check("':' has (substring)", names(base + ' AND resource.label.zone : "europe"') == ["web-3"])
    check("quoted key", names(base + ' AND metric.label."instance_name" = "web-1"') == ["web-1"])
    check("parentheses with OR", names(base + ' AND (resource.label.zone = "us-central1-a" OR '
                                              'resource.label.zone = "europe-west1-b")') ==
          ["api-1", "batch-1", "web-1", "web-3"])
    r = gc.ts(base + ' AND resource.label.zone = "us-central1-a" OR resource.label.zone = "europe-west1-b"', end=NOW)
    check("OR at the top level: not exactly one metric type (AND binds tighter)", r.status == 400 and
          "exactly one metric type" in r.json()["error"]["message"], r.body)
    r = gc.ts(base + ' AND metric.label.instance_name = "we\\"b"', end=NOW)
    check("escaped quote in a value: valid, matches nothing", r.status == 200 and "timeSeries" not in r.json(),
          r.body)
    check("resource.type and number", names(base + ' AND resource.type = "gce_instance" AND '
                                                   'resource.label.instance_id != 1') != [])
    for flt, what in ((base + ' AND foo.bar = "x"', "unknown selector"), ('metric.type = starts_with("compute")',
                                                                          "starts_with type"),
                      ('resource.type = "gce_instance"', "no metric.type"), ("", "empty filter"),
                      (base + ' AND metric.type = "%s"' % RX, "two metric types"), (base + " and", "syntax")):
        r = gc.ts(flt, end=NOW)
        check("filter 400 (%s)" % what, gerr(r)[:2] == (400, "INVALID_ARGUMENT") and
              gerr(r)[2].startswith("Field filter had an invalid value of"), r.body)
    r = gc.ts('metric.type = "custom.googleapis.com/nothing"', end=NOW)
    check("unknown metric type: 200 {}", r.status == 200 and r.body == b"{}\n", r.body)


def test_gcp_time_series(port, c):
    post(port, "reset")
    gc = GcpClient(port)
    web1 = ' AND metric.label.instance_name = "web-1"'
    cpu1 = 'metric.type = "%s"' % CPU + web1
    # raw GAUGE reads are (start, end]
    r = gc.ts(cpu1, NOW - 600, NOW)
    s = r.json()["timeSeries"]
    pts = s[0]["points"]
    check("raw gauge: (start, end], newest first", len(s) == 1 and [p["interval"]["endTime"] for p in pts] ==
          [rfc(NOW - 60 * k) for k in range(10)] and all(p["interval"]["startTime"] == p["interval"]["endTime"]
                                                          for p in pts), [p["interval"] for p in pts][:3])
    check("series shape: metric, resource, kinds, unit", s[0]["metricKind"] == "GAUGE" and s[0]["valueType"] ==
          "DOUBLE" and s[0]["unit"] == "10^2.%" and r.json()["unit"] == "10^2.%" and
          sorted(s[0]["resource"]["labels"]) == ["instance_id", "project_id", "zone"] and
          re.match(r"^\d{19}$", s[0]["resource"]["labels"]["instance_id"]) and "nextPageToken" not in r.json()
          and all(0 < p["value"]["doubleValue"] < 1 for p in pts), s[0])
    r = gc.ts(cpu1, None, NOW)
    check("start defaults to end: the point at end", [p["interval"]["endTime"] for p in
                                                      r.json()["timeSeries"][0]["points"]] == [rfc(NOW)], r.body)
    r = gc.ts(cpu1, NOW - 60, NOW - 60)
    check("start == end: one point", len(r.json()["timeSeries"][0]["points"]) == 1)
    r = gc.ts(cpu1, NOW - 90.5, NOW - 30.25)
    check("fractional bounds: (start, end]", [p["interval"]["endTime"] for p in r.json()["timeSeries"][0]["points"]]
          == [rfc(NOW - 60)], r.body[:500])
    r = gc.ts(cpu1, NOW - 600, NOW + 3600)
    check("nothing after now", r.json()["timeSeries"][0]["points"][0]["interval"]["endTime"] == rfc(NOW))
    r = gc.ts(cpu1, NOW - 50 * D, NOW - 41 * D, "ALIGN_MAX", 86400)
    pts = r.json()["timeSeries"][0]["points"]
    check("retention: six weeks", len(pts) == 1 and pts[0]["interval"]["endTime"] == rfc(NOW - 41 * D), pts)
    r = gc.ts(cpu1, NOW - 50 * D, NOW - 43 * D)
    check("older than the retention: only unit", r.status == 200 and r.json() == {"unit": "10^2.%"}, r.body)
    # DELTA raw points
    r = gc.ts('metric.type = "%s"' % RX + web1, NOW - 180, NOW)
    s = r.json()["timeSeries"][0]
    check("raw delta: (t-60, t] intervals, int64Value strings, labels", s["metricKind"] == "DELTA" and
          s["valueType"] == "INT64" and s["unit"] == "By" and
          s["metric"]["labels"] == {"instance_name": "web-1", "loadbalanced": "false"} and
          [(p["interval"]["startTime"], p["interval"]["endTime"]) for p in s["points"]] ==
          [(rfc(NOW - 60 * k - 60), rfc(NOW - 60 * k)) for k in range(3)] and
          all(re.match(r"^\d+$", p["value"]["int64Value"]) for p in s["points"]), s)
    raw_rx = [int(p["value"]["int64Value"]) for p in s["points"]]
    # CUMULATIVE raw points carry the reset time as start
    r = gc.ts('metric.type = "%s" AND resource.label.container_name = "frontend"' % CORE, NOW - 120, NOW)
    s = r.json()["timeSeries"][0]
    starts = {p["interval"]["startTime"] for p in s["points"]}
    check("raw cumulative: one start (the reset), increasing values", s["metricKind"] == "CUMULATIVE" and
          len(starts) == 1 and min(starts) < rfc(NOW - D) and "labels" not in s["metric"] and
          s["points"][0]["value"]["doubleValue"] > s["points"][1]["value"]["doubleValue"], s)
    cum = [p["value"]["doubleValue"] for p in s["points"]]
    # alignment
    r = gc.ts(cpu1, NOW - 3600, NOW, "ALIGN_MEAN", 300)
    al = r.json()["timeSeries"][0]["points"]
    raw = gc.ts(cpu1, NOW - 3600, NOW).json()["timeSeries"][0]["points"]
    rawv = {p["interval"]["endTime"]: p["value"]["doubleValue"] for p in raw}
    ok = len(al) == 12
    for k, p in enumerate(al):
        t = NOW - 300 * k
        vals = [rawv[rfc(t - 60 * i)] for i in range(4, -1, -1)]
        ok = ok and p["interval"]["endTime"] == rfc(t) and abs(p["value"]["doubleValue"] - sum(vals) / 5) < 1e-12
    check("ALIGN_MEAN 300 s: 12 points at end - k*300, mean of (t-300, t]", ok, al[:2])
    r = gc.ts(cpu1, NOW - 3600 + 150, NOW, "ALIGN_MEAN", 300)
    al2 = r.json()["timeSeries"][0]["points"]
    check("unaligned start: the oldest bucket reaches back before start", len(al2) == 12 and al2 == al)
    r = gc.ts(cpu1, NOW - 3600, NOW - 30, "ALIGN_MAX", 300)
    pts = r.json()["timeSeries"][0]["points"]
    check("buckets end at endTime, not at the epoch", pts[0]["interval"]["endTime"] == rfc(NOW - 30) and
          len(pts) == 12 and pts[-1]["interval"]["endTime"] == rfc(NOW - 30 - 11 * 300), pts[0])
    r = gc.ts(cpu1, "2026-11-27T23:50:00Z", "2026-11-27T23:59:59.5Z", "ALIGN_MIN", 60)
    check("fractional endTime rendered with milliseconds", r.json()["timeSeries"][0]["points"][0]["interval"]
          ["endTime"] == "2026-11-27T23:59:59.500Z", r.body[:600])
    rx = 'metric.type = "%s"' % RX + web1
    r = gc.ts(rx, NOW - 180, NOW, "ALIGN_SUM", 180)
    s = r.json()["timeSeries"][0]
    check("ALIGN_SUM on DELTA INT64: int64Value, DELTA interval (t-P, t]", s["valueType"] == "INT64" and
          s["metricKind"] == "DELTA" and s["points"] == [{"interval": {"startTime": rfc(NOW - 180), "endTime":
                                                                        rfc(NOW)},
                                                           "value": {"int64Value": str(sum(raw_rx))}}], s)
    r = gc.ts(rx, NOW - 180, NOW, "ALIGN_RATE", 180)
    s = r.json()["timeSeries"][0]
    check("ALIGN_RATE: per second, DOUBLE GAUGE, unit By/s", s["valueType"] == "DOUBLE" and s["metricKind"] ==
          "GAUGE" and s["unit"] == "By/s" and s["points"][0]["value"]["doubleValue"] == sum(raw_rx) / 180.0, s)
    r = gc.ts(rx, NOW - 180, NOW, "ALIGN_COUNT", 180)
    s = r.json()["timeSeries"][0]
    check("ALIGN_COUNT: int64Value string", s["valueType"] == "INT64" and s["points"][0]["value"] ==
          {"int64Value": "3"}, s)
    r = gc.ts(rx, NOW - 180, NOW, "ALIGN_DELTA", 180)
    check("ALIGN_DELTA on DELTA = sum", r.json()["timeSeries"][0]["points"][0]["value"] ==
          {"int64Value": str(sum(raw_rx))})
    r = gc.ts(cpu1, NOW - 300, NOW, "ALIGN_PERCENTILE_50", 300)
    vals = sorted(rawv[rfc(NOW - 60 * i)] for i in range(5))
    check("ALIGN_PERCENTILE_50: the median", r.json()["timeSeries"][0]["points"][0]["value"]["doubleValue"] ==
          vals[2], (r.body[-300:], vals))
    r = gc.ts('metric.type = "%s" AND resource.label.container_name = "frontend"' % CORE, NOW - 120, NOW,
              "ALIGN_DELTA", 60)
    s = r.json()["timeSeries"][0]
    check("ALIGN_DELTA on CUMULATIVE: the increase", s["metricKind"] == "DELTA" and
          abs(s["points"][0]["value"]["doubleValue"] - (cum[0] - cum[1])) < 1e-6, (s, cum))
    # distributions
    rtt = 'metric.type = "%s"' % RTT + ' AND resource.label.zone = "us-central1-a"'
    r = gc.ts(rtt, NOW - 120, NOW)
    s = r.json()["timeSeries"]
    dv = s[0]["points"][0]["value"]["distributionValue"]
    check("distribution: count/bucketCounts strings, options, kinds", s[0]["valueType"] == "DISTRIBUTION" and
          s[0]["metricKind"] == "DELTA" and s[0]["unit"] == "ms" and re.match(r"^\d+$", dv["count"]) and
          isinstance(dv["mean"], float) and isinstance(dv["sumOfSquaredDeviation"], float) and
          dv["bucketOptions"] == {"exponentialBuckets": {"numFiniteBuckets": 24, "growthFactor": 1.4,
                                                         "scale": 0.05}} and
          all(isinstance(x, str) for x in dv["bucketCounts"]) and
          sum(int(x) for x in dv["bucketCounts"]) == int(dv["count"]) and dv["bucketCounts"][-1] != "0", dv)
    d2 = s[0]["points"][1]["value"]["distributionValue"]
    r = gc.ts(rtt, NOW - 120, NOW, "ALIGN_MEAN", 120)
    want = (int(dv["count"]) * dv["mean"] + int(d2["count"]) * d2["mean"]) / (int(dv["count"]) + int(d2["count"]))
    s = r.json()["timeSeries"][0]
    check("ALIGN_MEAN on a distribution: DOUBLE, the mean of its values", s["valueType"] == "DOUBLE" and
          abs(s["points"][0]["value"]["doubleValue"] - want) < 1e-12, (s, want))
    r = gc.ts(rtt, NOW - 120, NOW, "ALIGN_DELTA", 120)
    dd = r.json()["timeSeries"][0]["points"][0]["value"]["distributionValue"]
    check("ALIGN_DELTA on a distribution: merged", int(dd["count"]) == int(dv["count"]) + int(d2["count"]), dd)
    r = gc.ts(rtt, NOW - 120, NOW, "ALIGN_RATE", 120)
    check("ALIGN_RATE on DELTA DISTRIBUTION: 400 naming kind and type", gerr(r) == (
        400, "INVALID_ARGUMENT", 'Field aggregation.perSeriesAligner had an invalid value of "ALIGN_RATE": The '
                                 'aligner cannot be applied to metrics with kind DELTA and value type DISTRIBUTION.'),
          r.body)
    # aligner / kind validation and other errors
    for flt, al, what in ((cpu1, "ALIGN_RATE", "GAUGE"), (cpu1, "ALIGN_DELTA", "GAUGE"),
                          ('metric.type = "%s"' % CORE, "ALIGN_MEAN", "CUMULATIVE"),
                          ('metric.type = "%s"' % CORE, "ALIGN_MAX", "CUMULATIVE")):
        r = gc.ts(flt, NOW - 600, NOW, al, 60)
        check("%s on %s: 400" % (al, what), r.status == 400 and "kind %s" % what in r.json()["error"]["message"],
              r.body)
    for extra, field in (([("aggregation.perSeriesAligner", "ALIGN_MEAN")], "aggregation.alignmentPeriod"),
                         ([("aggregation.perSeriesAligner", "ALIGN_MEAN"), ("aggregation.alignmentPeriod", "30s")],
                          "aggregation.alignmentPeriod"),
                         ([("aggregation.perSeriesAligner", "ALIGN_MEAN"), ("aggregation.alignmentPeriod", "5m")],
                          "aggregation.alignment_period"),
                         ([("aggregation.perSeriesAligner", "ALIGN_AVERAGE")], "aggregation.per_series_aligner"),
                         ([("orderBy", "metric.type")], "orderBy"), ([("pageSize", "x")], "page_size"),
                         ([("aggregation.perSeriesAligner", "ALIGN_MEAN"), ("aggregation.alignmentPeriod", "60s"),
                           ("aggregation.crossSeriesReducer", "REDUCE_SUM")], "aggregation.crossSeriesReducer"),
                         ([("view", "ALL")], "view"), ([("bogus", "1")], "bogus")):
        r = gc.ts(cpu1, NOW - 600, NOW, extra=extra)
        check("400 naming %s" % field, gerr(r)[:2] == (400, "INVALID_ARGUMENT") and field in gerr(r)[2], r.body)
    r = gc.ts(cpu1, None, "2026-11-28 00:00:00")
    check("bad timestamp: 400 naming interval.end_time", r.status == 400 and "interval.end_time" in
          r.json()["error"]["message"], r.body)
    r = gc.ts(cpu1)
    check("no endTime: 400", r.status == 400 and "interval.endTime" in r.json()["error"]["message"], r.body)
    r = gc.ts(cpu1, NOW, NOW - 60)
    check("start after end: 400", r.status == 400 and "interval.startTime" in r.json()["error"]["message"], r.body)
    r = gc.ts(cpu1, None, NOW, project="acme-prod")
    check("unknown project: 403", gerr(r)[:2] == (403, "PERMISSION_DENIED"), r.body)
    r = gc.get("/v3/projects/northwind-prod/timeSeries:query")
    check("unknown Monitoring method: 404", r.status == 404 and r.json()["error"]["status"] == "NOT_FOUND", r.body)
    # proto3 JSON details
    r = gc.ts('metric.type = "%s"' % SQL_CPU, NOW - 60, NOW, project="northwind-prod")
    s = r.json()["timeSeries"]
    check("no empty label maps", len(s) == 1 and "labels" not in s[0]["metric"] and
          s[0]["resource"]["labels"] == {"project_id": "northwind-prod", "database_id": "northwind-prod:orders-db",
                                         "region": "us-central1"}, s)
    r = gc.ts(cpu1, NOW - 120, NOW, extra=[("prettyPrint", "false")])
    check("prettyPrint=false: compact", r.status == 200 and b"\n" not in r.body and r.body.startswith(b'{"timeSeries'))
    r = gc.ts('metric.type = "%s"' % CPU, NOW - 120, NOW, extra=[("view", "HEADERS")])
    check("view HEADERS: series without points", r.status == 200 and len(r.json()["timeSeries"]) == 6 and
          all("points" not in s for s in r.json()["timeSeries"]), r.body[:300])
    r = gc.ts('metric.type = "%s" AND metric.label.response_code = "NOT_FOUND"' % GCS_REQ, NOW - 3 * H, NOW,
              project="northwind-data")
    n = len(r.json()["timeSeries"][0]["points"])
    check("sparse series: absent minutes are absent points", 0 < n < 180, n)
    r = gc.ts('metric.type = "%s" AND metric.label.response_code = "NOT_FOUND"' % GCS_REQ, NOW - 3 * H, NOW,
              "ALIGN_SUM", 60, project="northwind-data")
    check("empty buckets are omitted", len(r.json()["timeSeries"][0]["points"]) == n)
    r = gc.ts('metric.type = "%s"' % CPU, NOW - 600, NOW, extra=[("interval.start_time", rfc(NOW - 600))])
    check("a parameter given twice: 400", r.status == 400, r.body)
    r = gc.get("/v3/projects/northwind-prod/timeSeries", [("filter", cpu1), ("interval.end_time", rfc(NOW)),
                                                          ("page_size", "5")])
    check("snake_case parameter names accepted", r.status == 200 and len(r.json()["timeSeries"][0]["points"]) == 1,
          r.body[:300])
    # idle instances
    r = gc.ts('metric.type = "%s"' % CPU, NOW - D, NOW, "ALIGN_MEAN", 86400)
    means = {s["metric"]["labels"]["instance_name"]: s["points"][0]["value"]["doubleValue"]
             for s in r.json()["timeSeries"]}
    check("batch-2 is nearly idle (1-3 %)", 0.01 <= means["batch-2"] <= 0.03 and means["web-1"] > 0.2, means)
    post(port, "reset")


def test_gcp_expect_endpoint(port, c):
    post(port, "reset")
    gc = GcpClient(port)
    cases = [(CPU, "northwind-prod", "ALIGN_MEAN", 300, NOW - 6 * H, NOW),
             (CPU, "northwind-ml", "ALIGN_NONE", None, NOW - H, NOW),
             (CPU, "northwind-prod", "ALIGN_PERCENTILE_95", 3600, NOW - D - 1234, NOW - 17),
             (RX, "northwind-prod", "ALIGN_RATE", 600, NOW - 3 * H, NOW),
             (RX, "northwind-prod", "ALIGN_SUM", 3600, NOW - D, NOW),
             (RTT, "northwind-prod", "ALIGN_MEAN", 300, NOW - H, NOW),
             (CORE, "northwind-prod", "ALIGN_RATE", 300, NOW - 2 * H, NOW),
             (CORE, "northwind-prod", "ALIGN_DELTA", 86400, NOW - 20 * D, NOW),
             (CONT_MEM, "northwind-prod", "ALIGN_MAX", 900, NOW - 2 * H, NOW),
             (SQL_DISK, "northwind-data", "ALIGN_MIN", 3600, NOW - 5 * H, NOW),
             ("storage.googleapis.com/storage/total_bytes", "northwind-ml", "ALIGN_NONE", None, NOW - H, NOW),
             (GCS_REQ, "northwind-data", "ALIGN_COUNT", 1800, NOW - 6 * H, NOW),
             (CPU, "northwind-prod", "ALIGN_STDDEV", 300, NOW - H, NOW),
             (RTT, "northwind-ml", "ALIGN_PERCENTILE_99", 600, NOW - H, NOW),
             (RTT, "northwind-ml", "ALIGN_DELTA", 900, NOW - H, NOW),
             (RTT, "northwind-ml", "ALIGN_NONE", None, NOW - 600, NOW),
             (CORE, "northwind-prod", "ALIGN_NONE", None, NOW - 600, NOW),
             (CPU, "412730194385", "ALIGN_COUNT", 3600, NOW - 3 * H - 0.25, NOW - 0.25)]
    for mt, proj, al, per, start, end in cases:
        _, got = gc.ts_all('metric.type = "%s"' % mt, start, end, al, per, proj)
        params = dict(metric_type=mt, project=proj, start=rfc(start), end=rfc(end), aligner=al)
        if per:
            params["period"] = per
        exp = gcp_expect(port, **params)
        api = {}
        for (rid, _labels), pts in got.items():
            api.setdefault(rid, []).extend(
                (t, v if isinstance(v, str) else repr(float(v["mean"]) if isinstance(v, dict) else v))
                for t, v in sorted(pts))
        expd = {k: sorted(v) for k, v in exp.items()}
        apid = {k: sorted(v) for k, v in api.items()}
        check("expect gcp_metrics == API (%s %s %s)" % (mt.rsplit("/", 2)[-2:], al, per),
              expd == apid and len(expd) > 0, (list(expd.items())[:1], list(apid.items())[:1]))
    text = control(port, "expect/gcp_metrics?metric_type=%s&resource_id=%s&start=%d&end=%d&period=300"
                         "&aligner=ALIGN_MEAN" % (CPU, gcp_rid("web-1"), NOW - H, NOW))
    rows = [l.split("\t") for l in text.splitlines()]
    check("expect gcp_metrics: resource_id filter, epoch bounds, ascending RFC 3339",
          len(rows) == 12 and {r[0] for r in rows} == {gcp_rid("web-1")} and
          [r[1] for r in rows] == [rfc(NOW - H + 300 * (k + 1)) for k in range(12)], rows[:2])
    text = control(port, "expect/gcp_metrics?metric_type=%s&start=%d&end=%d&aligner=ALIGN_NONE&labels=1"
                         "&label.memory_type=evictable" % (CONT_MEM, NOW - 60, NOW))
    rows = [l.split("\t") for l in text.splitlines()]
    check("expect gcp_metrics: label filter and labels column", len(rows) == 4 and
          all(r[3] == '{"memory_type":"evictable"}' and re.match(r"^\d+$", r[2]) for r in rows), rows)
    check("expect gcp_metrics: unknown type is empty",
          control(port, "expect/gcp_metrics?metric_type=x&start=%d&end=%d" % (NOW - H, NOW)) == "")
    try:
        control(port, "expect/gcp_metrics?metric_type=%s&start=%d&end=%d&aligner=ALIGN_MEAN" % (CPU, NOW - H, NOW))
        check("expect gcp_metrics: aligner without period is 400", False)
    except urllib.error.HTTPError as e:
        check("expect gcp_metrics: aligner without period is 400", e.code == 400)
    text = control(port, "gcp/resources?type=gce_instance")
    check("gcp/resources lists 8 instances", len(text.splitlines()) == 8 and "\tweb-1\n" in text, text)
    post(port, "reset")


def gcp_rid(name):
    import gcp_resources
    return [r.rid for r in gcp_resources.RESOURCES if r.name == name][0]


def test_gcp_paging(port, c):
    post(port, "reset")
    gc = GcpClient(port)
    flt = 'metric.type = "%s"' % CPU
    t0 = time.time()
    r = gc.ts(flt, NOW - 3 * D, NOW)
    print("info: Cloud Monitoring page of 10,000 points (%d bytes, pretty JSON) in %.3f s" % (len(r.body),
                                                                                           time.time() - t0))
    pages, got = gc.ts_all(flt, NOW - 3 * D, NOW)
    npts = [sum(len(s["points"]) for s in p.get("timeSeries", [])) for p in pages]
    check("default page size: a 3-day 60-s query of 6 instances spans several pages",
          len(pages) == 3 and npts == [10000, 10000, 5920], npts)
    check("a series continues on the next page", pages[1]["timeSeries"][0]["metric"] ==
          pages[0]["timeSeries"][-1]["metric"])
    check("last page has no nextPageToken; others do", all("nextPageToken" in p for p in pages[:-1]) and
          "nextPageToken" not in pages[-1])
    post(port, "config", {"gcp_page_size": 1000})
    pages2, got2 = gc.ts_all(flt + ' AND metric.label.instance_name = "web-2"', NOW - 3 * D, NOW)
    check("gcp_page_size 1000: 4320 points in 5 pages", len(pages2) == 5 and
          [sum(len(s["points"]) for s in p["timeSeries"]) for p in pages2] == [1000] * 4 + [320])
    check("paged points equal the unpaged ones", list(got2.values())[0] == [v for k, v in got.items()
                                                                            if k[0] == gcp_rid("web-2")][0])
    pages3, got3 = gc.ts_all(flt + ' AND metric.label.instance_name = "web-2"', NOW - 3 * D, NOW,
                             extra=[("pageSize", "700")])
    check("pageSize below the config", len(pages3) == 7 and got3 == got2)
    post(port, "reset")
    check("reset restores gcp_page_size", json.loads(control(port, "config"))["gcp_page_size"] == 10000)
    token = pages[0]["nextPageToken"]
    r = gc.ts(flt + ' AND metric.label.instance_name = "web-1"', NOW - 3 * D, NOW, extra=[("pageToken", token)])
    check("page token of another request: 400 naming pageToken", gerr(r)[:2] == (400, "INVALID_ARGUMENT") and
          "pageToken" in gerr(r)[2], r.body)
    r = gc.ts(flt, NOW - 3 * D, NOW, extra=[("pageToken", "garbage")])
    check("garbage page token: 400", r.status == 400)
    r = gc.ts(flt, NOW - 120, NOW, extra=[("view", "HEADERS"), ("pageSize", "4")])
    j = r.json()
    r2 = gc.ts(flt, NOW - 120, NOW, extra=[("view", "HEADERS"), ("pageSize", "4"),
                                           ("pageToken", j.get("nextPageToken", ""))])
    check("HEADERS pages count series", len(j["timeSeries"]) == 4 and len(r2.json()["timeSeries"]) == 2 and
          "nextPageToken" not in r2.json(), (r.body[:200], r2.body[:200]))
    # descriptors
    r = gc.get("/v3/projects/northwind-prod/metricDescriptors",
               [("filter", 'metric.type = starts_with("compute.googleapis.com/")')])
    ds = r.json()["metricDescriptors"]
    check("metricDescriptors: starts_with filter", r.status == 200 and
          sorted(d["type"] for d in ds) == sorted(["compute.googleapis.com/instance/cpu/utilization",
                                                   "compute.googleapis.com/instance/network/received_bytes_count",
                                                   "compute.googleapis.com/instance/network/sent_bytes_count",
                                                   "compute.googleapis.com/instance/disk/read_bytes_count"]), ds)
    d = [x for x in ds if x["type"] == CPU][0]
    check("metricDescriptor fields", d["name"] == "projects/northwind-prod/metricDescriptors/" + CPU and
          d["metricKind"] == "GAUGE" and d["valueType"] == "DOUBLE" and d["unit"] == "10^2.%" and
          d["monitoredResourceTypes"] == ["gce_instance"] and d["displayName"] and d["description"] and
          d["labels"][0]["key"] == "instance_name", d)
    r = gc.get("/v3/projects/northwind-prod/metricDescriptors",
               [("filter", 'metric.type = starts_with("kubernetes.io/") AND resource.type = "k8s_container"'),
                ("pageSize", "1")])
    r2 = gc.get("/v3/projects/northwind-prod/metricDescriptors",
                [("filter", 'metric.type = starts_with("kubernetes.io/") AND resource.type = "k8s_container"'),
                 ("pageSize", "1"), ("pageToken", r.json().get("nextPageToken", ""))])
    check("metricDescriptors paging", len(r.json()["metricDescriptors"]) == 1 and "nextPageToken" in r.json()
          and len(r2.json()["metricDescriptors"]) == 1 and "nextPageToken" not in r2.json(), (r.body[:100], r2.body))
    r = gc.get("/v3/projects/northwind-prod/metricDescriptors", [("filter", 'metric.type = starts_with("none/")')])
    check("metricDescriptors: none matches: {}", r.status == 200 and r.json() == {})
    r = gc.get("/v3/projects/northwind-prod/metricDescriptors")
    check("metricDescriptors without filter: the whole catalogue", len(r.json()["metricDescriptors"]) == 12)
    post(port, "reset")


def test_gcp_faults_log(port, c):
    post(port, "reset")
    gc = GcpClient(port)
    flt = 'metric.type = "%s" AND metric.label.instance_name = "web-1"' % CPU
    ts = "monitoring.timeSeries.list"
    post(port, "fault", {"kind": "throttle", "target": ts})
    r = gc.get("/v3/projects/northwind-prod/metricDescriptors")
    check("fault target is the whole op name", r.status == 200)
    r = gc.ts(flt, NOW - 60, NOW)
    e = r.json()["error"]
    check("throttle: 429 RESOURCE_EXHAUSTED + ErrorInfo RATE_LIMIT_EXCEEDED", r.status == 429 and
          e["status"] == "RESOURCE_EXHAUSTED" and e["code"] == 429 and
          e["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" and
          e["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED" and "retry-after" not in r.headers, r.body)
    post(port, "fault", {"kind": "error", "target": ts, "code": 404, "status": "NOT_FOUND", "message": "gone"})
    r = gc.ts(flt, NOW - 60, NOW)
    check("error fault: the Google error asked for", gerr(r) == (404, "NOT_FOUND", "gone") and
          r.json()["error"]["code"] == 404, r.body)
    post(port, "fault", {"kind": "error", "target": ts})
    check("error fault default: 403 PERMISSION_DENIED", gerr(gc.ts(flt, NOW - 60, NOW))[:2] ==
          (403, "PERMISSION_DENIED"))
    post(port, "fault", {"kind": "http500"})
    check("http500: 500 INTERNAL", gerr(gc.ts(flt, NOW - 60, NOW))[:2] == (500, "INTERNAL"))
    post(port, "fault", {"kind": "http503", "headers": {"Retry-After": "1"}})
    r = gc.ts(flt, NOW - 60, NOW)
    check("http503: 503 UNAVAILABLE with a fault header", gerr(r)[:2] == (503, "UNAVAILABLE") and
          r.headers.get("retry-after") == "1")
    post(port, "fault", {"kind": "malformed", "target": ts})
    r = gc.ts(flt, NOW - 60, NOW)
    check("malformed", r.status == 200 and r.body.startswith(b'{\n  "timeSeries": [') and b"nope" in r.body)
    post(port, "fault", {"kind": "wrong_shape", "target": ts})
    check("wrong_shape", gc.ts(flt, NOW - 60, NOW).json() == {"timeSeries": 42})
    full = gc.ts(flt, NOW - 600, NOW).body
    post(port, "fault", {"kind": "truncated", "target": ts})
    r = gc.ts(flt, NOW - 600, NOW)
    check("truncated", r.status == 200 and full.startswith(r.body) and len(r.body) < len(full))
    post(port, "fault", {"kind": "slow", "delay": 0.2, "target": ts})
    t0 = time.time()
    r = gc.ts(flt, NOW - 600, NOW)
    check("slow", r.status == 200 and r.body == full and time.time() - t0 >= 0.2)
    post(port, "fault", {"kind": "cut", "target": ts})
    try:
        gc.ts(flt, NOW - 600, NOW)
        check("cut", False)
    except http.client.IncompleteRead:
        check("cut", True)
    gc = GcpClient(port)
    post(port, "fault", {"kind": "drop", "target": ts})
    try:
        gc.ts(flt, NOW - 600, NOW)
        check("drop", False)
    except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
        check("drop", True)
    gc = GcpClient(port)
    # token endpoint faults
    post(port, "fault", {"kind": "throttle", "target": "oauth2.token"})
    r = gcp_token(port, "a.b.c")
    check("token endpoint throttle: 429", r.status == 429 and r.json()["error"] == "rate_limit_exceeded", r.body)
    post(port, "fault", {"kind": "http503", "target": "oauth2.token"})
    r = gcp_token(port, "a.b.c")
    check("token endpoint 503: temporarily_unavailable", r.status == 503 and
          r.json()["error"] == "temporarily_unavailable", r.body)
    post(port, "fault", {"kind": "wrong_shape", "target": "oauth2.token"})
    check("token endpoint wrong_shape", gcp_token(port, "a.b.c").json() == {"access_token": 42, "expires_in": "soon",
                                                                          "token_type": "Bearer"})
    # BigQuery routing: auth, faults, then gcp_bigquery
    q = "/bigquery/v2/projects/northwind-billing/queries"
    body = json.dumps({"query": "SELECT 1", "useLegacySql": False}).encode()
    hdr = {"Authorization": "Bearer " + GCP_DEMO, "Content-Type": "application/json"}
    post(port, "fault", {"kind": "throttle", "target": "bigquery.jobs.query"})
    r = gc.raw("POST", q, hdr, body)
    e = r.json()["error"]
    check("BigQuery throttle: 403 rateLimitExceeded", r.status == 403 and e["status"] == "PERMISSION_DENIED" and
          e["errors"][0]["reason"] == "rateLimitExceeded" and list(e) == ["code", "message", "errors", "status"],
          r.body)
    post(port, "fault", {"kind": "throttle", "target": "bigquery.jobs.query", "status": 429})
    r = gc.raw("POST", q, hdr, body)
    check("BigQuery throttle status 429: RESOURCE_EXHAUSTED", r.status == 429 and
          r.json()["error"]["status"] == "RESOURCE_EXHAUSTED", r.body)
    post(port, "fault", {"kind": "http503", "target": "bigquery.jobs.getQueryResults"})
    r = gc.get(q + "/job_x", [("location", "US")])
    check("BigQuery 503: backendError", r.status == 503 and r.json()["error"]["errors"][0]["reason"] ==
          "backendError", r.body)
    r = gc.raw("POST", "/prefix" + q, hdr, body)
    import server as server_mod
    if server_mod.bigquery_module() is None:
        check("BigQuery without gcp_bigquery.py: 501 UNIMPLEMENTED", r.status == 501 and
              r.json()["error"]["status"] == "UNIMPLEMENTED", r.body)
    else:
        check("BigQuery routed to gcp_bigquery.handle", r.status != 501 and r.headers.get("content-type") ==
              "application/json; charset=UTF-8", r.body[:300])
    r = gc.get(q)
    check("GET on .../queries: 404", r.status == 404, r.body)
    # the request log
    post(port, "reset")
    gc.get("/gcp/v3/projects/northwind-prod/timeSeries",
           [("interval.startTime", rfc(NOW - 600)), ("filter", flt), ("interval.endTime", rfc(NOW)),
            ("aggregation.perSeriesAligner", "ALIGN_MEAN"), ("aggregation.alignmentPeriod", "300s"),
            ("aggregation.groupByFields", "resource.label.zone"), ("aggregation.groupByFields", "metric.label.x"),
            ("pageToken", "abc")])
    gc.ts(flt, NOW - 600, NOW, "ALIGN_RATE", 60)
    post(port, "fault", {"kind": "throttle", "target": ts})
    gc.ts(flt, NOW - 600, NOW)
    gc.ts(flt, NOW - 600, NOW, token="nope")
    gc.raw("POST", q + "?prettyPrint=false", hdr, json.dumps({"useLegacySql": False, "query": "SELECT\n1"}).encode())
    lines = control(port, "requests").splitlines()
    check("gcp log line: decoded parameters sorted by name, repeated ones in order, page token hidden",
          lines[0] == "monitoring.timeSeries.list GET /gcp/v3/projects/northwind-prod/timeSeries "
                      "aggregation.alignmentPeriod=300s aggregation.groupByFields=resource.label.zone "
                      "aggregation.groupByFields=metric.label.x aggregation.perSeriesAligner=ALIGN_MEAN "
                      "filter=%s interval.endTime=%s interval.startTime=%s pageToken=<token> "
                      "[error=INVALID_ARGUMENT]" % (flt, rfc(NOW), rfc(NOW - 600)), lines[0])
    check("gcp log: error status marker", lines[1].endswith(" [error=INVALID_ARGUMENT]"), lines[1])
    check("gcp log: fault marker", lines[2].endswith(" [fault=throttle]"), lines[2])
    check("gcp log: unauthenticated marker", lines[3].endswith(" [error=UNAUTHENTICATED]"), lines[3])
    check("gcp log: BigQuery POST with canonical body", lines[4].startswith(
        'bigquery.jobs.query POST %s prettyPrint=false {"query":"SELECT\\n1","useLegacySql":false}' % q), lines[4])
    js = json.loads(control(port, "requests?format=json"))
    check("gcp json log: service, redacted bearer", js[0]["service"] == "monitoring" and js[4]["service"] ==
          "bigquery" and js[0]["headers"]["authorization"] == "Bearer ya29.north\u2026" and
          GCP_DEMO not in json.dumps(js), js[0]["headers"])
    st = json.loads(control(port, "stats"))
    check("gcp stats", st["by_service"].get("monitoring") == 4 and st["by_operation"].get(ts) == 4, st)
    try:
        control(port, "expect/gcp_cost?start=2026-11-01&end=2026-11-02")
        check("expect/gcp_cost routed", True)
    except urllib.error.HTTPError as e:
        check("expect/gcp_cost routed (501 without gcp_billing.py)", e.code in (400, 501), e.code)
    post(port, "reset")


def main():
    srv = server.make_server(0, today=TODAY)
    port = srv.server_address[1]
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    th.start()
    c = Client(port)
    tests = [test_sigv4_vectors, test_auth, test_totals_vs_expect, test_paging, test_semantics, test_filters,
             test_validation, test_forecast, test_dimension_values, test_faults, test_request_log, test_control_misc,
             test_concurrency, test_performance, test_cw_numbers, test_cw_auth, test_cw_list_metrics,
             test_cw_get_metric_data, test_cw_get_metric_statistics, test_cw_faults_log, test_cw_expect_endpoint,
             test_resources_endpoint,
             test_bench, test_sigv4_sorted_headers, test_sts_assume_role, test_sts_expiry_log_faults,
             test_fault_headers, test_engine_tokens, test_engine_items, test_engine_jobs_log_faults,
             test_gcp_oauth, test_gcp_auth, test_gcp_filter, test_gcp_time_series, test_gcp_expect_endpoint,
             test_gcp_paging, test_gcp_faults_log]
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
    passed, n_failed, skipped = PASSED, len(FAILED), SKIPPED
    bq = None
    try:
        import selftest_bigquery as bq      # the BigQuery emulator's own checks (another helper's module)
    except ModuleNotFoundError as e:
        if e.name != "selftest_bigquery":
            raise
    if bq is not None:
        try:
            p, f, s = bq.run()
            passed, n_failed, skipped = passed + p, n_failed + f, skipped + s
            if f:
                FAILED.append("selftest_bigquery: %d failed (see its output above)" % f)
        except Exception:
            print("FAIL: selftest_bigquery.run raised\n%s" % traceback.format_exc())
            FAILED.append("selftest_bigquery.run raised")
            n_failed += 1
    try:
        import selftest_azure as az         # the Azure checks (own server instance)
        p, f, s = az.run()
        passed, n_failed, skipped = passed + p, n_failed + f, skipped + s
        if f:
            FAILED.append("selftest_azure: %d failed (see its output above)" % f)
    except Exception:
        print("FAIL: selftest_azure.run raised\n%s" % traceback.format_exc())
        FAILED.append("selftest_azure.run raised")
        n_failed += 1
    for f in FAILED:
        print("failed: " + f)
    line = "%d passed, %d failed" % (passed, n_failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
