"""Self-check of the Azure part of the emulator (Entra ID tokens, Cost Management, Monitor
metrics and getBatch, ARM resource listing).  Run by selftest.py (run() -> (passed, failed,
skipped)); standalone: /usr/bin/python3 test/emulator/selftest_azure.py.

Talks HTTP to its own in-process server (today pinned to 2026-11-28) through a path prefix
(/azure), as a client whose `endpoint` option has one would, and checks the answers against
the expectation endpoints and the official examples in /work/shared/fixtures/azure-examples.
"""

import datetime
import http.client
import json
import os
import sys
import threading
import time
import traceback
import urllib.parse
from decimal import Decimal

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import server  # noqa: E402

TODAY = datetime.date(2026, 11, 28)
TENANT = "4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47"
CLIENT = "b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63"
SECRET = "northwind~Emulator.Secret-0123456789"
ARM_SCOPE = "https://management.azure.com/.default"
MET_SCOPE = "https://metrics.monitor.azure.com/.default"
PROD = "5b8e2f14-7c3a-4d9e-a1b6-0f2d3c4e5a61"
DEV = "c7d3a9b2-1e4f-4a8c-b5d6-9e0f1a2b3c4d"
DEMO = "azure.northwind-emulator-demo"
PREFIX = "/azure"
FIXTURES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                                         "fixtures", "azure-examples"))
VMNS = "Microsoft.Compute/virtualMachines"


def vm_id(name, rg="rg-batch", sub=PROD):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (sub, rg, name)


PASSED = 0
FAILED = []
SKIPPED = 0


def check(name, cond, detail=""):
    global PASSED
    if cond:
        PASSED += 1
    else:
        FAILED.append("%s %s" % (name, detail))
        print("FAIL: azure: %s %s" % (name, str(detail)[:600]))


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self, **kw):
        return json.loads(self.body.decode("utf-8"), **kw)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Az:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def raw(self, method, path, body=None, headers=None, retry=True):
        for attempt in range(2 if retry else 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return Resp(r.status, r.getheaders(), data)
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt or not retry:
                    raise

    def token(self, scope=ARM_SCOPE, secret=SECRET, client=CLIENT, tenant=TENANT, grant="client_credentials"):
        form = {"grant_type": grant, "client_id": client, "client_secret": secret, "scope": scope}
        form = {k: v for k, v in form.items() if v is not None}
        return self.raw("POST", "%s/%s/oauth2/v2.0/token" % (PREFIX, tenant), urllib.parse.urlencode(form).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"})

    def query(self, body, token=DEMO, scope="subscriptions/" + PROD, api="2025-03-01", url=None):
        path = url or "%s/%s/providers/Microsoft.CostManagement/query?api-version=%s" % (PREFIX, scope, api)
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        return self.raw("POST", path, json.dumps(body).encode(), h)

    def metrics(self, rid, token=DEMO, **params):
        params.setdefault("api-version", "2024-02-01")
        q = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        return self.raw("GET", "%s%s/providers/Microsoft.Insights/metrics?%s" % (PREFIX, rid, q), None,
                        {"Authorization": "Bearer " + token} if token else {})

    def batch(self, ids, token, sub=PROD, **params):
        params.setdefault("api-version", "2024-02-01")
        params.setdefault("metricnamespace", VMNS)
        params.setdefault("metricnames", "Percentage CPU")
        q = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        return self.raw("POST", "%s/subscriptions/%s/metrics:getBatch?%s" % (PREFIX, sub, q),
                        json.dumps({"resourceids": ids}).encode(),
                        {"Authorization": "Bearer " + token, "Content-Type": "application/json"})

    def resources(self, token=DEMO, sub=PROD, rg=None, flt=None, url=None, retry=True, **params):
        if url is None:
            params.setdefault("api-version", "2021-04-01")
            if flt is not None:
                params["$filter"] = flt
            path = "%s/subscriptions/%s%s/resources?%s" % (PREFIX, sub, "/resourceGroups/" + rg if rg else "",
                                                            urllib.parse.urlencode(params, quote_via=urllib.parse.quote))
        else:
            path = url
        return self.raw("GET", path, None, {"Authorization": "Bearer " + token}, retry=retry)

    def control(self, path, body=None, method=None):
        r = self.raw(method or ("POST" if body is not None else "GET"), "/_emulator/" + path,
                     None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode()))
        return r

    def expect(self, **params):
        params.setdefault("SubscriptionId", PROD)
        items = []
        for k, v in params.items():
            for x in (v if isinstance(v, list) else [v]):
                items.append((k.replace("__", ":"), x))
        r = self.control("expect/azure_usage?" + urllib.parse.urlencode(items))
        assert r.status == 200, r.body
        return [line.split("\t") for line in r.body.decode().splitlines()]


def qbody(frm="2026-10-01", to="2026-10-31", gran="Daily", aggs=(("Cost", "totalCost"),), groups=(), flt=None,
          typ="ActualCost"):
    ds = {"granularity": gran, "aggregation": {alias: {"name": col, "function": "Sum"} for col, alias in aggs}}
    if groups:
        ds["grouping"] = [{"type": t, "name": n} for t, n in groups]
    if flt is not None:
        ds["filter"] = flt
    return {"type": typ, "timeframe": "Custom", "timePeriod": {"from": frm + "T00:00:00Z", "to": to + "T23:59:59Z"},
            "dataset": ds}


def all_rows(c, body, **kw):
    """(columns, rows, pages) following nextLink; numbers parsed as Decimal."""
    r = c.query(body, **kw)
    assert r.status == 200, (r.status, r.body[:300])
    obj = r.json(parse_float=Decimal)
    cols = [x["name"] for x in obj["properties"]["columns"]]
    rows = list(obj["properties"]["rows"])
    pages = 1
    while obj["properties"]["nextLink"]:
        link = obj["properties"]["nextLink"]
        path = link[link.index("/", len("http://")):]
        r = c.query(body, url=path, token=kw.get("token", DEMO))
        assert r.status == 200, (r.status, r.body[:300])
        obj = r.json(parse_float=Decimal)
        rows += obj["properties"]["rows"]
        pages += 1
    return cols, rows, pages


def aerr(r):
    try:
        e = r.json().get("error") or {}
        return e.get("code"), e.get("message")
    except ValueError:
        return None, None


def log_lines(c):
    return c.control("requests").body.decode().splitlines()


def jtype(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float, Decimal)):
        return "number"
    if v is None:
        return "null"
    return type(v).__name__


def fixture(path):
    with open(os.path.join(FIXTURES, path), encoding="utf-8") as f:
        return json.load(f)["responses"]["200"]["body"]


# --- tests ---------------------------------------------------------------------------------------

