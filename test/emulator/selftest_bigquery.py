"""Self-checks of the BigQuery emulator (gcp_bigquery.py) over gcp_billing.py's data.

run() -> (passed, failed, skipped); prints one line per failure.  selftest.py calls it;
alone: /usr/bin/python3 test/emulator/selftest_bigquery.py
Calls gcp_bigquery.handle() directly (no HTTP, no auth): a few seconds.
"""

import datetime
import json
import re
import sys
import time
import traceback
from decimal import Decimal

import control
import gcp_billing as B
import gcp_bigquery as Q

TABLE = "`%s.%s.%s`" % (B.TABLE_PROJECT, B.TABLE_DATASET, B.TABLE_NAME)
DETAILED = "`%s.%s.%s`" % (B.TABLE_PROJECT, B.TABLE_DATASET, B.TABLE_NAME_DETAILED)
PROJECT = "northwind-billing"
CREDITS = "IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) AS c), 0)"
DETAIL = ("SELECT usage_start_time AS usage_start_time, service.description AS service, CAST(cost AS NUMERIC) AS cost, "
          "%s AS credits, CAST(cost AS NUMERIC) + %s AS net_cost, TO_JSON_STRING(labels) AS labels FROM %s "
          "WHERE usage_start_time >= @p0 AND usage_start_time < @p1 AND service.description IN UNNEST(@p2) "
          "AND _PARTITIONTIME >= TIMESTAMP_SUB(@p0, INTERVAL 1 DAY)" % (CREDITS, CREDITS, TABLE))
GROUPED = ("SELECT service.description AS service, SUM(CAST(cost AS NUMERIC)) AS sum_cost, COUNT(*) AS count, "
           "MIN(usage_start_time) AS min_usage_start_time, SUM(CAST(usage.amount AS NUMERIC)) AS avg_usage_amount_sum, "
           "COUNT(CAST(usage.amount AS NUMERIC)) AS avg_usage_amount_count FROM %s WHERE usage_start_time >= @p0 AND "
           "usage_start_time < @p1 AND _PARTITIONTIME >= TIMESTAMP_SUB(@p0, INTERVAL 1 DAY) GROUP BY 1" % TABLE)
PLAIN_NUMERIC = re.compile(r"^-?(0|[1-9]\d*)(\.\d*[1-9])?$")

PASSED = 0
FAILED = []


def check(name, cond, detail=None):
    global PASSED
    if cond:
        PASSED += 1
    else:
        FAILED.append(name)
        print("FAIL: bigquery: %s%s" % (name, "" if detail is None else " -- %s" % str(detail)[:600]))


def ts(name, value):
    return {"name": name, "parameterType": {"type": "TIMESTAMP"}, "parameterValue": {"value": value}}


def string(name, value):
    pv = {} if value is None else {"value": value}
    return {"name": name, "parameterType": {"type": "STRING"}, "parameterValue": pv}


def strings(name, values):
    return {"name": name, "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
            "parameterValue": {"arrayValues": [{"value": v} for v in values]}}


def window(p0, p1):
    return [ts("p0", p0), ts("p1", p1)]


def query(state, sql, params=(), int64=True, project=PROJECT, **extra):
    body = {"query": sql, "useLegacySql": False}
    if params:
        body["parameterMode"] = "NAMED"
        body["queryParameters"] = list(params)
    if int64:
        body["formatOptions"] = {"useInt64Timestamp": True}
    body.update(extra)
    for k in [k for k, v in body.items() if v is None]:
        del body[k]
    return Q.handle(state, "bigquery.jobs.query", project, None, {}, json.dumps(body).encode())


def results(state, job_id, project=PROJECT, **params):
    p = {"location": ["US"], "formatOptions.useInt64Timestamp": ["true"]}
    for k, v in params.items():
        k = k.replace("_", ".") if k.startswith("formatOptions") else k
        if v is None:
            p.pop(k, None)
        else:
            p[k] = [str(v)]
    return Q.handle(state, "bigquery.jobs.getQueryResults", project, job_id, p, None)


def cells(obj):
    return [[c["v"] for c in r["f"]] for r in obj.get("rows", [])]


def all_rows(state, sql, params=(), page=None):
    """Every row of a query, following page tokens; (rows, first answer, pages)."""
    s, o = query(state, sql, params, maxResults=page)
    if s != 200:
        raise AssertionError("%d %s" % (s, o))
    first = o
    out = cells(o)
    pages = [len(out)]
    while "pageToken" in o:
        s, o = results(state, first["jobReference"]["jobId"], pageToken=o["pageToken"], maxResults=page)
        if s != 200:
            raise AssertionError("%d %s" % (s, o))
        out += cells(o)
        pages.append(len(cells(o)))
    return out, first, pages


def error(obj):
    return obj.get("error", {}).get("message", "")


def reason(obj):
    try:
        return obj["error"]["errors"][0]["reason"]
    except (KeyError, IndexError, TypeError):
        return None


def days(first, end):
    d = first
    while d < end:
        yield d
        d += datetime.timedelta(days=1)


def us(day):
    return B.day_us(day)


# --- the checks ------------------------------------------------------------------------------

