"""Benchmark mode: pre-rendered GetCostAndUsage / GetMetricData pages.

POST /_emulator/bench {"ce_pages": N, "ce_groups_per_page": G, "cw_series": S, "cw_points": P}
renders, once, N Cost Explorer pages of G groups each (GroupBy LINKED_ACCOUNT
and USAGE_TYPE, metrics UnblendedCost and UsageQuantity, ResultsByTime one day
each, page k's NextPageToken designating page k+1) and the GetMetricData
answer for S series m0..m{S-1} of P points each, paged every 100,800
datapoints.  While bench mode is on, any correctly signed GetCostAndUsage is
answered with the page its NextPageToken designates (the first without one),
whatever the rest of the body; GetMetricData likewise (series by Id "m<k>",
else by position; the response carries the request's Ids).  Serving a page
is one write of ready bytes.

The data is synthetic filler with realistic shapes (decimal-string amounts,
JVM-printed doubles), not the company's data.
"""

import base64
import datetime
import hashlib
import json
import re
import threading

import aws_cw

CW_PAGE_POINTS = 100800
CE_GROUPS_PER_DAY = 2000
FIRST_DAY = datetime.date(2025, 1, 1)
CW_T0 = 1767225600  # 2026-01-01T00:00:00Z
POOL = 4096

_USAGE_TYPES = [
    ("BoxUsage:m5.large", "Hrs"), ("BoxUsage:m5.xlarge", "Hrs"), ("BoxUsage:r5.2xlarge", "Hrs"),
    ("BoxUsage:t3.large", "Hrs"), ("BoxUsage:t3.medium", "Hrs"), ("BoxUsage:t3.micro", "Hrs"),
    ("USW2-BoxUsage:c5.xlarge", "Hrs"), ("USW2-BoxUsage:t3.micro", "Hrs"), ("EU-BoxUsage:m5.xlarge", "Hrs"),
    ("USW2-SpotUsage:g4dn.xlarge", "Hrs"), ("EBS:VolumeUsage.gp3", "GB-Mo"), ("USW2-EBS:VolumeUsage.gp3", "GB-Mo"),
    ("EBS:SnapshotUsage", "GB-Mo"), ("NatGateway-Hours", "Hrs"), ("NatGateway-Bytes", "GB"),
    ("DataTransfer-Out-Bytes", "GB"), ("USE1-USW2-AWS-Out-Bytes", "GB"), ("TimedStorage-ByteHrs", "GB-Mo"),
    ("EU-TimedStorage-ByteHrs", "GB-Mo"), ("TimedStorage-GDA-ByteHrs", "GB-Mo"), ("Requests-Tier1", "Requests"),
    ("Requests-Tier2", "Requests"), ("Multi-AZUsage:db.r5.large", "Hrs"), ("InstanceUsage:db.t3.medium", "Hrs"),
    ("RDS:Multi-AZ-GP2-Storage", "GB-Mo"), ("RDS:GP2-Storage", "GB-Mo"), ("RDS:ChargedBackupUsage", "GB-Mo"),
    ("Lambda-GB-Second", "Lambda-GB-Second"), ("Request", "Requests"), ("ReadRequestUnits", "ReadRequestUnits"),
    ("WriteRequestUnits", "WriteRequestUnits"), ("CW:MetricMonitorUsage", "Metrics"), ("CW:Requests", "Requests"),
    ("DataProcessing-Bytes", "GB"), ("LoadBalancerUsage", "Hrs"), ("LCUUsage", "LCU-Hrs"),
    ("USE1-PublicIPv4:InUseAddress", "Hrs"), ("USE1-VpcEndpoint-Hours", "Hrs"), ("us-east-1-KMS-Keys", "Keys"),
    ("us-east-1-KMS-Requests", "Requests"), ("US-DataTransfer-Out-Bytes", "GB"), ("US-Requests-Tier2-HTTPS",
                                                                                     "Requests"),
]
_USAGE_TYPES.sort()


def _pool(fn):
    return [fn(i, hashlib.blake2b(b"bench%d" % i, digest_size=8).digest()) for i in range(POOL)]