def test_tokens(c):
    r = c.token()
    check("token 200", r.status == 200, r.body)
    t = r.json()
    check("token shape", set(t) == {"token_type", "expires_in", "ext_expires_in", "access_token"} and
          t["token_type"] == "Bearer" and t["expires_in"] == 3599 and t["ext_expires_in"] == 3599, t)
    arm = t["access_token"]
    r = c.token(scope=MET_SCOPE)
    met = r.json()["access_token"]
    check("metrics token distinct", r.status == 200 and met != arm and "-metrics-" in met and "-arm-" in arm)
    check("token no-store", "no-store" in (r.header("Cache-Control") or ""))

    r = c.token(secret="wrong")
    e = r.json()
    check("wrong secret 401 invalid_client", r.status == 401 and e["error"] == "invalid_client" and
          e["error_codes"] == [7000215], (r.status, e))
    check("wrong secret description", e["error_description"].startswith(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client "
        "secret value, not the client secret ID, for a secret added to app '%s'.\r\nTrace ID: " % CLIENT),
        e["error_description"])
    check("aad error keys", set(e) == {"error", "error_description", "error_codes", "timestamp", "trace_id",
                                       "correlation_id", "error_uri"} and
          e["error_uri"] == "https://login.microsoftonline.com/error?code=7000215", e)
    r = c.token(tenant="00000000-0000-0000-0000-000000000000")
    e = r.json()
    check("unknown tenant", r.status == 400 and e["error"] == "invalid_request" and e["error_codes"] == [90002] and
          "Tenant '00000000-0000-0000-0000-000000000000' not found" in e["error_description"], e)
    r = c.token(client="11111111-2222-3333-4444-555555555555")
    e = r.json()
    check("unknown client", r.status == 400 and e["error"] == "unauthorized_client" and
          e["error_codes"] == [700016], e)
    r = c.token(scope="https://graph.microsoft.com/.default")
    e = r.json()
    check("bad scope", r.status == 400 and e["error"] == "invalid_scope" and e["error_codes"] == [70011], e)
    r = c.token(grant="password")
    check("bad grant", r.status == 400 and r.json()["error"] == "unsupported_grant_type", r.body)
    r = c.token(secret=None)
    check("missing secret", r.status == 401 and r.json()["error_codes"] == [7000216], r.body)

    # the secret never reaches the log; tokens shortened
    c.query(qbody(frm="2026-11-01", to="2026-11-02"), token=arm)
    text = c.control("requests").body.decode()
    js = c.control("requests?format=json").body.decode()
    check("secret not logged", SECRET not in text and SECRET not in js and "client_secret=<redacted>" in text)
    check("token not logged", arm not in js and met not in js and arm not in text, js[-400:])
    line = [x for x in text.splitlines() if x.startswith("azure.token") and "wrong" not in x][0]
    check("token log line", line == "azure.token POST %s/%s/oauth2/v2.0/token tenant=%s grant_type=client_credentials "
          "client_id=%s scope=%s client_secret=<redacted>" % (PREFIX, TENANT, TENANT, CLIENT, ARM_SCOPE), line)
    check("token error logged", any("[error=invalid_client]" in x for x in text.splitlines()))
    entries = json.loads(js)
    check("json log time", all(isinstance(x.get("time"), float) and x["time"] > 1.7e9 for x in entries))
    auth = [x["headers"].get("authorization") for x in entries if x["operation"] == "costmanagement.query"][-1]
    check("authorization redacted", auth.startswith("Bearer azure.emu-") and auth.endswith("\u2026"), auth)

    # audiences
    body = qbody(frm="2026-11-01", to="2026-11-02")
    r = c.query(body, token=arm)
    check("arm token on cost", r.status == 200, r.body[:200])
    r = c.query(body, token=met)
    code, msg = aerr(r)
    check("metrics token on cost 401 audience", r.status == 401 and code == "InvalidAuthenticationTokenAudience" and
          "wrong audience or resource 'https://metrics.monitor.azure.com'" in msg and
          "'https://management.azure.com/'" in msg, (r.status, code, msg))
    r = c.batch([vm_id("batch-worker-001")], arm, starttime="2026-11-27T00:00:00.000Z",
                endtime="2026-11-27T01:00:00.000Z")
    check("arm token on getBatch 401", r.status == 401 and aerr(r) == ("InvalidAuthenticationToken",
                                                                         "The access token is invalid."), r.body)
    r = c.batch([vm_id("batch-worker-001")], met, starttime="2026-11-27T00:00:00.000Z",
                endtime="2026-11-27T01:00:00.000Z")
    check("metrics token on getBatch", r.status == 200, r.body[:200])
    r = c.query(body, token=None)
    check("missing token 401", r.status == 401 and aerr(r)[0] == "InvalidAuthenticationToken" and
          r.header("WWW-Authenticate") == 'Bearer authorization_uri="https://login.microsoftonline.com/%s", '
          'error="invalid_token"' % TENANT, (r.status, r.headers))
    r = c.query(body, token="azure.emu-999-arm-forged")
    check("unknown token 401", r.status == 401 and aerr(r)[0] == "InvalidAuthenticationToken")
    r = c.batch([vm_id("batch-worker-001")], DEMO, starttime="2026-11-27T00:00:00.000Z",
                endtime="2026-11-27T01:00:00.000Z")
    check("demo token on getBatch", r.status == 200)

    # ttl, reset keeps tokens, expire
    c.control("config", {"azure_token_ttl": 120})
    r = c.token()
    check("azure_token_ttl", r.json()["expires_in"] == 120 and r.json()["ext_expires_in"] == 120, r.body)
    c.control("reset", b"")
    check("reset restores ttl", c.token().json()["expires_in"] == 3599)
    check("token outlives reset", c.query(body, token=arm).status == 200)
    c.control("azure/expire", b"")
    r = c.query(body, token=arm)
    check("expired token 401", r.status == 401 and aerr(r)[0] == "InvalidAuthenticationToken", r.body)
    check("demo survives expire", c.query(body, token=DEMO).status == 200)
    fresh = c.token().json()["access_token"]
    check("new token after expire", c.query(body, token=fresh).status == 200)

    # token endpoint faults
    c.control("fault", {"kind": "throttle", "target": "azure.token", "retry_after": 3})
    r = c.token()
    check("token throttle", r.status == 429 and r.header("Retry-After") == "3" and
          r.json()["error"] == "temporarily_unavailable", (r.status, r.headers))
    c.control("fault", {"kind": "error", "target": "azure.token"})
    r = c.token()
    check("token error fault", r.status == 401 and r.json()["error_codes"] == [7000222], r.body)
    c.control("reset", b"")