def test_detail(st):
    services = ["Compute Engine", "Cloud Storage", "Support"]
    params = window("2026-06-01 00:00:00.000000+00", "2026-07-01 00:00:00.000000+00") + [strings("p2", services)]
    t0 = time.time()
    s, o = query(st, DETAIL, params)
    check("detail query: 200", s == 200, o)
    if s != 200:
        return
    fields = o["schema"]["fields"]
    check("detail schema: names, legacy types, NULLABLE",
          [(f["name"], f["type"], f["mode"]) for f in fields] == [
              ("usage_start_time", "TIMESTAMP", "NULLABLE"), ("service", "STRING", "NULLABLE"),
              ("cost", "NUMERIC", "NULLABLE"), ("credits", "NUMERIC", "NULLABLE"),
              ("net_cost", "NUMERIC", "NULLABLE"), ("labels", "STRING", "NULLABLE")], fields)
    check("jobs.query answer members", o["kind"] == "bigquery#queryResponse" and o["jobComplete"] is True and
          o["cacheHit"] is False and o["jobReference"]["projectId"] == PROJECT and
          o["jobReference"]["location"] == "US" and o["jobReference"]["jobId"].startswith("job_") and
          isinstance(o["totalRows"], str) and isinstance(o["totalBytesProcessed"], str) and
          isinstance(o["totalBytesBilled"], str), {k: v for k, v in o.items() if k != "rows"})
    rows, first, _ = all_rows(st, DETAIL, params, page=100000)
    elapsed = time.time() - t0
    want = [r for d in days(datetime.date(2026, 6, 1), datetime.date(2026, 7, 1)) for r in B.rows(d)
            if r[B.C_SERVICE_DESCRIPTION] in services]
    check("detail: the rows of the window and services", len(rows) == len(want) == int(o["totalRows"]),
          (len(rows), len(want), o["totalRows"]))
    ok_net = ok_fmt = ok_vals = ok_labels = True
    for got, r in zip(rows, want):
        cost, cred, net = (Decimal(x) for x in got[2:5])
        ok_net &= net == cost + cred
        ok_fmt &= all(PLAIN_NUMERIC.match(x) for x in got[2:5])
        ok_vals &= (got[0] == str(r[B.C_USAGE_START_TIME]) and got[1] == r[B.C_SERVICE_DESCRIPTION] and
                    cost == Decimal(repr(r[B.C_COST])) and
                    cred == sum((Decimal(repr(c[1])) for c in r[B.C_CREDITS]), Decimal(0)))
        ok_labels &= json.loads(got[5]) == [{"key": k, "value": v} for k, v in r[B.C_LABELS]]
    check("detail: net_cost = cost + credits on every row", ok_net)
    check("detail: NUMERIC as plain decimals (no exponent, no trailing zeros)", ok_fmt)
    check("detail: values are the generator's (cost, credits = exact sum of the credit amounts)", ok_vals)
    check("detail: TO_JSON_STRING(labels) is the labels as key/value objects", ok_labels)
    sample = {x[5] for x in rows}
    check("TO_JSON_STRING(labels): compact, as BigQuery prints it, [] when none",
          '[{"key":"env","value":"prod"},{"key":"team","value":"platform"}]' in sample and "[]" in sample,
          sorted(sample)[:5])
    check("a one-month detail query runs well under a second", elapsed < 1.5, elapsed)