def _amount(i, d):
    x = int.from_bytes(d, "big")
    cents = x % (1000000 if i % 16 else 50000000)   # mostly below $10k, now and then up to $500k
    frac = (x >> 32) % 100000000    # 8 more decimals
    s = "%d.%02d%08d" % (cents // 100, cents % 100, frac)
    return s.rstrip("0").rstrip(".") if i % 7 else str(cents // 100)


def _quantity(i, d):
    x = int.from_bytes(d, "big")
    if i % 3 == 0:
        return str(x % 744)
    s = "%d.%010d" % (x % 5000, (x >> 20) % 10000000000)
    return s.rstrip("0").rstrip(".")


def _value(i, d):
    x = int.from_bytes(d, "big")
    kind = i % 4
    if kind == 0:
        v = (x % 10000000) / 100000.0          # 0..100, a percentage
    elif kind == 1:
        v = float(x % 5000000000)              # bytes
    elif kind == 2:
        v = (x % 1000000) / 1e7                # seconds
    else:
        v = float(x % 20000)                   # counts
    return aws_cw.jnum(v)


class Bench:
    def __init__(self, obj):
        def num(k, lo=0):
            v = obj.get(k, 0)
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError("%s must be an integer >= %d" % (k, lo))
            return v
        for k in obj:
            if k not in ("ce_pages", "ce_groups_per_page", "cw_series", "cw_points"):
                raise ValueError("unknown bench key %r" % k)
        self.ce_pages_n = num("ce_pages")
        self.ce_groups = num("ce_groups_per_page", 1 if self.ce_pages_n else 0)
        self.cw_series = num("cw_series")
        self.cw_points = num("cw_points", 1 if self.cw_series else 0)
        if self.cw_series > aws_cw.MAX_QUERIES:
            raise ValueError("cw_series must be <= %d (one GetMetricData call)" % aws_cw.MAX_QUERIES)
        self.lock = threading.Lock()
        self.ce_pages = self._render_ce() if self.ce_pages_n else []
        self._ts = [aws_cw.jnum(CW_T0 + 60 * j) for j in range(self.cw_points)]
        self._vals = _pool(_value)
        self._cw_cache_ids = None
        self._cw_cache = {}
        self.cw_ids = tuple("m%d" % i for i in range(self.cw_series))
        all_series = tuple(range(self.cw_series))
        self.cw_pages = [self._render_cw_page(self.cw_ids, all_series, k)
                         for k in range(self._n_cw_pages(all_series))] if self.cw_series else []

    # -- Cost Explorer ---------------------------------------------------------------------
    def _render_ce(self):
        amounts = _pool(_amount)
        qty = _pool(_quantity)
        n_acc = max(1, -(-min(self.ce_groups, CE_GROUPS_PER_DAY) // len(_USAGE_TYPES)))
        accounts = sorted("%012d" % (100000000000 + int.from_bytes(hashlib.md5(b"acct%d" % i).digest()[:4], "big"))
                          for i in range(n_acc))
        combos = [(a, ut, unit) for a in accounts for ut, unit in _USAGE_TYPES]
        per_day = min(len(combos), CE_GROUPS_PER_DAY, self.ce_groups)
        head = ('"GroupDefinitions":[{"Type":"DIMENSION","Key":"LINKED_ACCOUNT"},'
                '{"Type":"DIMENSION","Key":"USAGE_TYPE"}],"ResultsByTime":[')
        pages = []
        g = 0   # global group index
        for k in range(self.ce_pages_n):
            parts = ['{']
            if k + 1 < self.ce_pages_n:
                parts.append('"NextPageToken":%s,' % json.dumps(self.ce_token(k + 1)))
            parts.append(head)
            end = g + self.ce_groups
            first_bucket = True
            while g < end:
                day, j = divmod(g, per_day)
                take = min(per_day - j, end - g)
                d0 = FIRST_DAY + datetime.timedelta(days=day)
                if not first_bucket:
                    parts.append(",")
                first_bucket = False
                parts.append('{"TimePeriod":{"Start":"%s","End":"%s"},"Total":{},"Groups":['
                             % (d0.isoformat(), (d0 + datetime.timedelta(days=1)).isoformat()))
                parts.append(",".join(
                    '{"Keys":["%s","%s"],"Metrics":{"UnblendedCost":{"Amount":"%s","Unit":"USD"},'
                    '"UsageQuantity":{"Amount":"%s","Unit":"%s"}}}'
                    % (combos[jj][0], combos[jj][1], amounts[(gg * 2654435761) % POOL],
                       qty[(gg * 40503) % POOL], combos[jj][2])
                    for gg, jj in zip(range(g, g + take), range(j, j + take))))
                parts.append('],"Estimated":false}')
                g += take
            parts.append('],"DimensionValueAttributes":[]}')
            pages.append("".join(parts).encode())
        return pages

    @staticmethod
    def ce_token(k):
        return base64.b64encode(json.dumps({"bench": "ce", "p": k}).encode()).decode()

    def ce_page_for(self, body):
        """The page a GetCostAndUsage body designates (ValueError: bad token)."""
        k = 0
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        tok = req.get("NextPageToken") if isinstance(req, dict) else None
        if tok is not None:
            k = _token_page(tok, "ce")
        if not 0 <= k < len(self.ce_pages):
            raise ValueError("no such page")
        return self.ce_pages[k]

    # -- CloudWatch ---------------------------------------------------------------------------
    def _n_cw_pages(self, series):
        total = sum(self.cw_points for si in series if si is not None)
        return max(1, -(-total // CW_PAGE_POINTS))

    def _render_cw_page(self, ids, series, k):
        """Page k of the answer for queries `ids` mapped to bench series `series` (None = no data).

        The datapoints are laid out query after query and cut every CW_PAGE_POINTS."""
        P = self.cw_points
        lo, hi = k * CW_PAGE_POINTS, (k + 1) * CW_PAGE_POINTS
        parts = []
        base = 0
        vals = self._vals
        for qid, si in zip(ids, series):
            n = P if si is not None else 0
            a = min(max(lo - base, 0), n)
            b = min(max(hi - base, 0), n)
            base += n
            if a < b:
                off = si * 7919
                ts = ",".join(self._ts[a:b])
                vs = ",".join(vals[(off + j) % POOL] for j in range(a, b))
            else:
                ts = vs = ""
            status = "PartialData" if b < n else "Complete"
            parts.append('{"Id":%s,"Label":%s,"Timestamps":[%s],"Values":[%s],"StatusCode":"%s"}'
                         % (json.dumps(qid), json.dumps(qid), ts, vs, status))
        out = '{"MetricDataResults":[%s]' % ",".join(parts)
        if k + 1 < self._n_cw_pages(series):
            out += ',"NextToken":%s' % json.dumps(self.cw_token(k + 1))
        return (out + ',"Messages":[]}').encode()

    @staticmethod
    def cw_token(k):
        return base64.b64encode(json.dumps({"bench": "cw", "p": k}).encode()).decode()

    def cw_page_for(self, body):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        if not isinstance(req, dict):
            req = {}
        k = 0
        if req.get("NextToken") is not None:
            k = _token_page(req["NextToken"], "cw")
        qs = req.get("MetricDataQueries") or []
        ids = tuple(q.get("Id") if isinstance(q, dict) else None for q in qs) if isinstance(qs, list) else ()
        ids = tuple(str(i) for i in ids)
        if ids == self.cw_ids or not ids:
            pages = self.cw_pages
            if not 0 <= k < len(pages):
                raise ValueError("no such page")
            return pages[k]
        if all(re.fullmatch(r"m\d+", i) and int(i[1:]) < self.cw_series for i in ids):
            series = tuple(int(i[1:]) for i in ids)
        else:
            series = tuple(i if i < self.cw_series else None for i in range(len(ids)))
        if not 0 <= k < self._n_cw_pages(series):
            raise ValueError("no such page")
        with self.lock:
            if self._cw_cache_ids != ids:
                self._cw_cache_ids = ids
                self._cw_cache = {}
            page = self._cw_cache.get(k)
        if page is None:
            page = self._render_cw_page(ids, series, k)
            with self.lock:
                if self._cw_cache_ids == ids:
                    self._cw_cache[k] = page
        return page

    # -- summary ----------------------------------------------------------------------------------
    def summary(self):
        ce = [len(p) for p in self.ce_pages]
        cw = [len(p) for p in self.cw_pages]
        return {
            "enabled": True,
            "ce": {"pages": len(ce), "groups_per_page": self.ce_groups, "rows": len(ce) * self.ce_groups,
                   "bytes_per_page": ce, "bytes_total": sum(ce)},
            "cw": {"series": self.cw_series, "points": self.cw_points,
                   "datapoints": self.cw_series * self.cw_points, "datapoints_per_page": CW_PAGE_POINTS,
                   "pages": len(cw), "bytes_per_page": cw, "bytes_total": sum(cw)},
        }


def _token_page(tok, kind):
    try:
        obj = json.loads(base64.b64decode(str(tok).encode(), validate=True))
        if obj.get("bench") == kind and isinstance(obj.get("p"), int):
            return obj["p"]
    except (ValueError, TypeError, AttributeError, UnicodeError):
        pass
    raise ValueError("bad token")