def test_cost_shape(c):
    body = qbody(groups=(("Dimension", "ServiceName"), ("TagKey", "env")),
                 aggs=(("Cost", "totalCost"), ("CostUSD", "totalCostUSD")))
    r = c.query(body)
    obj = r.json()
    check("cost 200", r.status == 200, r.body[:300])
    cols = [(x["name"], x["type"]) for x in obj["properties"]["columns"]]
    check("cost columns", cols == [("Cost", "Number"), ("CostUSD", "Number"), ("UsageDate", "Number"),
                                   ("ServiceName", "String"), ("TagKey", "String"), ("TagValue", "String"),
                                   ("Currency", "String")], cols)
    check("cost envelope", obj["type"] == "Microsoft.CostManagement/query" and obj["location"] is None and
          obj["sku"] is None and obj["eTag"] is None and
          obj["id"] == "subscriptions/%s/providers/Microsoft.CostManagement/query/%s" % (PROD, obj["name"]), obj["id"])
    rows = obj["properties"]["rows"]
    check("UsageDate integer", all(isinstance(x[2], int) and 20261001 <= x[2] <= 20261031 for x in rows))
    check("untagged rows", any(x[4] == "" and x[5] == "" for x in rows) and any(x[4] == "env" and x[5] == "prod"
                                                                              for x in rows))
    check("rows sorted", [x[2:6] for x in rows] == sorted(x[2:6] for x in rows))
    raw = r.body.decode()
    check("no exponent", "e-" not in raw.lower().split('"rows"')[1] and "e+" not in raw.lower().split('"rows"')[1])
    # against the official examples: same keys and JSON types (values differ)
    for name in ("SubscriptionQuery.json", "SubscriptionQueryGrouping.json", "ResourceGroupQuery.json",
                 "ResourceGroupQueryGrouping.json"):
        fx = fixture("cost-management/" + name)
        check("fixture %s top keys" % name, set(fx) <= set(obj), (set(fx), set(obj)))
        check("fixture %s properties keys" % name, set(fx["properties"]) == set(obj["properties"]),
              set(fx["properties"]))
        check("fixture %s types" % name, all(jtype(fx[k]) == jtype(obj[k]) for k in fx if k != "properties"))
        fcols = fx["properties"]["columns"]
        check("fixture %s column shape" % name, all(set(a) == {"name", "type"} for a in fcols + obj["properties"]
                                                     ["columns"]))
        ftypes = {x["name"]: x["type"] for x in fcols}
        mine = {x["name"]: x["type"] for x in obj["properties"]["columns"]}
        check("fixture %s column types" % name, all(mine.get(k, v) == v for k, v in ftypes.items()), (ftypes, mine))
        frow = fx["properties"]["rows"][0]
        fkinds = {fcols[i]["name"]: jtype(frow[i]) for i in range(len(fcols))}
        mkinds = {obj["properties"]["columns"][i]["name"]: jtype(rows[0][i]) for i in range(len(cols))}
        check("fixture %s cell types" % name, all(mkinds.get(k, v) == v for k, v in fkinds.items()), (fkinds, mkinds))
    # the example request bodies themselves are accepted
    for name in ("SubscriptionQuery.json", "SubscriptionQueryGrouping.json"):
        with open(os.path.join(FIXTURES, "cost-management", name), encoding="utf-8") as f:
            params = json.load(f)["parameters"]["parameters"]
        r = c.query(params)
        check("fixture %s request accepted" % name, r.status == 200, r.body[:300])
    # names answered in canonical case
    r = c.query(qbody(groups=(("dimension", "servicename"),), aggs=(("costusd", "x"),)))
    check("canonical case", [x["name"] for x in r.json()["properties"]["columns"]] ==
          ["CostUSD", "UsageDate", "ServiceName", "Currency"], r.body[:300])
    # Usage type without aggregation: PreTaxCost (as the examples)
    b = qbody()
    b["type"] = "Usage"
    del b["dataset"]["aggregation"]
    r = c.query(b)
    check("default aggregation PreTaxCost", r.json()["properties"]["columns"][0]["name"] == "PreTaxCost")