def test_grouped_vs_expect(st):
    params = window("2026-06-01 00:00:00+00", "2026-07-01 00:00:00+00")
    s, o = query(st, GROUPED, params)
    check("grouped query: 200", s == 200, o)
    if s != 200:
        return
    check("grouped schema types", [f["type"] for f in o["schema"]["fields"]] ==
          ["STRING", "NUMERIC", "INTEGER", "TIMESTAMP", "NUMERIC", "INTEGER"], o["schema"])
    sql = ("SELECT service.description AS service, SUM(CAST(cost AS NUMERIC)) AS cost, SUM(%s) AS credits, "
           "SUM(CAST(cost AS NUMERIC) + %s) AS net_cost, SUM(CAST(usage.amount AS NUMERIC)) AS usage_amount, "
           "COUNT(*) AS n FROM %s WHERE usage_start_time >= @p0 AND usage_start_time < @p1 "
           "AND _PARTITIONTIME >= TIMESTAMP_SUB(@p0, INTERVAL 1 DAY) GROUP BY 1" % (CREDITS, CREDITS, TABLE))
    s, o = query(st, sql, params)
    got = "".join("\t".join(r) + "\n" for r in sorted(cells(o)))
    want = B.expect({"start": "2026-06-01", "end": "2026-07-01", "group": "service"}, st.today())
    check("gcp_billing.expect() = the SQL evaluator for a month grouped by service (cost, credits, net_cost, "
          "usage, rows)", s == 200 and got == want, "\n%s---\n%s" % (got, want))
    # the grouped shape of the FDW: counts and sums agree with the expectation too
    s, o = query(st, GROUPED, params)
    by = {r[0]: r for r in cells(o)}
    exp = {line.split("\t")[0]: line.rstrip("\n").split("\t") for line in want.splitlines(True)}
    check("FDW grouped shape agrees (sum_cost, count, usage sum and count)",
          all(by[k][1] == e[1] and by[k][2] == e[5] and by[k][4] == e[4] and by[k][5] == e[5]
              for k, e in exp.items()) and len(by) == len(exp), (by, exp))
    check("MIN(usage_start_time) of each service is the month's first hour",
          all(r[3] == str(us(datetime.date(2026, 6, 1))) for r in by.values()), by)
    # by UTC day: DATE(timestamp) groups the hours of each day, as day-long windows add them up
    s, o = query(st, "SELECT DATE(usage_start_time) AS d, SUM(CAST(cost AS NUMERIC)) AS c FROM %s "
                     "WHERE usage_start_time >= @p0 AND usage_start_time < @p1 GROUP BY 1" % TABLE,
                 window("2026-06-01 00:00:00+00", "2026-06-04 00:00:00+00"))
    by_day = sorted(cells(o)) if s == 200 else []
    check("DATE(ts) schema type DATE", s == 200 and o["schema"]["fields"][0]["type"] == "DATE", o)
    singles = []
    for d in ("01", "02", "03"):
        s1, o1 = query(st, "SELECT SUM(CAST(cost AS NUMERIC)) AS c FROM %s "
                           "WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE,
                       window("2026-06-%s 00:00:00+00" % d, "2026-06-%02d 00:00:00+00" % (int(d) + 1)))
        singles.append(["2026-06-" + d, cells(o1)[0][0]])
    check("GROUP BY DATE(ts) = one query per day", by_day == singles, (by_day, singles))
    # totals without GROUP BY, and over no rows
    s, o = query(st, "SELECT SUM(CAST(cost AS NUMERIC)) AS c, COUNT(*) AS n, MAX(usage_end_time) AS m FROM %s "
                     "WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE, params)
    tot = B.expect({"start": "2026-06-01", "end": "2026-07-01"}, st.today()).rstrip("\n").split("\t")
    check("aggregates without GROUP BY: one row", s == 200 and cells(o) == [[tot[0], tot[4], cells(o)[0][2]]],
          (cells(o), tot))
    s, o = query(st, "SELECT SUM(CAST(cost AS NUMERIC)) AS c, COUNT(*) AS n, MIN(usage_start_time) AS m FROM %s "
                     "WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE,
                 window("2024-06-01 00:00:00+00", "2024-07-01 00:00:00+00"))
    check("aggregates over no rows: one row, SUM/MIN NULL, COUNT 0", s == 200 and cells(o) == [[None, "0", None]] and
          o["totalRows"] == "1", o)
    s, o = query(st, GROUPED, window("2024-06-01 00:00:00+00", "2024-07-01 00:00:00+00"))
    check("GROUP BY over no rows: no row (and no rows member)", s == 200 and o["totalRows"] == "0" and
          "rows" not in o, o)
    s, o = query(st, "SELECT 1 AS one FROM %s WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE,
                 window("2026-06-01 00:00:00+00", "2026-06-02 00:00:00+00"))
    check("SELECT 1 AS one: a row per row, INTEGER, 10 MB billed for no column", s == 200 and
          o["totalRows"] == str(len(B.rows(datetime.date(2026, 6, 1)))) and
          o["schema"]["fields"] == [{"name": "one", "type": "INTEGER", "mode": "NULLABLE"}] and
          o["totalBytesBilled"] == "10485760", {k: v for k, v in o.items() if k != "rows"})


def test_params(st):
    p = window("2026-06-01 00:00:00+00", "2026-06-02 00:00:00+00")
    base = "SELECT COUNT(*) AS n FROM %s WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE
    nasty = "Compute' OR 1=1 -- \\' \"@p0\" \\\\ @p1 `x`"
    s, o = query(st, base + " AND service.description = @p2", p + [string("p2", nasty)])
    check("a STRING value with quotes, backslashes and @ is data: no row matches", s == 200 and cells(o) == [["0"]], o)
    s, o = query(st, base + " AND service.description IN UNNEST(@p2)", p + [strings("p2", [nasty, "Networking"])])
    nnet = sum(1 for r in B.rows(datetime.date(2026, 6, 1)) if r[B.C_SERVICE_DESCRIPTION] == "Networking")
    check("an ARRAY<STRING> value with such a string is data too", s == 200 and cells(o) == [[str(nnet)]], (o, nnet))
    s, o = query(st, base + " AND service.description = @p9", p)
    m = re.search(r"Query parameter 'p9' not found at \[1:(\d+)\]$", error(o))
    check("undeclared parameter: 400 invalidQuery at its position", s == 400 and reason(o) == "invalidQuery" and m and
          int(m.group(1)) == (base + " AND service.description = @p9").index("@p9") + 1, o)
    err = o.get("error", {})
    check("error envelope", list(err) == ["code", "message", "errors", "status"] and err["code"] == 400 and
          err["status"] == "INVALID_ARGUMENT" and err["errors"][0] == {
              "message": err["message"], "domain": "global", "reason": "invalidQuery", "location": "q",
              "locationType": "parameter"}, err)
    for bad in ("2026-13-01 00:00:00+00", "yesterday", "2026-06-01 25:00:00", "2026-06-01 00:00:00+99"):
        s, o = query(st, base, [ts("p0", bad), ts("p1", "2026-06-02 00:00:00+00")])
        check("bad TIMESTAMP value %r: 400 invalidQuery" % bad, s == 400 and reason(o) == "invalidQuery", o)
    want = us(datetime.date(2026, 6, 1))
    for good in ("2026-06-01 00:00:00.000000+00", "2026-06-01T00:00:00Z", "2026-06-01 02:00:00+02:00",
                 "2026-05-31 19:30:00-04:30", "2026-06-01 00:00:00", "2026-06-01T00:00:00.000000+0000"):
        check("TIMESTAMP literal %r" % good, Q.parse_timestamp(good) == want, Q.parse_timestamp(good))
    s, o = query(st, base + " AND service.description = @p2", p + [string("p2", 7)])
    check("a non-string parameter value: 400", s == 400, o)
    s, o = query(st, base + " AND usage_start_time >= @p2", p + [string("p2", "2026-06-01")])
    check("TIMESTAMP column against a STRING parameter: 400 No matching signature", s == 400 and
          "No matching signature for operator >=" in error(o), o)
    s, o = query(st, base.replace("@p0", "@P0"), p)
    check("parameter names are case-insensitive", s == 200, o)


def test_nulls(st):
    day = datetime.date(2026, 6, 1)
    rows = B.rows(day)
    p = window("2026-06-01 00:00:00+00", "2026-06-02 00:00:00+00")
    base = "SELECT COUNT(*) AS n FROM %s WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE
    nulls = sum(1 for r in rows if r[B.C_PROJECT_ID] is None)
    check("the data has account-level rows (project.id NULL)", nulls > 0, nulls)

    def count(cond, extra=()):
        s, o = query(st, base + " AND " + cond, p + list(extra))
        return int(cells(o)[0][0]) if s == 200 else o
    check("!= excludes NULL rows",
          count("project.id != @p2", [string("p2", "northwind-prod")]) ==
          sum(1 for r in rows if r[B.C_PROJECT_ID] not in (None, "northwind-prod")))
    check("NOT IN UNNEST excludes NULL rows",
          count("project.id NOT IN UNNEST(@p2)", [strings("p2", ["northwind-prod", "northwind-ml"])]) ==
          sum(1 for r in rows if r[B.C_PROJECT_ID] not in (None, "northwind-prod", "northwind-ml")))
    check("IN UNNEST of an empty array: no row", count("project.id IN UNNEST(@p2)", [strings("p2", [])]) == 0)
    check("NOT IN UNNEST of an empty array: every row, NULL too",
          count("project.id NOT IN UNNEST(@p2)", [strings("p2", [])]) == len(rows))
    check("IS NOT NULL", count("project.id IS NOT NULL") == len(rows) - nulls)
    check("IS NULL", count("project.id IS NULL") == nulls)
    check("= a NULL parameter: no row", count("project.id = @p2", [string("p2", None)]) == 0)
    check("zone < a string (ordering of STRING)", count("location.zone < @p2", [string("p2", "us")]) ==
          sum(1 for r in rows if r[B.C_LOCATION_ZONE] is not None and r[B.C_LOCATION_ZONE] < "us"))
    s, o = query(st, "SELECT project.id AS p, COUNT(*) AS n FROM %s WHERE usage_start_time >= @p0 AND "
                     "usage_start_time < @p1 GROUP BY 1" % TABLE, p)
    got = {r[0]: r[1] for r in cells(o)}
    check("GROUP BY a column with NULLs: a NULL group", s == 200 and got.get(None) == str(nulls), got)


def test_errors(st):
    p = window("2026-06-01 00:00:00+00", "2026-06-02 00:00:00+00")
    w = " FROM %s WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE

    def err(sql, params=p, **kw):
        s, o = query(st, sql, params, **kw)
        return s, error(o), reason(o)
    sql = "SELECT service.description, sku.id, COUNT(*)" + w + " GROUP BY 1"
    check("GROUP BY: a column neither grouped nor aggregated",
          err(sql) == (400, "SELECT list expression references column sku.id which is neither grouped nor "
                            "aggregated at [1:%d]" % (sql.index("sku.id") + 1), "invalidQuery"), err(sql))
    sql = "SELECT CAST(cost AS NUMERIC) AS cost, COUNT(*) AS n" + w
    check("aggregate without GROUP BY and a plain column", err(sql)[0] == 400 and
          "references column cost which is neither grouped nor aggregated at [1:13]" in err(sql)[1], err(sql))
    sql = "SELECT service.description, " + CREDITS + " AS credits, COUNT(*)" + w + " GROUP BY 1"
    check("the credits subquery in a grouped query: column credits neither grouped nor aggregated",
          "references column credits which is neither grouped nor aggregated" in err(sql)[1], err(sql))
    check("GROUP BY an ordinal out of range", err("SELECT service.description" + w + " GROUP BY 2")[0] == 400)
    check("GROUP BY an aggregate", "contains an aggregation function" in
          err("SELECT COUNT(*) AS n" + w + " GROUP BY 1")[1])
    check("GROUP BY labels (an ARRAY)", "Grouping by expressions of type ARRAY is not allowed" in
          err("SELECT labels, COUNT(*)" + w + " GROUP BY 1")[1])
    check("aggregations of aggregations", "Aggregations of aggregations are not allowed" in
          err("SELECT SUM(SUM(cost))" + w)[1])
    check("SUM of a STRING", "No matching signature for aggregate function SUM" in
          err("SELECT SUM(sku.id)" + w)[1])
    s, m, r = err("SELECT FROM" + w[5:])
    check("syntax error: position and wording", (s, r) == (400, "invalidQuery") and
          m == "Syntax error: Unexpected keyword FROM at [1:8]", m)
    s, m, r = err("SELECT cost" + w + " ORDER BY 1")
    check("ORDER BY is outside the subset: Syntax error", s == 400 and
          m.startswith("Syntax error: Expected end of input but got keyword ORDER at [1:"), m)
    s, m, r = err("SELECT\n  nope AS x" + w)
    check("unknown column: Unrecognized name at [line:col]", m == "Unrecognized name: nope at [2:3]", m)
    check("unknown field", "Field name nope does not exist in STRUCT<id STRING, description STRING>" in
          err("SELECT service.nope" + w)[1])
    check("unknown function", err("SELECT DATE_DIFF(usage_start_time)" + w)[1].startswith("Function not found: DATE_DIFF"))
    check("DATE of a string: no matching signature",
          err("SELECT DATE(sku.id)" + w)[1].startswith("No matching signature for function DATE"))
    check("OR is outside the subset", err("SELECT cost" + w + " OR cost IS NULL")[1].startswith("Syntax error"))
    check("a string literal is outside the subset", err("SELECT cost" + w + " AND cost_type = 'tax'")[1]
          .startswith("Syntax error"))
    s, o = query(st, "SELECT cost" + w, p, useLegacySql=None)
    check("useLegacySql missing: the legacy SQL error", s == 400 and reason(o) == "invalidQuery" and
          error(o) == "Invalid table name: %s %s" % (TABLE, Q.STANDARD_SQL_HINT), o)
    s, o = query(st, "SELECT cost" + w, p, useLegacySql=True)
    check("useLegacySql true: the legacy SQL error", s == 400 and error(o).startswith("Invalid table name: `"), o)
    s, o = query(st, "SELECT cost FROM `northwind-billing.billing_export.other` WHERE cost > @p0",
                 [{"name": "p0", "parameterType": {"type": "FLOAT64"}, "parameterValue": {"value": "1"}}])
    check("another table: 404 notFound", s == 404 and reason(o) == "notFound" and error(o) ==
          "Not found: Table northwind-billing:billing_export.other was not found in location US", o)
    s, o = query(st, "SELECT cost" + w, p, location="EU")
    check("a location other than US: 404", s == 404 and reason(o) == "notFound", o)
    s, o = Q.handle(st, "bigquery.jobs.query", PROJECT, None, {}, b"{nope")
    check("a body that is not JSON: 400", s == 400, o)
    s, o = query(st, "SELECT cost" + w, p, bogus=1)
    check("an unknown request member: 400", s == 400 and "Unknown name" in error(o), o)
    s, o = query(st, "SELECT cost" + w, p, maximumBytesBilled="1000")
    check("maximumBytesBilled below the bill: 400 bytesBilledLimitExceeded", s == 400 and
          reason(o) == "bytesBilledLimitExceeded", o)


def test_bytes(st2):
    """Bytes processed against a brute force over row_bytes (today 2025-03-20: a small table)."""
    today = st2.today()
    table_rows = [r for d in days(B.DATA_START, today) for r in B.rows(d)]
    lag_ok = all(0 <= (r[B.C_PARTITIONTIME] - us(B.row_day(r))) // B.DAY_US <= B.MAX_EXPORT_LAG_DAYS
                 for r in table_rows)
    check("a row's partition is 0..MAX_EXPORT_LAG_DAYS after its usage day", lag_ok)
    pb_ok = True
    checked = [datetime.date(2025, 1, 1), datetime.date(2025, 2, 15), datetime.date(2025, 3, 15)]   # adjustments
    for d in checked + list(days(datetime.date(2025, 2, 27), datetime.date(2025, 3, 3))):
        brute = {}
        for r in B.rows(d):
            acc = brute.setdefault(datetime.date.fromordinal(B._EPOCH.toordinal() + r[B.C_PARTITIONTIME] //
                                                             B.DAY_US).toordinal(), {"#rows": 0})
            acc["#rows"] += 1
            for k, v in B.row_bytes(r).items():
                if v:
                    acc[k] = acc.get(k, 0) + v
        pb_ok &= brute == B.partition_bytes(d)
    check("gcp_billing.partition_bytes = row_bytes summed per partition", pb_ok)
    check("the days checked have adjustment, tax, Support and credit rows",
          {r[B.C_COST_TYPE] for d in checked for r in B.rows(d)} == {"regular", "tax", "adjustment"} and
          any(r[B.C_SERVICE_DESCRIPTION] == "Support" for r in B.rows(datetime.date(2025, 3, 1))) and
          any(r[B.C_CREDITS] for r in B.rows(datetime.date(2025, 3, 1))))
    leaves = ("usage_start_time", "service.description", "cost", "credits", "labels")

    sized = [(r[B.C_PARTITIONTIME], sum(B.value_bytes(r[B.LEAF_INDEX[k]]) for k in leaves)) for r in table_rows]

    def brute(p_lo):
        return sum(n for p, n in sized if p >= p_lo)
    params = window("2025-03-01 00:00:00+00", "2025-03-10 00:00:00+00") + [strings("p2", ["Compute Engine"])]
    s, o = query(st2, DETAIL, params)
    pruned = int(o["totalBytesProcessed"]) if s == 200 else None
    check("totalBytesProcessed: the referenced leaves in the partitions >= @p0 - 1 day",
          pruned == brute(us(datetime.date(2025, 2, 28))), (pruned, brute(us(datetime.date(2025, 2, 28)))))
    unpruned_sql = DETAIL.replace(" AND _PARTITIONTIME >= TIMESTAMP_SUB(@p0, INTERVAL 1 DAY)", "")
    s2, o2 = query(st2, unpruned_sql, params)
    full = int(o2["totalBytesProcessed"]) if s2 == 200 else None
    check("without a _PARTITIONTIME condition every partition is scanned", full == brute(0), (full, brute(0)))
    check("pruning lowers totalBytesProcessed, same rows", pruned is not None and full is not None and
          pruned < full and cells(o) == cells(o2) and o["totalRows"] == o2["totalRows"], (pruned, full))
    billed = int(o["totalBytesBilled"])
    check("totalBytesBilled: max(10 MB, bytes rounded up to a MB)",
          billed == max(10485760, -(-pruned // 1048576) * 1048576), (billed, pruned))
    s, o = query(st2, "SELECT COUNT(*) AS n FROM %s WHERE _PARTITIONTIME >= TIMESTAMP_SUB(@p0, INTERVAL 1 DAY)"
                 % TABLE, [ts("p0", "2025-03-15 00:00:00+00")])
    n = sum(1 for r in table_rows if r[B.C_PARTITIONTIME] >= us(datetime.date(2025, 3, 14)))
    check("_PARTITIONTIME filters rows on their export day (late rows included), no column bytes",
          s == 200 and cells(o) == [[str(n)]] and o["totalBytesProcessed"] == "0", (o, n))
    late = [r for r in table_rows if r[B.C_PARTITIONTIME] - us(B.row_day(r)) >= 2 * B.DAY_US]
    check("the data has late rows", len(late) > 10, len(late))


def test_detailed(st, st2):
    """The detailed export: the standard one's charges split per instance, and the resource record."""
    import gcp_resources as R
    w = " WHERE usage_start_time >= @p0 AND usage_start_time < @p1"
    p = window("2026-06-08 00:00:00+00", "2026-06-10 00:00:00+00")
    s, o = query(st, "SELECT resource.name FROM %s%s" % (TABLE, w), p)
    check("resource.name on the standard export: 400 Unrecognized name: resource at [1:8]",
          s == 400 and reason(o) == "invalidQuery" and error(o) == "Unrecognized name: resource at [1:8]", o)
    s, o = query(st, "SELECT cost\nFROM %s%s AND resource.global_name IS NULL" % (TABLE, w), p)
    check("... wherever it is: at [line:col]", s == 400 and error(o).endswith("at [2:%d]" % (
        len("FROM %s%s AND " % (TABLE, w)) + 1)), o)
    s, o = query(st, "SELECT CAST(NULL AS STRING) AS r, COUNT(CAST(NULL AS STRING)) AS n, COUNT(*) AS c FROM %s%s "
                 "GROUP BY 1" % (TABLE, w), p)
    check("a typed NULL: one group, counted 0, a STRING column", s == 200 and len(cells(o)) == 1 and
          cells(o)[0][:2] == [None, "0"] and o["schema"]["fields"][0]["type"] == "STRING", o)
    sums = ("SELECT service.description AS s, sku.id AS k, location.zone AS z, SUM(CAST(cost AS NUMERIC)) AS c, "
            "SUM(%s) AS cr, SUM(CAST(usage.amount AS NUMERIC)) AS u, COUNT(*) AS n FROM %%s%s GROUP BY 1, 2, 3"
            % (CREDITS, w))
    s1, o1 = query(st, sums % TABLE, p, maxResults=100000)
    s2, o2 = query(st, sums % DETAILED, p, maxResults=100000)
    std = {tuple(r[:6]): int(r[6]) for r in cells(o1)}
    det = {tuple(r[:6]): int(r[6]) for r in cells(o2)}
    check("the detailed export has the standard one's cost, credits and usage per service, SKU and zone",
          s1 == s2 == 200 and std.keys() == det.keys() and len(std) > 20, (o1, o2))
    split = {k: (std[k], det[k]) for k in std if k in det and det[k] != std[k]}
    check("only Compute Engine instance SKUs are split, into one row per instance of the zone",
          split and all(k[0] == "Compute Engine" and d % n == 0 and d // n in (1, 2, 3) for k, (n, d) in split.items()),
          split)
    s, o = query(st, "SELECT resource.name AS n, resource.global_name AS g, location.zone AS z, project.id AS p, "
                 "COUNT(*) AS c FROM %s%s GROUP BY 1, 2, 3, 4" % (DETAILED, w), p)
    got = {(r[0], r[1], r[2], r[3]) for r in cells(o)}
    want = {(i.name, "//compute.googleapis.com/projects/%s/zones/%s/instances/%s" % (i.project, i.labels["zone"], i.rid),
             i.labels["zone"], i.project) for i in R.INSTANCES if i.name != "ml-train-2"}
    check("the resource record: each billed instance of gcp_resources, its zone and project; NULL elsewhere",
          s == 200 and got - {(None, None) + x[2:] for x in got} == want and
          any(x[0] is None for x in got), (got, want))
    ids = [i.labels["instance_id"] for i in R.INSTANCES if i.name in ("batch-2", "web-2")]
    s, o = query(st, "SELECT resource.global_name AS g, SUM(CAST(cost AS NUMERIC) + %s) AS net FROM %s%s "
                 "AND resource.global_name IN UNNEST(@p2) GROUP BY 1" % (CREDITS, DETAILED, w),
                 p + [strings("p2", [B.global_name(i) for i in R.INSTANCES if i.name in ("batch-2", "web-2")])])
    exp = {}
    for d in days(datetime.date(2026, 6, 8), datetime.date(2026, 6, 10)):
        for r in B.detailed_rows(d):
            if r[B.C_RESOURCE_GLOBAL_NAME] and r[B.C_RESOURCE_GLOBAL_NAME].rsplit("/", 1)[1] in ids:
                exp[r[B.C_RESOURCE_GLOBAL_NAME]] = exp.get(r[B.C_RESOURCE_GLOBAL_NAME], Decimal(0)) + \
                    B._numeric(r[B.C_COST]) + sum((B._numeric(c[1]) for c in r[B.C_CREDITS]), Decimal(0))
    check("a condition on resource.global_name; per-instance net cost = the generator's",
          s == 200 and {r[0]: Decimal(r[1]) for r in cells(o)} == exp and len(exp) == 2, (o, exp))
    # bytes: brute force over the rows, the resource leaves included
    today = st2.today()
    ok = True
    for d in days(datetime.date(2025, 2, 27), datetime.date(2025, 3, 3)):
        brute = {}
        for r in B.detailed_rows(d):
            acc = brute.setdefault(B._EPOCH.toordinal() + r[B.C_PARTITIONTIME] // B.DAY_US, {"#rows": 0})
            acc["#rows"] += 1
            for k, v in B.row_bytes(r).items():
                if v:
                    acc[k] = acc.get(k, 0) + v
        ok &= brute == B.partition_bytes(d, True)
    check("partition_bytes(detailed) = row_bytes summed per partition", ok)
    rows_ = [r for d in days(B.DATA_START, today) for r in B.detailed_rows(d)]
    for leaves in (("resource.name", "cost"), ("cost",)):
        sql = "SELECT %s FROM %s" % (", ".join(leaves), DETAILED)
        s, o = query(st2, sql, maxResults=1)
        want = sum(B.value_bytes(r[B.LEAF_INDEX_DETAILED[k]]) for r in rows_ for k in leaves)
        check("totalBytesProcessed of the detailed export: %s" % ", ".join(leaves),
              s == 200 and int(o["totalBytesProcessed"]) == want, (o.get("totalBytesProcessed"), want))
    # the expectation endpoint reads either table
    e_std = B.expect("start=2026-06-08&end=2026-06-10&group=service")
    e_det = B.expect("start=2026-06-08&end=2026-06-10&group=service&table=detailed")
    strip = lambda t: [l.rsplit("\t", 1)[0] for l in t.splitlines()]
    check("expect: the same sums from both tables, more rows in the detailed one",
          strip(e_std) == strip(e_det) and e_std != e_det, (e_std, e_det))


def test_paging(st):
    p = window("2026-06-01 00:00:00+00", "2026-06-03 00:00:00+00")
    sql = ("SELECT usage_start_time, sku.id, CAST(cost AS NUMERIC) AS cost FROM %s WHERE usage_start_time >= @p0 "
           "AND usage_start_time < @p1" % TABLE)
    old = st.config.get("page_size")
    st.config["page_size"] = 100000
    try:
        whole, first, pages = all_rows(st, sql, p)
        check("one page when the page size allows", len(pages) == 1 and "pageToken" not in first, pages)
        st.config["page_size"] = 500
        s, o = query(st, sql, p)
        check("the page size config sets the first page", s == 200 and len(o["rows"]) == 500 and "pageToken" in o,
              len(o.get("rows", [])))
        paged, first, pages = all_rows(st, sql, p, page=173)
        check("paging with maxResults: every row once, in order", paged == whole and len(whole) > 1000,
              (len(paged), len(whole)))
        check("pages of maxResults rows, the last shorter, no pageToken on it",
              all(n == 173 for n in pages[:-1]) and 0 < pages[-1] <= 173 and len(pages) > 5, pages)
        job = first["jobReference"]["jobId"]
        s, o = results(st, job, maxResults=10)
        check("getQueryResults without a token: the first rows", s == 200 and cells(o) == whole[:10] and
              o["kind"] == "bigquery#getQueryResultsResponse" and o["totalRows"] == str(len(whole)) and
              o["jobComplete"] is True and "totalBytesProcessed" in o and "schema" in o, o.get("totalRows"))
        s, o = results(st, job, startIndex=5, maxResults=3)
        check("startIndex", s == 200 and cells(o) == whole[5:8], cells(o))
        tok = o.get("pageToken")
        s, o = results(st, job, pageToken=tok, maxResults=2)
        check("a token continues where its page ended", s == 200 and cells(o) == whole[8:10], cells(o))
        s, o = results(st, job, pageToken="NOPE")
        check("a page token not issued: 400", s == 400, o)
        s2, o2 = query(st, sql, p, maxResults=3)
        s, o = results(st, o2["jobReference"]["jobId"], pageToken=tok)
        check("a page token of another job: 400", s == 400, o)
        s, o = results(st, "job_unknown")
        check("unknown job: 404 Not found: Job", s == 404 and reason(o) == "notFound" and
              error(o) == "Not found: Job %s:US.job_unknown" % PROJECT, o)
        s, o = results(st, job, project="other-project")
        check("a job of another project: 404", s == 404, o)
        s, o = results(st, job, location="EU")
        check("location EU: 404", s == 404 and error(o) == "Not found: Job %s:EU.%s" % (PROJECT, job), o)
        s, o = results(st, job, maxResults=1, formatOptions_useInt64Timestamp=None)
        check("TIMESTAMP as float seconds without useInt64Timestamp", s == 200 and
              cells(o)[0][0] == Q.java_double(int(whole[0][0]) / 1e6) and cells(o)[0][0] == "1.780272E9", cells(o))
        s, o = query(st, sql, p, int64=False, maxResults=1)
        check("jobs.query without formatOptions: float seconds", cells(o)[0][0] == "1.780272E9", cells(o))
        s, o = results(st, job, maxResults=0)
        check("maxResults=0: no row, a token for the same offset", s == 200 and "rows" not in o and
              "pageToken" in o, o)
    finally:
        st.config["page_size"] = old


def test_incomplete(st):
    p = window("2026-06-01 00:00:00+00", "2026-06-02 00:00:00+00")
    sql = "SELECT COUNT(*) AS n FROM %s WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE
    st.config["bq_incomplete_polls"] = 2
    try:
        s, o = query(st, sql, p)
        check("incomplete: jobs.query says jobComplete false and nothing else", s == 200 and
              sorted(o) == ["jobComplete", "jobReference", "kind"] and o["jobComplete"] is False, o)
        job = o["jobReference"]["jobId"]
        s, o = results(st, job)
        check("incomplete: the second answer too", s == 200 and o == {
            "kind": "bigquery#getQueryResultsResponse", "jobReference": {
                "projectId": PROJECT, "jobId": job, "location": "US"}, "jobComplete": False}, o)
        s, o = results(st, job)
        check("complete on the third answer", s == 200 and o["jobComplete"] is True and
              cells(o) == [[str(len(B.rows(datetime.date(2026, 6, 1))))]], o)
        st.config["bq_incomplete_polls"] = -1
        s, o = query(st, sql, p)
        job = o["jobReference"]["jobId"]
        never = all(results(st, job)[1]["jobComplete"] is False for _ in range(5))
        check("bq_incomplete_polls -1: never completes", o["jobComplete"] is False and never)
    finally:
        st.config.pop("bq_incomplete_polls", None)
    s, o = query(st, sql, p)
    check("bq_incomplete_polls absent: complete at once", o.get("jobComplete") is True, o)


def test_numbers(st):
    f2n = Q.float_to_numeric
    check("CAST(FLOAT64 AS NUMERIC) rounds half away from zero to 9 places",
          [Q.numeric_text(f2n(x)) for x in (0.1, 1.25e-9, -1.25e-9, 2.5, 0.0000000005, -0.0, 12.5, -3.25)] ==
          ["0.1", "0.000000001", "-0.000000001", "2.5", "0.000000001", "0", "12.5", "-3.25"],
          [Q.numeric_text(f2n(x)) for x in (0.1, 1.25e-9, -1.25e-9, 2.5, 0.0000000005, -0.0, 12.5, -3.25)])
    check("FLOAT64 text as BigQuery prints it", [Q.java_double(x) for x in (1e-6, 123.4567, 1704067200.0, 1.0, 1e7,
                                                                          -0.5, 0.0)] ==
          ["1.0E-6", "123.4567", "1.7040672E9", "1.0", "1.0E7", "-0.5", "0.0"])
    p = window("2026-06-01 00:00:00+00", "2026-06-02 00:00:00+00")
    rows = B.rows(datetime.date(2026, 6, 1))
    s, o = query(st, "SELECT SUM(cost) AS f, SUM(CAST(cost AS NUMERIC)) AS n, MAX(cost) AS m, COUNT(cost) AS c FROM %s "
                     "WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE, p)
    exact = sum((Decimal(repr(r[B.C_COST])) for r in rows), Decimal(0))
    fsum = 0.0
    for r in rows:
        fsum += r[B.C_COST]
    check("SUM(FLOAT64) is FLOAT, SUM(NUMERIC) exact", s == 200 and [f["type"] for f in o["schema"]["fields"]] ==
          ["FLOAT", "NUMERIC", "FLOAT", "INTEGER"] and cells(o)[0][:2] == [Q.java_double(fsum), Q.numeric_text(exact)]
          and cells(o)[0][3] == str(len(rows)), (cells(o), fsum, exact))
    s, o = query(st, "SELECT CAST(cost AS NUMERIC) + 1 AS a, IFNULL(project.id, @p2) AS b, cost AS c, "
                     "(SELECT COUNT(*) FROM UNNEST(credits)) AS n FROM %s WHERE usage_start_time >= @p0 AND "
                     "usage_start_time < @p1" % TABLE, p + [string("p2", "(account)")])
    got = cells(o)
    check("NUMERIC + INT64 literal, IFNULL with a parameter, FLOAT64 cells, COUNT(*) over UNNEST",
          s == 200 and [f["type"] for f in o["schema"]["fields"]] == ["NUMERIC", "STRING", "FLOAT", "INTEGER"] and
          all(Decimal(g[0]) == Decimal(repr(r[B.C_COST])) + 1 and g[1] == (r[B.C_PROJECT_ID] or "(account)") and
              g[2] == Q.java_double(r[B.C_COST]) and g[3] == str(len(r[B.C_CREDITS])) for g, r in zip(got, rows)),
          got[:3])


def test_jobs(st):
    p = window("2026-06-01 00:00:00+00", "2026-06-01 01:00:00+00")
    sql = "SELECT COUNT(*) AS n FROM %s WHERE usage_start_time >= @p0 AND usage_start_time < @p1" % TABLE
    st.reset()
    a = query(st, sql, p)[1]["jobReference"]["jobId"]
    b = query(st, sql, p)[1]["jobReference"]["jobId"]
    st.reset()
    a2 = query(st, sql, p)[1]["jobReference"]["jobId"]
    check("job ids: deterministic after a reset, distinct per request", a == a2 and a != b and
          re.fullmatch(r"job_[A-Za-z0-9_-]+", a), (a, b, a2))
    s, o = results(st, b)
    check("a reset forgets the jobs", s == 404, o)
    for _ in range(Q.MAX_JOBS):
        query(st, sql, p)
    s, o = results(st, a2)
    check("the job store is bounded (LRU)", s == 404, o)
    s, o = Q.handle(st, "bigquery.jobs.nope", PROJECT, None, {}, None)
    check("an unknown operation: 404", s == 404, o)


def test_list_and_pricing(st, st2):
    """cost_at_list and the pricing units: the rows' rule, the SQL evaluator and expect(sums=...) agree."""
    june = [r for d in days(datetime.date(2026, 6, 1), datetime.date(2026, 6, 4)) for r in B.rows(d)]
    contract = [r for r in june if r[B.C_COST_TYPE] == "regular" and r[B.C_SERVICE_ID] in B.CONTRACT_PERMILLE]
    check("cost_at_list > cost on the contract-priced rows with a cost (Compute Engine, BigQuery)",
          len(contract) > 100 and all(r[B.C_COST_AT_LIST] > r[B.C_COST] for r in contract if r[B.C_COST] > 0),
          len(contract))
    check("cost_at_list = cost on every other row (tax, other services, credits or not)",
          all(r[B.C_COST_AT_LIST] == r[B.C_COST] for r in june if r not in contract) and
          any(r[B.C_CREDITS] and r[B.C_COST_AT_LIST] == r[B.C_COST] for r in june))
    ok_rule = all(round(r[B.C_COST_AT_LIST] * 1e6) ==
                  (round(r[B.C_COST] * 1e6) * 1000 + (1000 - B.CONTRACT_PERMILLE[r[B.C_SERVICE_ID]]) // 2) //
                  (1000 - B.CONTRACT_PERMILLE[r[B.C_SERVICE_ID]]) for r in contract)
    check("cost_at_list = cost / (1 - contract discount), micro-dollars rounded half up", ok_rule)
    units = {t.sku: t for t in B.TEMPLATES}
    def units_ok(r):
        q, pu = r[B.C_USAGE_AMOUNT_IN_PRICING_UNITS], r[B.C_USAGE_PRICING_UNIT]
        if r[B.C_USAGE_UNIT] is None:           # tax; Support's fee (an amount of 1, no unit at all)
            return pu is None
        if r[B.C_COST_TYPE] != "regular":
            return q is not None and pu is not None
        return pu is not None and q == r[B.C_USAGE_AMOUNT] / units[(r[B.C_SKU_ID], r[B.C_SKU_DESCRIPTION])].factor
    ok_units = all(units_ok(r) for r in june)
    check("usage.amount_in_pricing_units = usage.amount / units per pricing unit, with a pricing_unit", ok_units)
    check("the pricing units of N2 cores and RAM: hour, gibibyte hour",
          {r[B.C_USAGE_PRICING_UNIT] for r in june if r[B.C_SKU_DESCRIPTION].startswith("N2 Instance")} ==
          {"hour", "gibibyte hour"})
    # the SQL evaluator and the expectation: sums by service, both tables
    for table, name in ((TABLE, "standard"), (DETAILED, "detailed")):
        sql = ("SELECT service.description AS service, SUM(CAST(cost_at_list AS NUMERIC)) AS l, "
               "SUM(CAST(usage.amount_in_pricing_units AS NUMERIC)) AS q FROM %s "
               "WHERE usage_start_time >= @p0 AND usage_start_time < @p1 GROUP BY 1" % table)
        s, o = query(st, sql, window("2026-06-01 00:00:00+00", "2026-06-04 00:00:00+00"))
        got = sorted(cells(o)) if s == 200 else o
        want = [[x[0], x[-2], x[-1]] for x in (line.split("\t") for line in B.expect(
            "start=2026-06-01&end=2026-06-04&group=service&sums=cost_at_list,pricing_quantity&table=" + name
        ).splitlines())]
        check("SUM(CAST(cost_at_list / amount_in_pricing_units AS NUMERIC)) = expect(sums=...) (%s)" % name,
              got == want and any(Decimal(w[1]) > 0 for w in want), (got, want))
    e_std = B.expect("start=2026-06-01&end=2026-06-04&group=service&sums=cost_at_list")
    e_det = B.expect("start=2026-06-01&end=2026-06-04&group=service&sums=cost_at_list&table=detailed")
    check("the detailed export's cost_at_list shares add up to the standard rows",
          [l.split("\t")[-1] for l in e_std.splitlines()] == [l.split("\t")[-1] for l in e_det.splitlines()])
    check("every detailed share: cost_at_list >= cost",
          all(r[B.C_COST_AT_LIST] >= r[B.C_COST] for r in B.detailed_rows(datetime.date(2026, 6, 2))))
    lines = B.expect("start=2026-06-01&end=2026-06-04&sums=cost_at_list").rstrip("\n").split("\t")
    check("expect: sums= appends after rows; without it, the line is unchanged",
          len(lines) == 6 and B.expect("start=2026-06-01&end=2026-06-04").rstrip("\n").split("\t") == lines[:5] and
          Decimal(lines[5]) > Decimal(lines[0]), lines)
    try:
        B.expect("start=2026-06-01&end=2026-06-04&sums=cost")
        check("expect: an unknown sums column is an error", False)
    except B.ExpectError:
        check("expect: an unknown sums column is an error", True)
    # bytes: cost_at_list is an 8-byte number in every row
    rows_ = [r for d in days(B.DATA_START, st2.today()) for r in B.rows(d)]
    s, o = query(st2, "SELECT SUM(CAST(cost_at_list AS NUMERIC)) AS l FROM %s" % TABLE)
    check("totalBytesProcessed of cost_at_list: 8 bytes a row",
          s == 200 and int(o["totalBytesProcessed"]) == 8 * len(rows_), (o.get("totalBytesProcessed"), len(rows_)))


def run():
    global PASSED, FAILED
    PASSED, FAILED = 0, []
    st = control.State(today=datetime.date(2026, 11, 28))
    st2 = control.State(today=datetime.date(2025, 3, 20))
    for t, s in ((test_detail, st), (test_grouped_vs_expect, st), (test_params, st), (test_nulls, st),
                 (test_errors, st), (test_bytes, st2), (test_paging, st), (test_incomplete, st),
                 (test_numbers, st), (test_jobs, st), (test_detailed, (st, st2)),
                 (test_list_and_pricing, (st, st2))):
        try:
            t(*s) if isinstance(s, tuple) else t(s)
        except Exception:
            FAILED.append(t.__name__ + " raised")
            print("FAIL: bigquery: %s raised\n%s" % (t.__name__, traceback.format_exc()))
    return PASSED, len(FAILED), 0


if __name__ == "__main__":
    t0 = time.time()
    p, f, s = run()
    print("%d passed, %d failed (%.1f s)" % (p, f, time.time() - t0))
    sys.exit(1 if f else 0)
