"""Resource-level cost data (GetCostAndUsageWithResources) of "Northwind Robotics".

Cost Explorer keeps resource-level data for "Amazon Elastic Compute Cloud -
Compute" only.  company.py's EC2 compute line items describe fleets (hours of
an instance type in a region and AZ), resources.py's inventory the instances
CloudWatch reports on; this module joins the two: every instance of
resources.py is assigned to one fleet line of its region and instance type
(round robin, in id order), and each day a line's metrics are split evenly
over its instances alive that day (all of them if none is).  The split is
exact: shares are rounded to 10 decimals and the first instance takes the
remainder, so the resources of a line add up to the line, and
GetCostAndUsageWithResources agrees with GetCostAndUsage.  A line whose
region and type have no instance keeps the resource id "NoResourceId" (the
"No<Thing>" convention of company.py).

Like company.py, a pure function of the day.
"""

import datetime
import decimal
import functools

import company
import resources

NO_RESOURCE = "NoResourceId"
_Q10 = company.Q10


class ResourceItem:
    """A line item of one resource: a Template's dimensions plus RESOURCE_ID."""

    __slots__ = ("dims", "tags", "cc", "unit", "tid")

    def __init__(self, t, rid):
        self.dims = dict(t.dims)
        self.dims["RESOURCE_ID"] = rid
        self.tags = t.tags
        self.cc = t.cc
        self.unit = t.unit
        self.tid = t.tid + "|" + rid


def _root(t):
    """The fleet a line belongs to: derived lines (Savings Plan negation, credits) follow their source."""
    return t.source.tid if t.source is not None else t.tid


def _is_compute(t):
    return t.dims["SERVICE"] == company.EC2


@functools.lru_cache(maxsize=None)
def _assignment():
    """{root tid: [Resource, ...]}: each instance in one fleet line of its region and type."""
    roots = {}
    for t in company.TEMPLATES:
        if _is_compute(t):
            key = (t.dims["REGION"], t.dims["INSTANCE_TYPE"])
            roots.setdefault(key, set()).add(_root(t))
    out = {}
    for (region, itype), tids in roots.items():
        tids = sorted(tids)
        insts = sorted((r for r in resources.resources(region, "ec2") if r["instance_type"] == itype),
                       key=lambda r: r.rid)
        for tid in tids:
            out[tid] = []
        for i, r in enumerate(insts):
            out[tids[i % len(tids)]].append(r)
    return out


_ITEMS = {}


def _item(t, rid):
    key = (id(t), rid)
    it = _ITEMS.get(key)
    if it is None:
        it = _ITEMS[key] = ResourceItem(t, rid)
    return it


def _split(values, n):
    """n tuples of shares of values, adding up exactly to values."""
    with decimal.localcontext(company.GEN):
        shares = [(v / n).quantize(_Q10) for v in values]
        first = tuple(v - s * (n - 1) for v, s in zip(values, shares))
    return [first] + [tuple(shares)] * (n - 1)


@functools.lru_cache(maxsize=64)
def rows(day):
    """The EC2 compute line items of `day`, per resource: (ResourceItem, values) pairs."""
    assign = _assignment()
    start = resources.epoch(day)
    out = []
    for t, v in company.rows(day):
        if not _is_compute(t):
            continue
        insts = assign.get(_root(t), [])
        if not insts:
            out.append((_item(t, NO_RESOURCE), v))
            continue
        alive = [r for r in insts if r.overlaps(start, start + 86400)] or insts
        for r, share in zip(alive, _split(v, len(alive))):
            out.append((_item(t, r.rid), share))
    return tuple(out)


def total(day, rid, metric="UnblendedCost"):
    """One resource's metric on one day (for checks)."""
    i = company.METRICS.index(metric)
    with decimal.localcontext(company.EXACT):
        return sum((v[i] for it, v in rows(day) if it.dims["RESOURCE_ID"] == rid), company.ZERO)


if __name__ == "__main__":
    d = datetime.date(2026, 6, 10)
    with decimal.localcontext(company.EXACT):
        whole = sum((v[company.M_UNBLENDED] for t, v in company.rows(d) if _is_compute(t)), company.ZERO)
        split = sum((v[company.M_UNBLENDED] for _, v in rows(d)), company.ZERO)
    assert whole == split, (whole, split)
    print("ok", whole, len(rows(d)))