def test_cost_numbers(c):
    body = qbody(groups=(("Dimension", "ServiceName"), ("Dimension", "ResourceGroupName")),
                 aggs=(("Cost", "c"), ("CostUSD", "u")))
    cols, rows, _ = all_rows(c, body)
    got = {}
    for cost, usd, date, svc, rg, cur in rows:
        d = "%d-%02d-%02d" % (date // 10000, date // 100 % 100, date % 100)
        got[(d, svc, rg)] = (cost, usd, cur)
    exp = c.expect(start="2026-10-01", end="2026-11-01", group="ServiceName,ResourceGroupName", daily="1")
    want = {(x[0], x[1], x[2]): (Decimal(x[3]), Decimal(x[4]), x[6]) for x in exp}
    check("daily vs expectation", got == want, (len(got), len(want),
                                                [k for k in want if got.get(k) != want[k]][:3]))
    # UsageQuantity
    _, rows, _ = all_rows(c, qbody(gran="None", groups=(("Dimension", "ServiceName"),),
                                   aggs=(("UsageQuantity", "q"),)))
    exp = c.expect(start="2026-10-01", end="2026-11-01", group="ServiceName")
    check("quantity vs expectation", {x[1]: x[0] for x in rows} == {x[0]: Decimal(x[3]) for x in exp},
          (rows, exp))
    # sum of daily values == None granularity, exactly
    _, daily, _ = all_rows(c, qbody(groups=(("Dimension", "ResourceGroupName"),)))
    _, total, _ = all_rows(c, qbody(gran="None", groups=(("Dimension", "ResourceGroupName"),)))
    sums = {}
    for cost, _, rg, _ in daily:
        sums[rg] = sums.get(rg, Decimal(0)) + cost
    check("daily sums == total", sums == {x[1]: x[0] for x in total}, (sums, total))
    _, whole, _ = all_rows(c, qbody(gran="None"))
    check("grand total", len(whole) == 1 and whole[0][0] == sum(sums.values()) and whole[0][1] == "EUR", whole)
    # amortized: the reservation purchase is spread over the month's days
    _, act, _ = all_rows(c, qbody(gran="None", groups=(("Dimension", "ChargeType"), ("Dimension", "PricingModel"))))
    _, amo, _ = all_rows(c, qbody(gran="None", groups=(("Dimension", "ChargeType"), ("Dimension", "PricingModel")),
                                  typ="AmortizedCost"))
    a = {(x[1], x[2]): x[0] for x in act}
    m = {(x[1], x[2]): x[0] for x in amo}
    check("purchase only in ActualCost", ("Purchase", "Reservation") in a and ("Purchase", "Reservation") not in m,
          (a, m))
    check("reserved usage 0 actual", a.get(("Usage", "Reservation")) == 0 and m.get(("Usage", "Reservation")) > 0,
          (a, m))
    check("amortized == purchase", m[("Usage", "Reservation")] == a[("Purchase", "Reservation")] ==
          Decimal("3.456") * 40 * 31, (a, m))
    check("amortized total == actual total", sum(a.values()) == sum(m.values()))
    exp = c.expect(start="2026-10-01", end="2026-11-01", group="ChargeType,PricingModel", type="AmortizedCost")
    check("amortized vs expectation", m == {(x[0], x[1]): Decimal(x[2]) for x in exp}, exp)
    # refunds
    _, rf, _ = all_rows(c, qbody(frm="2026-11-01", to="2026-11-27", gran="None", groups=(("Dimension", "ChargeType"),)))
    check("refund row", any(x[1] == "Refund" and x[0] < 0 for x in rf), rf)
    # data ends before today; future -> empty 200
    _, fut, _ = all_rows(c, qbody(frm="2026-11-28", to="2026-12-05"))
    check("no data from today on", fut == [], fut)
    _, old, _ = all_rows(c, qbody(frm="2024-06-01", to="2024-12-31"))
    check("no data before 2025", old == [])
    # cost ids are lower-case (as Cost Management answers them)
    _, ids, _ = all_rows(c, qbody(gran="None", groups=(("Dimension", "ResourceId"),),
                                  flt={"dimensions": {"name": "ResourceGroupName", "operator": "In",
                                                      "values": ["RG-WEB"]}}))
    check("lower-case resource ids", ids and all(x[1] == x[1].lower() and "/resourcegroups/rg-web/" in x[1]
                                                 for x in ids), ids[:2])
    # how long a month, daily, two groupings takes: reported, not checked
    # (timings belong to bench/; a loaded machine is slower)
    t0 = time.time()
    r = c.query(qbody(frm="2025-03-01", to="2025-03-31", groups=(("Dimension", "ResourceId"), ("TagKey", "team"))))
    dt = time.time() - t0
    check("month query answers", r.status == 200, r.body[:300])
    print("info: azure cold month query (ResourceId x TagKey, daily) %.3f s" % dt)


def test_cost_filters(c):
    def total(flt, **kw):
        _, rows, _ = all_rows(c, qbody(gran="None", flt=flt, **kw))
        return rows[0][0] if rows else Decimal(0)

    def exp(**where):
        lines = c.expect(start="2026-10-01", end="2026-11-01", **where)
        return sum((Decimal(x[0]) for x in lines), Decimal(0))

    def dim(name, *vals):
        return {"dimensions": {"name": name, "operator": "In", "values": list(vals)}}

    def tag(name, *vals):
        return {"tags": {"name": name, "operator": "In", "values": list(vals)}}

    check("filter In", total(dim("ResourceLocation", "westeurope")) == exp(ResourceLocation="westeurope"))
    check("filter In 2 values", total(dim("ServiceName", "Storage", "SQL Database")) ==
          exp(ServiceName=["Storage", "SQL Database"]) > 0)
    check("filter and + tag", total({"and": [dim("ResourceLocation", "westeurope"), tag("env", "prod")]}) ==
          exp(ResourceLocation="westeurope", TAG__env="prod"))
    a = total(dim("ServiceName", "Storage"))
    b = total(dim("ServiceName", "Bandwidth"))
    check("filter or", total({"or": [dim("ServiceName", "Storage"), dim("ServiceName", "Bandwidth")]}) == a + b > 0)
    check("filter case-insensitive", total(dim("servicename", "STORAGE")) == a)
    check("filter tag team", total(tag("team", "batch")) == exp(TAG__team="batch") > 0)
    check("filter nested", total({"and": [{"or": [dim("ResourceGroupName", "rg-web"), dim("ResourceGroupName",
                                                                                          "rg-data")]},
                                          dim("ChargeType", "Usage")]}) ==
          exp(ResourceGroupName=["rg-web", "rg-data"], ChargeType="Usage"))
    # resource-group scope
    _, rows, _ = all_rows(c, qbody(gran="None", groups=(("Dimension", "ResourceGroupName"),)),
                          scope="subscriptions/%s/resourceGroups/rg-data" % PROD)
    check("rg scope", [x[1] for x in rows] == ["rg-data"] and rows[0][0] == exp(ResourceGroupName="rg-data"), rows)
    r = c.query(qbody(gran="None"), scope="subscriptions/%s/resourceGroups/RG-DATA" % PROD)
    check("rg scope id", r.json()["id"].startswith("subscriptions/%s/resourceGroups/rg-data/" % PROD), r.json()["id"])
    _, rows, _ = all_rows(c, qbody(gran="None", groups=(("Dimension", "SubscriptionName"),)), scope="subscriptions/" + DEV)
    check("dev subscription", [x[1] for x in rows] == ["Northwind Dev"] and rows[0][0] == exp(SubscriptionId=DEV))
    r = c.query(qbody(), scope="subscriptions/%s/resourceGroups/rg-nope" % PROD)
    check("unknown rg 404", r.status == 404 and aerr(r)[0] == "ResourceGroupNotFound", r.body)
    r = c.query(qbody(), scope="subscriptions/00000000-0000-0000-0000-000000000000")
    check("unknown sub 404", r.status == 404 and aerr(r)[0] == "SubscriptionNotFound", r.body)
    r = c.query(qbody(), scope="subscriptions/not-a-guid")
    check("bad sub 400", r.status == 400 and aerr(r)[0] == "InvalidSubscriptionId", r.body)
    r = c.query(qbody(), scope="providers/Microsoft.Billing/billingAccounts/123")
    check("billing scope 400", r.status == 400, r.body)
    r = c.query(qbody(), api=None, url="%s/subscriptions/%s/providers/Microsoft.CostManagement/query" % (PREFIX, PROD))
    check("missing api-version", r.status == 400 and aerr(r)[0] == "MissingApiVersionParameter", r.body)


def test_cost_validation(c):
    def err(body, part):
        r = c.query(body)
        code, msg = aerr(r)
        check("validation: %s" % part, r.status == 400 and code == "BadRequest" and msg and part in msg,
              (r.status, code, msg))

    b = qbody(frm="2025-01-01", to="2026-01-02")
    err(b, "Invalid query definition: The time period for pulling the data cannot exceed 1 year(s)")
    r = c.query(qbody(frm="2025-01-01", to="2026-01-01"))
    check("366 days accepted", r.status == 200, r.body[:200])
    err(qbody(groups=(("Dimension", "ServiceName"), ("Dimension", "ResourceGroup"), ("Dimension", "Meter"))),
        "at most 2 groupings")
    err(qbody(aggs=(("Cost", "a"), ("CostUSD", "b"), ("UsageQuantity", "c"))), "at most 2 aggregations")
    b = qbody()
    b["dataset"]["aggregation"]["totalCost"]["function"] = "Avg"
    err(b, "function 'Avg'")
    err(qbody(aggs=(("Price", "p"),)), "'Price'")
    err(qbody(groups=(("Dimension", "Foo"),)), "The dimension 'Foo' is invalid")
    err(qbody(groups=(("Tag", "env"),)), "grouping type 'Tag'")
    err(qbody(flt={"dimensions": {"name": "ServiceName", "operator": "Equal", "values": ["Storage"]}}),
        "operator 'Equal'")
    err(qbody(flt={"dimensions": {"name": "ServiceName", "operator": "In", "values": []}}), "values")
    err(qbody(flt={"and": [{"dimensions": {"name": "ServiceName", "operator": "In", "values": ["Storage"]}}]}),
        "at least 2 expressions")
    err(qbody(flt={"or": []}), "at least 2 expressions")
    err(qbody(flt={"not": {"dimensions": {"name": "ServiceName", "operator": "In", "values": ["Storage"]}}}),
        "'not' is not supported")
    err(qbody(flt={"dimensions": {"name": "Nope", "operator": "In", "values": ["x"]}}), "The dimension 'Nope'")
    err(qbody(gran="Hourly"), "granularity 'Hourly'")
    err(qbody(typ="Forecast"), "type 'Forecast'")
    b = qbody()
    del b["timePeriod"]
    err(b, "timePeriod")
    b = qbody()
    b["timeframe"] = "Yesterday"
    err(b, "timeframe 'Yesterday'")
    b = qbody()
    b["timePeriod"]["from"] = "2026-11-01T00:00:00Z"
    err(b, "'from' date must be before")
    r = c.raw("POST", "%s/subscriptions/%s/providers/Microsoft.CostManagement/query?api-version=2025-03-01"
              % (PREFIX, PROD), b"{nope", {"Authorization": "Bearer " + DEMO})
    check("bad json 400", r.status == 400)
    # monthly and named timeframes
    b = qbody(gran="Monthly", frm="2026-01-01", to="2026-06-30")
    r = c.query(b)
    rows = r.json()["properties"]["rows"]
    check("monthly", r.status == 200 and [x[1] for x in rows] == ["2026-%02d-01T00:00:00" % m for m in range(1, 7)],
          rows)
    for tf in ("MonthToDate", "TheLastMonth", "WeekToDate", "BillingMonthToDate", "TheLastBillingMonth"):
        r = c.query({"type": "ActualCost", "timeframe": tf, "dataset": {"granularity": "Daily", "aggregation": {
            "c": {"name": "Cost", "function": "Sum"}}}})
        dates = [x[1] for x in r.json()["properties"]["rows"]]
        ok = r.status == 200 and dates and max(dates) <= 20261127
        if tf.startswith("TheLast"):
            ok = ok and min(dates) == 20261001 and max(dates) == 20261031
        elif tf.endswith("MonthToDate"):
            ok = ok and min(dates) == 20261101
        else:
            ok = ok and min(dates) == 20261123
        check("timeframe %s" % tf, ok, dates[:3])


def test_cost_paging_faults(c):
    body = qbody(groups=(("Dimension", "ResourceId"),))
    _, one, pages = all_rows(c, body)
    check("one page by default", pages == 4 if len(one) > 3000 else pages >= 1, (len(one), pages))
    c.control("config", {"azure_page_size": 250})
    r = c.query(body)
    link = r.json()["properties"]["nextLink"]
    check("nextLink = posted URL + $skiptoken", link.startswith(
        "http://127.0.0.1:%d%s/subscriptions/%s/providers/Microsoft.CostManagement/query?api-version=2025-03-01"
        "&$skiptoken=" % (c.port, PREFIX, PROD)), link)
    check("page size", len(r.json()["properties"]["rows"]) == 250)
    _, paged, pages = all_rows(c, body)
    check("paged == unpaged", paged == one and pages == -(-len(one) // 250), (len(paged), len(one), pages))
    text = log_lines(c)
    check("skiptoken logged as <token>", any("$skiptoken=<token>" in x for x in text))
    path = link[link.index("/", 8):]
    r = c.query(body, url=path.split("$skiptoken=")[0] + "$skiptoken=bogus")
    check("bad skiptoken 400", r.status == 400 and aerr(r)[0] == "BadRequest", r.body)
    other = qbody(groups=(("Dimension", "Meter"),))
    r = c.query(other, url=path)
    check("skiptoken of another query 400", r.status == 400, r.body[:200])
    c.control("reset", b"")
    cfg = c.control("config").json()
    check("reset restores azure config", cfg["azure_page_size"] == 1000 and cfg["azure_resources_page_size"] == 100
          and cfg["azure_token_ttl"] == 3599, cfg)

    # throttling headers
    c.control("fault", {"kind": "throttle", "target": "costmanagement.query"})
    r = c.query(qbody())
    check("throttle 429", r.status == 429 and r.json() == {"error": {"code": "429",
                                                                     "message": "Too many requests. Please retry."}},
          (r.status, r.body))
    for k in ("qpu", "entity", "tenant", "client"):
        check("throttle header %s" % k, r.header("x-ms-ratelimit-microsoft.costmanagement-%s-retry-after" % k) == "1")
    check("throttle informational headers", r.header("x-ms-ratelimit-microsoft.costmanagement-qpu-consumed")
          is not None and r.header("x-ms-ratelimit-microsoft.costmanagement-qpu-remaining") is not None)
    check("no Retry-After by default", r.header("Retry-After") is None)
    c.control("fault", {"kind": "throttle", "target": "costmanagement.query", "retry_after": {"qpu": 1, "tenant": 2},
                        "retry_after_header": 3})
    r = c.query(qbody())
    check("throttle params", r.status == 429 and
          r.header("x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after") == "1" and
          r.header("x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after") == "2" and
          r.header("x-ms-ratelimit-microsoft.costmanagement-entity-retry-after") is None and
          r.header("Retry-After") == "3", r.headers)
    time.sleep(0.25)
    r = c.query(qbody())
    check("retry succeeds", r.status == 200)
    js = json.loads(c.control("requests?format=json").body)
    q = [x for x in js if x["operation"] == "costmanagement.query"]
    check("log times show the delay", q[-1]["time"] - q[-2]["time"] >= 0.24 and q[-2]["fault"] == "throttle",
          [(x["time"], x["fault"]) for x in q])
    check("fault log line", log_lines(c)[-2].endswith("[fault=throttle]"), log_lines(c)[-2:])
    c.control("fault", {"kind": "nocontent", "target": "costmanagement.query"})
    r = c.query(qbody())
    check("nocontent 204", r.status == 204 and r.body == b"", (r.status, r.body))
    r = c.control("fault", {"kind": "nocontent", "target": "GetCostAndUsage"})
    check("nocontent needs an azure target", r.status == 400)
    for kind, status in (("http500", 500), ("http503", 503), ("error", 403)):
        c.control("fault", {"kind": kind, "target": "costmanagement.query"})
        r = c.query(qbody())
        check("fault %s" % kind, r.status == status and aerr(r)[0], (r.status, r.body))
    c.control("fault", {"kind": "malformed", "target": "costmanagement.query"})
    r = c.query(qbody())
    try:
        json.loads(r.body)
        bad_json = False
    except ValueError:
        bad_json = True
    check("malformed", r.status == 200 and bad_json)
    c.control("fault", {"kind": "truncated", "target": "costmanagement.query"})
    r = c.query(qbody())
    check("truncated", r.status == 200 and len(r.body) > 0 and not r.body.endswith(b"}}"), r.body[-20:])
    c.control("fault", {"kind": "error", "target": "costmanagement.query", "status": 429, "code": "TooManyRequests",
                        "message": "slow down", "headers": {"Retry-After": "7"}})
    r = c.query(qbody())
    check("error fault with params", r.status == 429 and aerr(r) == ("TooManyRequests", "slow down") and
          r.header("Retry-After") == "7", r.headers)
    c.control("reset", b"")


def test_monitor(c):
    rid = vm_id("web-1", rg="rg-web")
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z", interval="PT1H",
                  metricnames="Percentage CPU,Network In Total", aggregation="average,maximum", metricnamespace=VMNS)
    obj = r.json()
    check("metrics 200", r.status == 200, r.body[:300])
    fx = fixture("monitor/resource-manager/GetMetric.json")
    check("GetMetric top keys", set(obj) == set(fx), (set(obj), set(fx)))
    check("GetMetric top types", all(jtype(obj[k]) == jtype(fx[k]) for k in fx))
    fm, mm = fx["value"][0], obj["value"][0]
    check("GetMetric metric keys", set(mm) == set(fm), (set(mm), set(fm)))
    check("GetMetric metric types", all(jtype(mm[k]) == jtype(fm[k]) for k in fm))
    check("GetMetric name keys", set(mm["name"]) == set(fm["name"]))
    check("GetMetric series keys", set(mm["timeseries"][0]) == set(fm["timeseries"][0]))
    fp, mp = fm["timeseries"][0]["data"][0], mm["timeseries"][0]["data"][0]
    check("GetMetric point types", jtype(mp["timeStamp"]) == "str" and all(
        jtype(mp[k]) == "number" for k in mp if k != "timeStamp") and jtype(fp["average"]) == "number")
    check("metric values", obj["interval"] == "PT1H" and obj["namespace"] == VMNS and
          obj["resourceregion"] == "westeurope" and obj["timespan"] == "2026-11-27T00:00:00Z/2026-11-27T03:00:00Z" and
          mm["id"] == rid + "/providers/Microsoft.Insights/metrics/Percentage CPU" and mm["unit"] == "Percent" and
          obj["value"][1]["unit"] == "Bytes" and mm["errorCode"] == "Success" and
          mm["timeseries"][0]["metadatavalues"] == [], obj["value"][1]["unit"])
    data = mm["timeseries"][0]["data"]
    check("3 hourly buckets", [p["timeStamp"] for p in data] == ["2026-11-27T0%d:00:00Z" % h for h in range(3)] and
          all(set(p) == {"timeStamp", "average", "maximum"} for p in data), data)
    exp = c.control("expect/azure_metrics?" + urllib.parse.urlencode({
        "resource_id": rid, "metric": "Percentage CPU", "start": "2026-11-27T00:00:00Z", "end": "2026-11-27T03:00:00Z",
        "interval": "PT1H", "aggregation": "average"})).body.decode().splitlines()
    check("average vs expectation", [float(x.split("\t")[1]) for x in exp] == [p["average"] for p in data],
          (exp, data))
    # partial last bucket, aligned on the start
    r = c.metrics(rid, timespan="2026-11-27T00:10:00Z/2026-11-27T02:30:00Z", interval="PT1H",
                  metricnames="Percentage CPU", aggregation="count,total,minimum")
    data = r.json()["value"][0]["timeseries"][0]["data"]
    check("buckets from start, partial last", [p["timeStamp"] for p in data] ==
          ["2026-11-27T00:10:00Z", "2026-11-27T01:10:00Z", "2026-11-27T02:10:00Z"] and
          [p["count"] for p in data] == [60.0, 60.0, 20.0] and set(data[0]) == {"timeStamp", "minimum", "total",
                                                                                "count"}, data)
    # after "now" (today 00:00Z): buckets with only timeStamp
    r = c.metrics(rid, timespan="2026-11-27T22:00:00Z/2026-11-28T02:00:00Z", interval="PT1H",
                  metricnames="Percentage CPU", aggregation="average")
    data = r.json()["value"][0]["timeseries"][0]["data"]
    check("empty buckets after now", len(data) == 4 and "average" in data[1] and data[2] == {
        "timeStamp": "2026-11-28T00:00:00Z"} and data[3] == {"timeStamp": "2026-11-28T01:00:00Z"}, data)
    # maintenance gap: 03:00-03:59 UTC on the 1st of the month
    r = c.metrics(rid, timespan="2026-11-01T02:00:00Z/2026-11-01T05:00:00Z", interval="PT1H",
                  metricnames="Percentage CPU")
    data = r.json()["value"][0]["timeseries"][0]["data"]
    check("gap bucket", data[1] == {"timeStamp": "2026-11-01T03:00:00Z"} and "average" in data[0] and
          "average" in data[2], data)
    # outside the 93-day retention: no data at all
    r = c.metrics(rid, timespan="2026-06-01T00:00:00Z/2026-06-02T00:00:00Z", interval="PT1H",
                  metricnames="Percentage CPU")
    check("outside retention", r.status == 200 and r.json()["value"][0]["timeseries"] == [], r.body[:300])
    r = c.metrics(rid, timespan="2026-08-26T22:00:00Z/2026-08-27T02:00:00Z", interval="PT1H",
                  metricnames="Percentage CPU")
    data = r.json()["value"][0]["timeseries"][0]["data"]
    check("retention edge", "average" not in data[0] and "average" in data[-1], data)
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T04:00:00Z", interval="FULL",
                  metricnames="Percentage CPU")
    o = r.json()
    check("FULL", o["interval"] == "PT4H" and len(o["value"][0]["timeseries"][0]["data"]) == 1, o["interval"])
    # default aggregation per metric
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T01:00:00Z", interval="PT1H",
                  metricnames="Network Out Total")
    check("default aggregation total", "total" in r.json()["value"][0]["timeseries"][0]["data"][0])
    # idle VMs
    for name, rg, sub in (("ml-gpu-1", "rg-ml", PROD), ("dev-1", "rg-dev", DEV)):
        r = c.metrics(vm_id(name, rg, sub), timespan="2026-11-20T00:00:00Z/2026-11-27T00:00:00Z", interval="P1D",
                      metricnames="Percentage CPU", aggregation="average,maximum")
        data = r.json()["value"][0]["timeseries"][0]["data"]
        check("idle %s" % name, len(data) == 7 and all(p["average"] < 2 and p["maximum"] < 2 for p in data), data[:1])
    r = c.metrics(vm_id("batch-worker-007"), timespan="2026-11-20T00:00:00Z/2026-11-27T00:00:00Z", interval="P1D",
                  metricnames="Percentage CPU")
    check("busy batch worker", all(p["average"] > 10 for p in r.json()["value"][0]["timeseries"][0]["data"]))
    # other resource types
    for rid2, ns, names in (
            ("/subscriptions/%s/resourceGroups/rg-data/providers/Microsoft.Sql/servers/nw-sql/databases/orders" % PROD,
             "Microsoft.Sql/servers/databases", "cpu_percent,dtu_consumption_percent,storage,storage_percent,"
                                                "connection_successful"),
            ("/subscriptions/%s/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/nwdatalake" % PROD,
             "Microsoft.Storage/storageAccounts", "Transactions,UsedCapacity,Availability,Ingress,Egress"),
            ("/subscriptions/%s/resourceGroups/rg-web/providers/Microsoft.Web/sites/nw-web-frontend" % PROD,
             "Microsoft.Web/sites", "CpuTime,Requests,HttpResponseTime,BytesReceived,BytesSent")):
        r = c.metrics(rid2, timespan="2026-11-27T00:00:00Z/2026-11-27T02:00:00Z", interval="PT1H", metricnames=names,
                      metricnamespace=ns, aggregation="average")
        check("metrics %s" % ns, r.status == 200 and [m["name"]["value"] for m in r.json()["value"]] ==
              names.split(",") and all(len(m["timeseries"][0]["data"]) == 2 for m in r.json()["value"]),
              r.body[:300])
    units = {m["name"]["value"]: m["unit"] for m in r.json()["value"]}
    check("site units", units == {"CpuTime": "Seconds", "Requests": "Count", "HttpResponseTime": "Seconds",
                                  "BytesReceived": "Bytes", "BytesSent": "Bytes"}, units)
    # validation
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z", interval="PT2H")
    check("bad interval", r.status == 400 and aerr(r)[0] == "BadRequest", r.body)
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z", aggregation="sum")
    check("bad aggregation", r.status == 400, r.body)
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z", metricnames="Foo")
    check("bad metric", r.status == 400 and aerr(r)[1].startswith(
        "Failed to find metric configuration for provider: Microsoft.Compute, resource Type: virtualMachines, "
        "metric: Foo, Valid metrics: Percentage CPU,Network In Total,"), aerr(r))
    r = c.metrics(rid, timespan="2026-11-27T03:00:00Z/2026-11-27T00:00:00Z")
    check("reversed timespan", r.status == 400)
    r = c.metrics(vm_id("web-9", rg="rg-web"), timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z")
    check("unknown resource 404", r.status == 404 and aerr(r)[0] == "ResourceNotFound", r.body)
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z", metricnamespace="Microsoft.Web/sites")
    check("wrong namespace", r.status == 400, r.body)
    r = c.metrics(rid, token="azure.emu-1-metrics-x", timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z")
    check("metrics needs a token", r.status == 401)
    line = [x for x in log_lines(c) if x.startswith("monitor.metrics")][0]
    check("metrics log line", line.startswith("monitor.metrics GET %s%s/providers/Microsoft.Insights/metrics "
                                              "aggregation=average,maximum api-version=2024-02-01 interval=PT1H "
                                              "metricnames=Percentage CPU,Network In Total metricnamespace=%s "
                                              "timespan=" % (PREFIX, rid, VMNS)), line)
    c.control("fault", {"kind": "throttle", "target": "monitor.metrics", "retry_after": 2})
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z")
    check("metrics throttle", r.status == 429 and r.header("Retry-After") == "2" and
          aerr(r)[0] == "TooManyRequests", (r.status, r.headers))
    c.control("fault", {"kind": "http503", "target": "monitor.metrics"})
    r = c.metrics(rid, timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z")
    check("metrics 503", r.status == 503 and r.header("Retry-After") == "1")
    c.control("reset", b"")


def test_batch(c):
    tok = c.token(scope=MET_SCOPE).json()["access_token"]
    ids = [vm_id("batch-worker-%03d" % i) for i in range(1, 51)]
    kw = dict(starttime="2026-11-27T00:00:00.000Z", endtime="2026-11-27T03:00:00.000Z", interval="PT1H",
              metricnames="Percentage CPU,Network In Total", aggregation="average,maximum")
    t0 = time.time()
    r = c.batch(ids, tok, **kw)
    dt = time.time() - t0
    obj = r.json()
    check("batch 200", r.status == 200 and len(obj["values"]) == 50, r.body[:300])
    print("info: azure getBatch 50 VMs x 2 metrics x 3 h: %.3f s" % dt)
    fx = fixture("monitor/data-plane/MetricBatchExample.json")
    check("batch top keys", set(obj) == set(fx))
    v, fv = obj["values"][0], fx["values"][0]
    check("batch entry keys", set(v) == set(fv), (set(v), set(fv)))
    check("batch entry types", all(jtype(v[k]) == jtype(fv[k]) for k in fv))
    check("batch metric keys", set(v["value"][0]) == set(fv["value"][0]), (set(v["value"][0]), set(fv["value"][0])))
    check("batch entry values", v["resourceid"] == ids[0] and v["resourceregion"] == "westeurope" and
          v["namespace"] == VMNS and v["interval"] == "PT1H" and v["starttime"] == "2026-11-27T00:00:00Z" and
          [x["resourceid"] for x in obj["values"]] == ids, {k: v[k] for k in v if k != "value"})
    single = c.metrics(ids[3], timespan="2026-11-27T00:00:00Z/2026-11-27T03:00:00Z", interval="PT1H",
                       metricnames="Percentage CPU,Network In Total", aggregation="average,maximum").json()
    check("batch == single", obj["values"][3]["value"] == single["value"])
    line = [x for x in log_lines(c) if x.startswith("monitor.getBatch")][-1]
    check("batch log line", line.startswith("monitor.getBatch POST %s/subscriptions/%s/metrics:getBatch ids=50 "
                                            "region=westeurope aggregation=average,maximum api-version=2024-02-01 "
                                            "endtime=2026-11-27T03:00:00.000Z interval=PT1H "
                                            "metricnames=Percentage CPU,Network In Total metricnamespace=%s "
                                            "starttime=" % (PREFIX, PROD, VMNS)), line)
    r = c.batch(ids + [vm_id("batch-worker-051")], tok, **kw)
    check("51 ids 400", r.status == 400 and aerr(r)[1] == "The number of resource ids must be less than or equal to "
                                                          "50", r.body)
    r = c.batch([ids[0], vm_id("web-3", rg="rg-web")], tok, **kw)
    check("mixed regions 400", r.status == 400 and "same region" in aerr(r)[1], r.body)
    r = c.batch([vm_id("dev-1", "rg-dev", DEV)], tok, **kw)
    check("other subscription 400", r.status == 400, r.body)
    r = c.batch([vm_id("dev-1", "rg-dev", DEV)], tok, sub=DEV, **kw)
    check("dev subscription batch", r.status == 200 and r.json()["values"][0]["resourceregion"] == "northeurope")
    r = c.batch(["/subscriptions/%s/resourceGroups/rg-data/providers/Microsoft.Sql/servers/nw-sql/databases/orders"
                 % PROD], tok, **kw)
    check("namespace mismatch 400", r.status == 400, r.body)
    r = c.batch([vm_id("batch-worker-999")], tok, **kw)
    check("unknown id 404", r.status == 404, r.body)
    r = c.batch(ids[:2], tok, **dict(kw, metricnames="Foo"))
    check("batch bad metric", r.status == 400 and "Failed to find metric configuration" in aerr(r)[1])
    kw2 = dict(kw)
    del kw2["starttime"]
    r = c.batch(ids[:2], tok, **kw2)
    check("batch needs both times", r.status == 400)
    r = c.batch(ids[:2], tok, **dict(kw, interval="FULL"))
    check("batch FULL", r.status == 200 and r.json()["values"][0]["interval"] == "PT3H")
    c.control("fault", {"kind": "throttle", "target": "monitor.getBatch", "region": "westeurope", "retry_after": 4})
    r = c.batch([vm_id("web-3", rg="rg-web")], tok, **kw)
    check("region fault not taken by eastus", r.status == 200)
    r = c.batch(ids[:2], tok, **kw)
    check("batch throttle", r.status == 429 and r.header("Retry-After") == "4" and aerr(r)[0] == "TooManyRequests",
          (r.status, r.headers))
    js = json.loads(c.control("requests?format=json").body)
    check("batch log region", [x["region"] for x in js if x["operation"] == "monitor.getBatch"][-1] == "westeurope")
    c.control("reset", b"")


def test_resources(c):
    vm = "resourceType eq 'Microsoft.Compute/virtualMachines'"
    r = c.resources(flt=vm)
    obj = r.json()
    check("list page 1", r.status == 200 and len(obj["value"]) == 100 and "nextLink" in obj, r.body[:200])
    item = obj["value"][0]
    check("list item", item == {"id": vm_id("batch-worker-001"), "name": "batch-worker-001", "type": VMNS,
                                "location": "westeurope", "tags": {"env": "prod", "team": "batch",
                                                                   "cost-center": "cc-4100"}}, item)
    link = obj["nextLink"]
    check("list nextLink", link.startswith("http://127.0.0.1:%d%s/subscriptions/%s/resources?" % (c.port, PREFIX, PROD))
          and "$skiptoken=" in link, link)
    r2 = c.resources(url=link[link.index("/", 8):])
    o2 = r2.json()
    check("list page 2", r2.status == 200 and len(o2["value"]) == 30 and "nextLink" not in o2, len(o2["value"]))
    names = [x["name"] for x in obj["value"] + o2["value"]]
    check("130 prod VMs", len(set(names)) == 130 and "web-3" in names and "dev-1" not in names)
    untagged = [x for x in o2["value"] if x["name"] == "web-3"][0]
    check("untagged has no tags", "tags" not in untagged, untagged)
    r = c.resources(sub=DEV, flt=vm)
    check("dev VMs", [x["name"] for x in r.json()["value"]] == ["dev-1"], r.body[:300])
    r = c.resources(flt=vm + " and location eq 'westeurope'")
    o = r.json()
    r2 = c.resources(url=o["nextLink"][o["nextLink"].index("/", 8):])
    check("location filter", len(o["value"]) + len(r2.json()["value"]) == 127 and
          all(x["location"] == "westeurope" for x in o["value"] + r2.json()["value"]))
    r = c.resources(rg="rg-batch", flt=vm, **{"$top": "200"})
    check("rg path", len(r.json()["value"]) == 100 and all(x["id"].split("/")[4] == "rg-batch"
                                                           for x in r.json()["value"]))
    c.control("config", {"azure_resources_page_size": 500})
    r = c.resources(rg="rg-batch")
    check("page size config", len(r.json()["value"]) == 125 and "nextLink" not in r.json())
    r = c.resources(flt="resourceType eq 'Microsoft.Sql/servers/databases'")
    check("sql dbs", [x["id"] for x in r.json()["value"]] == [
        "/subscriptions/%s/resourceGroups/rg-data/providers/Microsoft.Sql/servers/nw-sql/databases/%s" % (PROD, d)
        for d in ("orders", "warehouse")], r.body[:400])
    r = c.resources()
    types = sorted({x["type"] for x in r.json()["value"]})
    check("all types", types == ["Microsoft.Compute/virtualMachines", "Microsoft.Sql/servers/databases",
                                 "Microsoft.Storage/storageAccounts", "Microsoft.Web/sites"], types)
    r = c.resources(flt="resourceType ne 'x'")
    check("bad filter 400", r.status == 400 and aerr(r)[0] == "InvalidFilterInQueryString", r.body)
    r = c.resources(rg="rg-zzz")
    check("unknown rg 404", r.status == 404)
    r = c.resources(token="azure.emu-1-arm-x")
    check("listing needs a token", r.status == 401)
    line = [x for x in log_lines(c) if x.startswith("arm.resources.list")][0]
    check("listing log line", line == "arm.resources.list GET %s/subscriptions/%s/resources $filter=%s "
                                      "api-version=2021-04-01" % (PREFIX, PROD, vm), line)
    c.control("fault", {"kind": "error", "target": "arm.resources.list"})
    r = c.resources()
    check("listing error fault", r.status == 403 and aerr(r)[0] == "AuthorizationFailed", r.body)
    c.control("fault", {"kind": "throttle", "target": "arm.resources.list"})
    r = c.resources()
    check("listing throttle", r.status == 429 and r.header("Retry-After") == "1")
    c.control("fault", {"kind": "drop", "target": "arm.resources.list"})
    try:
        r = c.resources(retry=False)
        dropped = False
    except Exception:
        dropped = True
        c.conn = None
    check("listing drop", dropped)
    text = c.control("azure/resources?type=virtual_machine&location=eastus").body.decode()
    check("control azure/resources", len(text.splitlines()) == 2 and "ml-gpu-1" in text and "web-3" in text, text)
    js = json.loads(c.control("azure/resources?format=json&type=virtual_machine").body)
    check("idle listed", sorted(x["name"] for x in js if x["idle"]) == ["dev-1", "ml-gpu-1"])
    stats = c.control("stats").json()
    check("stats by service", stats["by_service"].get("arm", 0) >= 1, stats)
    c.control("reset", b"")


def run():
    srv = server.make_server(0, today=TODAY, warm=False)
    port = srv.server_address[1]
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    th.start()
    c = Az(port)
    try:
        for t in (test_tokens, test_cost_shape, test_cost_numbers, test_cost_filters, test_cost_validation,
                  test_cost_paging_faults, test_monitor, test_batch, test_resources):
            try:
                t(c)
            except Exception:
                FAILED.append("azure " + t.__name__ + " raised")
                print("FAIL: azure %s raised\n%s" % (t.__name__, traceback.format_exc()))
                c = Az(port)
                c.control("reset", b"")
    finally:
        srv.shutdown()
        srv.server_close()
    return PASSED, len(FAILED), SKIPPED


if __name__ == "__main__":
    p, f, s = run()
    for x in FAILED:
        print("failed: " + x)
    print("%d passed, %d failed" % (p, f))
    sys.exit(1 if f else 0)
