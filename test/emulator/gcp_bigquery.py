"""BigQuery v2 for the emulator: jobs.query and jobs.getQueryResults over the
REST/JSON wire format (reference/provider-apis.md section 5), answering
GoogleSQL over the billing export tables of gcp_billing.py: the standard export
and the detailed one (gcp_billing_export_resource_v1_..., the same columns and
`resource`; naming `resource` in the standard one is "Unrecognized name").

    POST .../bigquery/v2/projects/{project}/queries            (bigquery.jobs.query)
    GET  .../bigquery/v2/projects/{project}/queries/{jobId}    (bigquery.jobs.getQueryResults)

Entry point: handle(state, op, project, job_id, params, body) -> (status, JSON object).
Authentication, logging and faults are server.py's.

The SQL is a small subset of GoogleSQL (exactly what the FDW sends, plus a
little slack), tokenized, parsed by recursive descent into nodes and compiled
into closures over gcp_billing's flat row tuples:

    SELECT item {, item} FROM `northwind-billing.billing_export.gcp_billing_export_v1_01AB23_CD45EF_6789AB` [[AS] t]
      [WHERE cond {AND cond}] [GROUP BY (ordinal | expr | alias) {, ...}] [;]
    item := expr [[AS] alias]
    expr := primary {(+|-) primary}
    primary := path | integer | @param | (expr) | CAST(expr AS NUMERIC) | CAST(NULL AS type) | IFNULL(expr, expr)
             | TO_JSON_STRING(expr) | TIMESTAMP_SUB(expr, INTERVAL n unit) | DATE(timestamp)
             | SUM(expr) | MIN(expr) | MAX(expr) | COUNT(*) | COUNT(expr)
             | (SELECT expr FROM UNNEST(expr) [[AS] alias])          -- over labels or credits
    cond := expr op expr | expr [NOT] IN UNNEST(expr) | expr IS [NOT] NULL        op: = != <> < <= > >=

Anything else is 400 invalidQuery ("Syntax error: ... at [line:col]", "Unrecognized
name: ...", "Function not found: ...", "No matching signature ...").

Values: TIMESTAMP = int microseconds, FLOAT64 = float, NUMERIC = Decimal (9
decimal places, CAST(FLOAT64 AS NUMERIC) rounds the exact binary value half away
from zero), INT64 = int, STRING = str, records = tuples; NULL = None with SQL's
three-valued logic (a row passes WHERE only when every condition is TRUE).

Rows: the usage days DATA_START .. state.today() (exclusive); only the days the
top-level usage_start_time / usage_end_time / _PARTITIONTIME conditions allow are
generated.  totalBytesProcessed = the bytes of the leaf columns the query
references (labels and credits as whole records; _PARTITIONTIME free) in the
partitions scanned: every partition of the table's rows, narrowed by constant
_PARTITIONTIME conditions.  totalBytesBilled = max(10 MiB, bytes rounded up to a MiB).

Configuration (state.config, read defensively):
    page_size            rows per result page (the one the AWS APIs use); a request's
                         maxResults lowers it
    bq_incomplete_polls  int, default 0: the first N answers for a job (jobs.query
                         counts as the first) say jobComplete false; -1: never completes

Jobs live in a bounded LRU (200) per State, forgotten on /_emulator/reset
(state.generation); job ids are job_<base64url of a hash of the request number
since the reset and the request body>.  Page tokens are opaque base32 strings
issued per (job, offset); a token the job did not issue is 400.
"""

import base64
import collections
import datetime
import decimal
import functools
import hashlib
import json
import math
import operator
import re
import threading
import weakref
from decimal import Decimal

import gcp_billing as B

LOCATION = "US"
MAX_JOBS = 200
MIN_BILLED = 10 * 1024 * 1024
MIB = 1024 * 1024
DAY_US = B.DAY_US
STANDARD_SQL_HINT = ("[Try using standard SQL (https://cloud.google.com/bigquery/docs/reference/standard-sql/"
                     "enabling-standard-sql)]")
TABLE_PARTS = (B.TABLE_PROJECT, B.TABLE_DATASET, B.TABLE_NAME)
# the detailed export, in the same dataset: the standard one's columns and `resource`
TABLE_PARTS_DETAILED = (B.TABLE_PROJECT, B.TABLE_DATASET, B.TABLE_NAME_DETAILED)

CTX = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_UP, Emin=-999999, Emax=999999)
Q9 = Decimal("1e-9")
NUMERIC_LIMIT = Decimal("1e29")
_EPOCH_ORD = datetime.date(1970, 1, 1).toordinal()
MIN_TS = -62135596800000000          # 0001-01-01
MAX_TS = 253402300799999999          # 9999-12-31 23:59:59.999999


# --- errors ---------------------------------------------------------------------------------

_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 500: "INTERNAL"}


class BqError(Exception):
    def __init__(self, code, reason, message, location=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.location = location

    def envelope(self):
        item = {"message": self.message, "domain": "global", "reason": self.reason}
        if self.location:
            item["location"] = self.location
            item["locationType"] = "parameter"
        return {"error": {"code": self.code, "message": self.message, "errors": [item],
                          "status": _STATUS.get(self.code, "UNKNOWN")}}


def invalid_query(message):
    return BqError(400, "invalidQuery", message, "q")


def _at(text, off):
    line = text.count("\n", 0, off) + 1
    col = off - (text.rfind("\n", 0, off) + 1) + 1
    return "[%d:%d]" % (line, col)


class SqlError(Exception):
    """An analysis error at an offset of the query: becomes 400 invalidQuery "<msg> at [l:c]"."""

    def __init__(self, message, off):
        super().__init__(message)
        self.message = message
        self.off = off


# --- tokens -------------------------------------------------------------------------------

RESERVED = frozenset("""ALL AND ANY ARRAY AS ASC ASSERT_ROWS_MODIFIED AT BETWEEN BY CASE CAST COLLATE CONTAINS
CREATE CROSS CUBE CURRENT DEFAULT DEFINE DESC DISTINCT ELSE END ENUM ESCAPE EXCEPT EXCLUDE EXISTS EXTRACT FALSE
FETCH FOLLOWING FOR FROM FULL GROUP GROUPING GROUPS HASH HAVING IF IGNORE IN INNER INTERSECT INTERVAL INTO IS
JOIN LATERAL LEFT LIKE LIMIT LOOKUP MERGE NATURAL NEW NO NOT NULL NULLS OF ON OR ORDER OUTER OVER PARTITION
PRECEDING PROTO QUALIFY RANGE RECURSIVE RESPECT RIGHT ROLLUP ROWS SELECT SET SOME STRUCT TABLESAMPLE THEN TO
TREAT TRUE UNBOUNDED UNION UNNEST USING WHEN WHERE WINDOW WITH WITHIN""".split())

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+|--[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<bq>`(?:[^`\\\n]|\\.)*`)
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_0-9]))
  | (?P<id>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<param>@(?:[A-Za-z_][A-Za-z_0-9]*|`(?:[^`\\\n]|\\.)*`))
  | (?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<sym>!=|<>|<=|>=|\|\||[=<>+\-*/,().;\[\]])
""", re.X | re.S)


class Tok:
    __slots__ = ("kind", "val", "off", "text")

    def __init__(self, kind, val, off, text):
        self.kind = kind      # kw, id, int, float, str, param, sym, eof
        self.val = val        # kw: upper case; id: the name; int: int; param: the name
        self.off = off
        self.text = text

    def describe(self):
        if self.kind == "eof":
            return "end of input"
        if self.kind == "kw":
            return "keyword " + self.val
        if self.kind == "id":
            return 'identifier "%s"' % self.val
        if self.kind == "int":
            return 'integer literal "%s"' % self.text
        if self.kind == "float":
            return 'floating point literal "%s"' % self.text
        if self.kind == "str":
            return "string literal %s" % self.text
        if self.kind == "param":
            return 'query parameter "%s"' % self.text
        return '"%s"' % self.text


def _unquote_bq(s):
    return re.sub(r"\\(.)", lambda m: m.group(1), s[1:-1])


def tokenize(text):
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            c = text[pos]
            if c in "'\"`":
                raise SqlError("Syntax error: Unclosed %s" % ("identifier literal" if c == "`" else "string literal"),
                               pos)
            if text.startswith("/*", pos):
                raise SqlError("Syntax error: Unclosed comment", pos)
            raise SqlError('Syntax error: Illegal input character "%s"' % c, pos)
        kind = m.lastgroup
        s = m.group()
        if kind == "ws":
            pass
        elif kind == "bq":
            name = _unquote_bq(s)
            if not name:
                raise SqlError("Syntax error: Invalid empty identifier", pos)
            out.append(Tok("id", name, pos, s))
        elif kind == "id":
            u = s.upper()
            out.append(Tok("kw", u, pos, s) if u in RESERVED else Tok("id", s, pos, s))
        elif kind == "num":
            if re.fullmatch(r"\d+", s):
                out.append(Tok("int", int(s), pos, s))
            else:
                out.append(Tok("float", float(s), pos, s))
        elif kind == "param":
            name = s[1:]
            if name.startswith("`"):
                name = _unquote_bq(name)
            out.append(Tok("param", name, pos, s))
        elif kind == "str":
            out.append(Tok("str", s[1:-1], pos, s))
        else:
            out.append(Tok("sym", "!=" if s == "<>" else s, pos, s))
        pos = m.end()
    out.append(Tok("eof", None, n, ""))
    return out


# --- syntax -----------------------------------------------------------------------------------

class Node:
    """kind: path (a=parts), int (a=value), param (a=name), cast (a=type; kids), arith (a=op), ifnull,
    tojson, agg (a=SUM|MIN|MAX|COUNT; kids=() for COUNT(*)), sub (a=alias; kids=(expr, array)),
    tsub (a=(n, unit); kids=(expr,)), cmp (a=op), in (a=negated), isnull (a=negated)."""
    __slots__ = ("kind", "a", "kids", "off", "key")

    def __init__(self, kind, a, kids, off):
        self.kind = kind
        self.a = a
        self.kids = kids
        self.off = off
        if kind == "path":
            k = tuple(p.lower() for p in a)
        elif kind == "param":
            k = a.lower()
        else:
            k = a
        self.key = (kind, k) + tuple(c.key for c in kids)


class Parser:
    def __init__(self, text):
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self):
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def unexpected(self, t=None):
        t = t or self.peek()
        if t.kind == "eof":
            return SqlError("Syntax error: Unexpected end of script", t.off)
        return SqlError("Syntax error: Unexpected %s" % t.describe(), t.off)

    def expected(self, what):
        t = self.peek()
        return SqlError("Syntax error: Expected %s but got %s" % (what, t.describe()), t.off)

    def is_kw(self, kw, k=0):
        t = self.peek(k)
        return t.kind == "kw" and t.val == kw

    def is_sym(self, s, k=0):
        t = self.peek(k)
        return t.kind == "sym" and t.val == s

    def accept_kw(self, kw):
        if self.is_kw(kw):
            return self.next()
        return None

    def accept_sym(self, s):
        if self.is_sym(s):
            return self.next()
        return None

    def expect_kw(self, kw):
        t = self.accept_kw(kw)
        if t is None:
            raise self.expected("keyword " + kw)
        return t

    def expect_sym(self, s):
        t = self.accept_sym(s)
        if t is None:
            raise self.expected('"%s"' % s)
        return t

    def ident(self, what="identifier"):
        t = self.peek()
        if t.kind != "id":
            raise self.expected(what)
        return self.next()

    # query := SELECT items FROM table [WHERE conds] [GROUP BY ...]
    def query(self):
        self.expect_kw("SELECT")
        if self.is_kw("DISTINCT") or self.is_kw("ALL") or self.is_sym("*"):
            raise self.unexpected()
        items = [self.item()]
        while self.accept_sym(","):
            items.append(self.item())
        self.expect_kw("FROM")
        table, table_off = self.table_path()
        alias = None
        if self.accept_kw("AS"):
            alias = self.ident("alias").val
        elif self.peek().kind == "id":
            alias = self.next().val
        conds = []
        if self.accept_kw("WHERE"):
            conds.append(self.cond())
            while self.accept_kw("AND"):
                conds.append(self.cond())
        group = []
        if self.accept_kw("GROUP"):
            self.expect_kw("BY")
            group.append(self.group_item())
            while self.accept_sym(","):
                group.append(self.group_item())
        self.accept_sym(";")
        if self.peek().kind != "eof":
            raise self.expected("end of input")
        return items, (table, table_off, alias), conds, group

    def item(self):
        e = self.expr()
        alias = None
        if self.accept_kw("AS"):
            alias = self.ident("alias").val
        elif self.peek().kind == "id":
            alias = self.next().val
        return e, alias

    def table_path(self):
        first = self.peek()
        if first.kind != "id":
            raise self.expected("table name")
        parts = []
        while True:
            t = self.ident("identifier")
            parts += t.val.split(".") if t.text.startswith("`") else [t.val]
            if not self.accept_sym("."):
                break
        return parts, first.off

    def group_item(self):
        t = self.peek()
        if t.kind == "int" and (self.is_sym(",", 1) or self.peek(1).kind == "eof" or self.is_sym(";", 1)):
            self.next()
            return ("ordinal", t.val, t.off)
        return ("expr", self.expr(), t.off)

    def cond(self):
        left = self.expr()
        t = self.peek()
        if t.kind == "sym" and t.val in ("=", "!=", "<", "<=", ">", ">="):
            self.next()
            return Node("cmp", t.val, (left, self.expr()), t.off)
        if self.accept_kw("IS"):
            neg = bool(self.accept_kw("NOT"))
            self.expect_kw("NULL")
            return Node("isnull", neg, (left,), t.off)
        neg = False
        if self.accept_kw("NOT"):
            neg = True
            if not self.is_kw("IN"):
                raise self.expected("keyword IN")
        if self.accept_kw("IN"):
            self.expect_kw("UNNEST")
            self.expect_sym("(")
            arr = self.expr()
            self.expect_sym(")")
            return Node("in", neg, (left, arr), t.off)
        raise self.unexpected()

    def expr(self):
        left = self.primary()
        while self.is_sym("+") or self.is_sym("-"):
            t = self.next()
            left = Node("arith", t.val, (left, self.primary()), t.off)
        return left

    def primary(self):
        t = self.peek()
        if t.kind == "sym" and t.val == "(":
            self.next()
            if self.is_kw("SELECT"):
                return self.subquery(t.off)
            e = self.expr()
            self.expect_sym(")")
            return e
        if t.kind == "kw" and t.val == "CAST":
            self.next()
            self.expect_sym("(")
            e = self.expr()
            self.expect_kw("AS")
            ty = self.ident("type name")
            self.expect_sym(")")
            return Node("cast", ty.val.upper(), (e,), t.off)
        if t.kind == "int":
            self.next()
            return Node("int", t.val, (), t.off)
        if t.kind == "kw" and t.val == "NULL":
            self.next()
            return Node("null", None, (), t.off)
        if t.kind == "param":
            self.next()
            return Node("param", t.val, (), t.off)
        if t.kind == "id":
            self.next()
            if self.is_sym("(") and not t.text.startswith("`"):
                return self.call(t)
            parts = [t.val]
            while self.accept_sym("."):
                f = self.peek()
                if f.kind not in ("id", "kw"):
                    raise self.expected("identifier")
                self.next()
                parts.append(f.val if f.kind == "id" else f.text)
            return Node("path", tuple(parts), (), t.off)
        raise self.unexpected()

    def call(self, t):
        name = t.val.upper()
        self.expect_sym("(")
        if name in ("SUM", "MIN", "MAX", "COUNT"):
            if self.is_kw("DISTINCT"):
                raise self.unexpected()
            if name == "COUNT" and self.accept_sym("*"):
                self.expect_sym(")")
                return Node("agg", name, (), t.off)
            e = self.expr()
            self.expect_sym(")")
            return Node("agg", name, (e,), t.off)
        if name == "IFNULL":
            a = self.expr()
            self.expect_sym(",")
            b = self.expr()
            self.expect_sym(")")
            return Node("ifnull", None, (a, b), t.off)
        if name == "TO_JSON_STRING":
            a = self.expr()
            self.expect_sym(")")
            return Node("tojson", None, (a,), t.off)
        if name == "DATE":
            a = self.expr()
            self.expect_sym(")")
            return Node("date", None, (a,), t.off)
        if name == "TIMESTAMP_SUB":
            a = self.expr()
            self.expect_sym(",")
            self.expect_kw("INTERVAL")
            neg = bool(self.accept_sym("-"))
            n = self.peek()
            if n.kind != "int":
                raise self.expected("integer literal")
            self.next()
            unit = self.ident("date part").val.upper()
            if unit not in _UNIT_US:
                raise SqlError("A valid date part name is required but found %s" % unit, self.toks[self.i - 1].off)
            self.expect_sym(")")
            return Node("tsub", (-n.val if neg else n.val, unit), (a,), t.off)
        raise SqlError("Function not found: %s" % t.val, t.off)

    def subquery(self, off):
        self.expect_kw("SELECT")
        e = self.expr()
        if self.accept_kw("AS"):
            self.ident("alias")
        elif self.peek().kind == "id":
            self.next()
        self.expect_kw("FROM")
        self.expect_kw("UNNEST")
        self.expect_sym("(")
        arr = self.expr()
        self.expect_sym(")")
        alias = None
        if self.accept_kw("AS"):
            alias = self.ident("alias").val
        elif self.peek().kind == "id":
            alias = self.next().val
        self.expect_sym(")")
        return Node("sub", alias, (e, arr), off)


_UNIT_US = {"MICROSECOND": 1, "MILLISECOND": 1000, "SECOND": 1000000, "MINUTE": 60000000, "HOUR": 3600000000,
            "DAY": DAY_US}


# --- types -------------------------------------------------------------------------------------
# scalar types are strings; ("STRUCT", ((name, type), ...)) and ("ARRAY", element type)

NUMBERS = ("INT64", "NUMERIC", "FLOAT64")
LEGACY = {"STRING": "STRING", "INT64": "INTEGER", "FLOAT64": "FLOAT", "NUMERIC": "NUMERIC",
          "TIMESTAMP": "TIMESTAMP", "BOOL": "BOOLEAN", "DATE": "DATE"}


def type_name(t):
    if isinstance(t, str):
        return t
    if t[0] == "ARRAY":
        return "ARRAY<%s>" % type_name(t[1])
    return "STRUCT<%s>" % ", ".join("%s %s" % (n, type_name(ft)) for n, ft in t[1])


def orderable(t):
    return isinstance(t, str)


def comparable(a, b):
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    return a == b or (a in NUMBERS and b in NUMBERS)


def supertype(a, b):
    if a == b:
        return a
    if a is None:       # NULL literal
        return b
    if a in NUMBERS and b in NUMBERS:
        return "FLOAT64" if "FLOAT64" in (a, b) else "NUMERIC"
    return None


def coercer(frm, to):
    """A function converting a non-NULL value of type frm to type to (None: identity)."""
    if frm == to:
        return None
    if to == "NUMERIC" and frm == "INT64":
        return Decimal
    if to == "FLOAT64":
        return float
    return None


# --- the table ---------------------------------------------------------------------------------

class Column:
    __slots__ = ("name", "typ", "fn", "idx", "leaves")

    def __init__(self, name, typ, fn, idx, leaves):
        self.name, self.typ, self.fn, self.idx, self.leaves = name, typ, fn, idx, leaves


def _struct_getter(idxs):
    def get(r):
        v = tuple(r[i] for i in idxs)
        return None if all(x is None for x in v) else v
    return get


def _table_columns(schema=B.SCHEMA, leaf_index=B.LEAF_INDEX):
    cols = {}
    for name, typ, spec in schema:
        if typ == "STRUCT":
            fields = tuple((f, ft) for f, ft, _ in spec)
            idxs = tuple(i for _, _, i in spec)
            leaves = frozenset("%s.%s" % (name, f) for f, _, _ in spec)
            cols[(name,)] = Column(name, ("STRUCT", fields), _struct_getter(idxs), None, leaves)
            for f, ft, i in spec:
                cols[(name, f)] = Column("%s.%s" % (name, f), ft, operator.itemgetter(i), i,
                                         frozenset(["%s.%s" % (name, f)]))
        elif typ == "ARRAY":
            elem = ("STRUCT", tuple((f, ft) for f, ft, _ in spec))
            idx = leaf_index[name]
            cols[(name,)] = Column(name, ("ARRAY", elem), operator.itemgetter(idx), idx, frozenset([name]))
        else:
            cols[(name,)] = Column(name, typ, operator.itemgetter(spec), spec, frozenset([name]))
    cols[("_partitiontime",)] = Column("_PARTITIONTIME", "TIMESTAMP", operator.itemgetter(B.C_PARTITIONTIME),
                                       B.C_PARTITIONTIME, frozenset())
    return cols


TABLE_COLUMNS = _table_columns()
TABLE_COLUMNS_DETAILED = _table_columns(B.SCHEMA_DETAILED, B.LEAF_INDEX_DETAILED)


# --- compilation -------------------------------------------------------------------------------

class C:
    """A compiled expression: fn(x) -> value, its type; const: the value is known (fn ignores x)."""
    __slots__ = ("fn", "typ", "const", "value", "col")

    def __init__(self, fn, typ, const=False, value=None, col=None):
        self.fn, self.typ, self.const, self.value, self.col = fn, typ, const, value, col


def const(value, typ):
    return C(lambda x: value, typ, True, value)


class Scope:
    """Name resolution: the table's row (elem None) or an UNNEST element (a STRUCT type)."""

    def __init__(self, table_alias=None, elem=None, elem_alias=None, columns=TABLE_COLUMNS):
        self.columns = columns
        self.table_alias = table_alias and table_alias.lower()
        self.elem = elem
        self.elem_alias = elem_alias and elem_alias.lower()

    def resolve(self, node, leaves):
        parts = tuple(p.lower() for p in node.a)
        if self.elem is not None:
            fields = self.elem[1]
            if self.elem_alias and parts[0] == self.elem_alias:
                if len(parts) == 1:
                    return C(lambda e: e, self.elem)
                parts = parts[1:]
            for i, (f, ft) in enumerate(fields):
                if f == parts[0]:
                    if len(parts) > 1:
                        raise SqlError("Cannot access field %s on a value with type %s" % (node.a[-1], ft),
                                       node.off)
                    return C(operator.itemgetter(i), ft)
            raise SqlError("Unrecognized name: %s" % node.a[0], node.off)
        if self.table_alias and parts[0] == self.table_alias and len(parts) > 1:
            parts = parts[1:]
        cols = self.columns
        col = cols.get(parts[:2]) or cols.get(parts[:1])
        if col is None:
            raise SqlError("Unrecognized name: %s" % node.a[0], node.off)
        used = 2 if parts[:2] in cols and len(parts) > 1 else 1
        if len(parts) > used:
            if isinstance(col.typ, tuple) and col.typ[0] == "STRUCT":
                raise SqlError("Field name %s does not exist in %s" % (node.a[used], type_name(col.typ)), node.off)
            raise SqlError("Cannot access field %s on a value with type %s" % (node.a[used], type_name(col.typ)),
                           node.off)
        leaves.update(col.leaves)
        return C(col.fn, col.typ, col=col)


class AggEnv:
    """Aggregate context: grouped expressions (node key -> key index, type) and the aggregators."""

    def __init__(self, grouped):
        self.grouped = grouped
        self.aggs = []          # (argument fn, step fn, initial value, finish kind)


class Env:
    def __init__(self, scope, params, leaves, agg=None, where=None):
        self.scope = scope
        self.params = params
        self.leaves = leaves
        self.agg = agg          # AggEnv: closures take (key, accumulators)
        self.where = where      # the clause name, when aggregates are not allowed here

    def scalar(self, where):
        return Env(self.scope, self.params, self.leaves, None, where)


def has_agg(node):
    if node.kind == "agg":
        return True
    if node.kind == "sub":
        return has_agg(node.kids[1])
    return any(has_agg(k) for k in node.kids)


def _nullsafe1(f, op):
    def fn(x):
        v = f(x)
        return None if v is None else op(v)
    return fn


def _nullsafe2(fa, fb, op):
    def fn(x):
        a = fa(x)
        if a is None:
            return None
        b = fb(x)
        return None if b is None else op(a, b)
    return fn


def float_to_numeric(x):
    if not -1e29 < x < 1e29:
        if not math.isfinite(x):
            raise RuntimeSqlError("Illegal conversion of non-finite floating point number to numeric: %r" % x)
        raise RuntimeSqlError("numeric overflow: %r" % x)
    return Decimal(x).quantize(Q9, context=CTX)


def _numeric_add(a, b):
    d = CTX.add(a, b)
    if abs(d) >= NUMERIC_LIMIT:
        raise RuntimeSqlError("numeric overflow: %s + %s" % (a, b))
    return d


class RuntimeSqlError(Exception):
    pass


def compile_expr(node, env):
    agg = env.agg
    if agg is not None and node.key in agg.grouped:
        k, typ = agg.grouped[node.key]
        return C(lambda ctx: ctx[0][k], typ)
    kind = node.kind
    if kind == "path":
        if agg is not None:
            raise SqlError("SELECT list expression references column %s which is neither grouped nor aggregated"
                           % ".".join(node.a), node.off)
        return env.scope.resolve(node, env.leaves)
    if kind == "int":
        if node.a > 2 ** 63 - 1:
            raise SqlError("Invalid integer literal: %d" % node.a, node.off)
        return const(node.a, "INT64")
    if kind == "param":
        p = env.params.get(node.a.lower())
        if p is None:
            raise SqlError("Query parameter '%s' not found" % node.a, node.off)
        return const(p[1], p[0])
    if kind == "agg":
        if agg is None:
            if env.where == "aggregate":
                raise SqlError("Aggregations of aggregations are not allowed", node.off)
            raise SqlError("Aggregate function %s not allowed in %s" % (node.a, env.where), node.off)
        return compile_agg(node, env)
    if kind == "sub":
        return compile_sub(node, env)
    if kind == "null":
        return const(None, None)
    kids = [compile_expr(k, env) for k in node.kids]
    if kind == "cast":
        (a,) = kids
        if a.typ is None and node.a in ("STRING", "NUMERIC", "INT64", "FLOAT64", "TIMESTAMP"):
            return const(None, node.a)      # a typed NULL
        if node.a != "NUMERIC":
            raise SqlError("Syntax error: CAST AS %s is not supported by the emulator" % node.a, node.off)
        if a.typ == "FLOAT64":
            conv = float_to_numeric
        elif a.typ == "INT64":
            conv = Decimal
        elif a.typ == "NUMERIC":
            return C(a.fn, "NUMERIC", a.const, a.value)
        elif a.typ == "STRING":
            def conv(s):
                try:
                    return Decimal(s.strip()).quantize(Q9, context=CTX)
                except decimal.InvalidOperation:
                    raise RuntimeSqlError("Bad numeric value: %s" % s)
        else:
            raise SqlError("Invalid cast from %s to NUMERIC" % type_name(a.typ), node.off)
        return fold(C(_nullsafe1(a.fn, conv), "NUMERIC"), kids)
    if kind == "arith":
        a, b = kids
        typ = supertype(a.typ, b.typ) if a.typ in NUMBERS and b.typ in NUMBERS else None
        if typ is None:
            raise SqlError("No matching signature for operator %s for argument types: %s, %s. Supported "
                           "signatures: INT64 %s INT64; NUMERIC %s NUMERIC; FLOAT64 %s FLOAT64"
                           % (node.a, type_name(a.typ), type_name(b.typ), node.a, node.a, node.a), node.off)
        ca, cb = coercer(a.typ, typ), coercer(b.typ, typ)
        fa = a.fn if ca is None else _nullsafe1(a.fn, ca)
        fb = b.fn if cb is None else _nullsafe1(b.fn, cb)
        if typ == "NUMERIC":
            op = _numeric_add if node.a == "+" else (lambda x, y: _numeric_add(x, -y))
        elif typ == "INT64":
            def op(x, y, _o=operator.add if node.a == "+" else operator.sub):
                v = _o(x, y)
                if not -2 ** 63 <= v < 2 ** 63:
                    raise RuntimeSqlError("int64 overflow: %d %s %d" % (x, node.a, y))
                return v
        else:
            op = operator.add if node.a == "+" else operator.sub
        return fold(C(_nullsafe2(fa, fb, op), typ), kids)
    if kind == "ifnull":
        a, b = kids
        typ = supertype(a.typ, b.typ)
        if typ is None:
            raise SqlError("No matching signature for function IFNULL for argument types: %s, %s. Supported "
                           "signature: IFNULL(ANY, ANY)" % (type_name(a.typ), type_name(b.typ)), node.off)
        ca, cb = coercer(a.typ, typ), coercer(b.typ, typ)
        fa = a.fn if ca is None else _nullsafe1(a.fn, ca)
        fb = b.fn if cb is None else _nullsafe1(b.fn, cb)
        if b.const:
            bv = fb(None)

            def fn(x):
                v = fa(x)
                return bv if v is None else v
        else:
            def fn(x):
                v = fa(x)
                return fb(x) if v is None else v
        return fold(C(fn, typ), kids)
    if kind == "tojson":
        (a,) = kids
        typ = a.typ

        def fn(x):
            return to_json(a.fn(x), typ)
        return fold(C(fn, "STRING"), kids)
    if kind == "date":
        (a,) = kids
        if a.typ != "TIMESTAMP":
            raise SqlError("No matching signature for function DATE for argument types: %s. Supported "
                           "signature: DATE(TIMESTAMP)" % type_name(a.typ), node.off)

        def day(v):
            # the UTC date of a timestamp, as DATE(ts) without a time zone
            return datetime.date.fromordinal(_EPOCH_ORD + v // DAY_US)
        return fold(C(_nullsafe1(a.fn, day), "DATE"), kids)
    if kind == "tsub":
        (a,) = kids
        if a.typ != "TIMESTAMP":
            raise SqlError("No matching signature for function TIMESTAMP_SUB for argument types: %s, INTERVAL. "
                           "Supported signature: TIMESTAMP_SUB(TIMESTAMP, INTERVAL)" % type_name(a.typ), node.off)
        delta = node.a[0] * _UNIT_US[node.a[1]]

        def sub(v):
            v -= delta
            if not MIN_TS <= v <= MAX_TS:
                raise RuntimeSqlError("TIMESTAMP_SUB overflow")
            return v
        return fold(C(_nullsafe1(a.fn, sub), "TIMESTAMP"), kids)
    raise SqlError("Syntax error: Unexpected expression", node.off)


def fold(c, kids):
    """Evaluate an expression of constants once."""
    if kids and all(k.const for k in kids):
        try:
            v = c.fn(None)
        except RuntimeSqlError:
            return c
        return const(v, c.typ)
    return c


def compile_agg(node, env):
    agg = env.agg
    inner = env.scalar("aggregate")
    if node.kids:
        arg = compile_expr(node.kids[0], inner)
        argfn, t = arg.fn, arg.typ
    else:
        argfn, t = (lambda x: True), "INT64"
    name = node.a
    if name == "COUNT":
        typ, init = "INT64", 0

        def step(acc, v):
            return acc + 1
    elif name == "SUM":
        if t not in NUMBERS:
            raise SqlError("No matching signature for aggregate function SUM for argument types: %s. Supported "
                           "signatures: SUM(INT64); SUM(NUMERIC); SUM(FLOAT64)" % type_name(t), node.off)
        typ, init = t, None
        if t == "NUMERIC":
            def step(acc, v):
                return v if acc is None else _numeric_add(acc, v)
        else:
            def step(acc, v):
                return v if acc is None else acc + v
    else:
        if not orderable(t):
            raise SqlError("No matching signature for aggregate function %s for argument types: %s. Supported "
                           "signature: %s(ANY)" % (name, type_name(t), name), node.off)
        typ, init = t, None
        if name == "MIN":
            def step(acc, v):
                return v if acc is None or v < acc else acc
        else:
            def step(acc, v):
                return v if acc is None or v > acc else acc
    j = len(agg.aggs)
    agg.aggs.append((argfn, step, init))
    return C(lambda ctx: ctx[1][j], typ)


def run_aggs(aggs, items, fin, key=None):
    accs = [a[2] for a in aggs]
    for x in items:
        for j, (argfn, step, _) in enumerate(aggs):
            v = argfn(x)
            if v is not None:
                accs[j] = step(accs[j], v)
    return fin((key, accs))


def compile_sub(node, env):
    expr, arr_node = node.kids
    arr = compile_expr(arr_node, env)
    if not (isinstance(arr.typ, tuple) and arr.typ[0] == "ARRAY"):
        raise SqlError("Values referenced in UNNEST must be arrays. UNNEST contains expression of type %s"
                       % type_name(arr.typ), arr_node.off)
    elem = arr.typ[1]
    if not (isinstance(elem, tuple) and elem[0] == "STRUCT"):
        raise SqlError("Syntax error: UNNEST of a non-record array is not supported by the emulator", arr_node.off)
    scope = Scope(elem=elem, elem_alias=node.a)
    arrfn = arr.fn
    if has_agg(expr):
        aenv = AggEnv({})
        fin = compile_expr(expr, Env(scope, env.params, env.leaves, aenv, None))
        aggs, finfn = aenv.aggs, fin.fn
        if len(aggs) == 1 and expr.kind == "agg":
            # the common shape: one aggregate, returned as is
            argfn, step, init = aggs[0]

            def fn(x):
                acc = init
                for e in arrfn(x) or ():
                    v = argfn(e)
                    if v is not None:
                        acc = step(acc, v)
                return acc
        else:
            def fn(x):
                return run_aggs(aggs, arrfn(x) or (), finfn)
        return C(fn, fin.typ)
    inner = compile_expr(expr, Env(scope, env.params, env.leaves, None, "a subquery without aggregation"))
    ifn = inner.fn

    def fn(x):
        elems = arrfn(x) or ()
        if not elems:
            return None
        if len(elems) > 1:
            raise RuntimeSqlError("Scalar subquery produced more than one element")
        return ifn(elems[0])
    return C(fn, inner.typ)


_CMP = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def compile_cond(node, env, bounds):
    """fn(row) -> True/False/None; constant TIMESTAMP comparisons of the time columns go to bounds."""
    if node.kind == "cmp":
        a, b = (compile_expr(k, env) for k in node.kids)
        if not comparable(a.typ, b.typ) or (node.a not in ("=", "!=") and not orderable(a.typ)):
            raise SqlError("No matching signature for operator %s for argument types: %s, %s. Supported "
                           "signature: ANY %s ANY" % (node.a, type_name(a.typ), type_name(b.typ), node.a),
                           node.off)
        op = node.a
        if a.const and not b.const:
            a, b, op = b, a, _FLIP[op]
        opf = _CMP[op]
        if a.col is not None and b.const and b.typ == "TIMESTAMP" and b.value is not None:
            bounds.append((a.col.name, op, b.value))
        if b.const:
            bv = b.value
            if bv is None:
                return lambda r: None
            if a.col is not None:
                i = a.col.idx

                def fn(r):
                    v = r[i]
                    return None if v is None else opf(v, bv)
            else:
                fa = a.fn

                def fn(r):
                    v = fa(r)
                    return None if v is None else opf(v, bv)
            return fn
        return _nullsafe2(a.fn, b.fn, opf)
    if node.kind == "in":
        a, arr = (compile_expr(k, env) for k in node.kids)
        if not (isinstance(arr.typ, tuple) and arr.typ[0] == "ARRAY"):
            raise SqlError("Values referenced in UNNEST must be arrays. UNNEST contains expression of type %s"
                           % type_name(arr.typ), node.kids[1].off)
        if not comparable(a.typ, arr.typ[1]):
            raise SqlError("Cannot execute IN subquery with uncomparable types %s and %s"
                           % (type_name(a.typ), type_name(arr.typ[1])), node.off)
        neg = node.a
        fa, farr = a.fn, arr.fn
        if arr.const:
            vals = arr.value or ()
            s, has_null = frozenset(v for v in vals if v is not None), any(v is None for v in vals)
            if not vals:
                return lambda r: neg

            def fn(r):
                v = fa(r)
                if v is None:
                    return None
                if v in s:
                    return not neg
                return None if has_null else neg
            return fn

        def fn(r):
            vals = farr(r) or ()
            if not vals:
                return neg
            v = fa(r)
            if v is None:
                return None
            if v in vals:
                return not neg
            return None if None in vals else neg
        return fn
    if node.kind == "isnull":
        a = compile_expr(node.kids[0], env)
        fa, neg = a.fn, node.a
        if neg:
            return lambda r: fa(r) is not None
        return lambda r: fa(r) is None
    raise SqlError("Syntax error: Unexpected condition", node.off)


# --- the compiled query ----------------------------------------------------------------------

class Plan:
    pass


def _ceil_day_ord(us):
    return _EPOCH_ORD + -(-us // DAY_US)


def _floor_day_ord(us):
    return _EPOCH_ORD + us // DAY_US


def compile_query(text, params):
    items, (table, table_off, talias), conds, group = Parser(text).query()
    detailed = check_table(table, table_off)
    leaves = set()
    scope = Scope(table_alias=talias, columns=TABLE_COLUMNS_DETAILED if detailed else TABLE_COLUMNS)
    env = Env(scope, params, leaves)
    plan = Plan()
    plan.detailed = detailed
    bounds = []
    plan.conds = [compile_cond(c, env.scalar("WHERE clause"), bounds) for c in conds]
    plan.bounds = bounds
    # GROUP BY: ordinals (or aliases) of the select list, or expressions
    group_nodes = []
    for kind, v, off in group:
        if kind == "ordinal":
            if not 1 <= v <= len(items):
                raise SqlError("GROUP BY is out of SELECT column number range: %d" % v, off)
            n = items[v - 1][0]
            if has_agg(n):
                raise SqlError("Column %d contains an aggregation function, which is not allowed in GROUP BY" % v,
                               off)
        else:
            n = v
            if n.kind == "path" and len(n.a) == 1:
                for e, alias in items:
                    if alias and alias.lower() == n.a[0].lower():
                        n = e
                        break
            if has_agg(n):
                raise SqlError("Aggregate function %s not allowed in GROUP BY" % _first_agg(n), off)
        group_nodes.append((n, off))
    aggregate = bool(group_nodes) or any(has_agg(e) for e, _ in items)
    names = []
    anon = 0
    for e, alias in items:
        if alias is None:
            if e.kind == "path":
                alias = e.a[-1]
            else:
                alias = "f%d_" % anon
                anon += 1
        names.append(alias)
    plan.names = names
    if not aggregate:
        compiled = [compile_expr(e, env.scalar("SELECT list")) for e, _ in items]
        plan.types = [c.typ for c in compiled]
        plan.items = [c.fn for c in compiled]
        plan.group_fns = None
    else:
        grouped = {}
        group_fns = []
        for n, off in group_nodes:
            c = compile_expr(n, env.scalar("GROUP BY"))
            if not orderable(c.typ):
                raise SqlError("Grouping by expressions of type %s is not allowed" % type_name(c.typ).split("<")[0],
                               off)
            if n.key not in grouped:
                grouped[n.key] = (len(group_fns), c.typ)
                group_fns.append(c.fn)
        aenv = AggEnv(grouped)
        aggr_env = Env(scope, params, leaves, aenv, None)
        compiled = [compile_expr(e, aggr_env) for e, _ in items]
        plan.types = [c.typ for c in compiled]
        plan.items = [c.fn for c in compiled]
        plan.group_fns = group_fns
        plan.aggs = aenv.aggs
    plan.leaves = leaves
    return plan


def _first_agg(n):
    if n.kind == "agg":
        return n.a
    for k in n.kids:
        r = _first_agg(k)
        if r:
            return r
    return None


def check_table(parts, off):
    """Whether the table is the detailed export (else the standard one); an error for any other."""
    if len(parts) == 3 and tuple(parts) == TABLE_PARTS:
        return False
    if len(parts) == 3 and tuple(parts) == TABLE_PARTS_DETAILED:
        return True
    if len(parts) < 2:
        raise SqlError('Table "%s" must be qualified with a dataset (e.g. dataset.table).' % ".".join(parts), off)
    if len(parts) > 3:
        raise SqlError("Invalid table name: %s" % ".".join(parts), off)
    if len(parts) == 2:
        parts = [B.TABLE_PROJECT] + list(parts)
    p, d, t = parts
    if (p, d) != (B.TABLE_PROJECT, B.TABLE_DATASET):
        raise BqError(404, "notFound", "Not found: Dataset %s:%s was not found in location %s" % (p, d, LOCATION))
    raise BqError(404, "notFound", "Not found: Table %s:%s.%s was not found in location %s" % (p, d, t, LOCATION))


def day_window(bounds, today):
    """The usage days [first, last] (ordinals) the time conditions allow, and the partitions [lo, hi]."""
    lo = B.DATA_START.toordinal()
    hi = today.toordinal() - 1
    plo, phi = None, None
    lag = B.MAX_EXPORT_LAG_DAYS
    for col, op, c in bounds:
        if col == "usage_start_time":
            if op in (">=", "=", ">"):
                lo = max(lo, _floor_day_ord(c + (op == ">")))
            if op in ("<", "<=", "="):
                hi = min(hi, _floor_day_ord(c - (op == "<")))
        elif col == "usage_end_time":
            if op in ("<", "<=", "="):         # start < end <= c
                hi = min(hi, _floor_day_ord(c - 1))
        elif col == "_PARTITIONTIME":
            p_lo = p_hi = None
            if op == ">=":
                p_lo = _ceil_day_ord(c)
            elif op == ">":
                p_lo = _floor_day_ord(c) + 1
            elif op == "<=":
                p_hi = _floor_day_ord(c)
            elif op == "<":
                p_hi = _ceil_day_ord(c) - 1
            elif op == "=":
                p_lo, p_hi = _ceil_day_ord(c), _floor_day_ord(c)
            if p_lo is not None:
                plo = p_lo if plo is None else max(plo, p_lo)
                lo = max(lo, p_lo - lag)       # a row's partition is 0..lag days after its usage day
            if p_hi is not None:
                phi = p_hi if phi is None else min(phi, p_hi)
                hi = min(hi, p_hi)
    return lo, hi, plo, phi


def bytes_processed(leaves, today, plo, phi, detailed=False):
    """Bytes of the referenced leaves in the partitions [plo, phi] (None: unbounded) of the table's rows."""
    if not leaves:
        return 0
    first = B.DATA_START.toordinal()
    if plo is not None:
        first = max(first, plo - B.MAX_EXPORT_LAG_DAYS)
    last = today.toordinal() - 1
    if phi is not None:
        last = min(last, phi)
    total = 0
    leaves = tuple(leaves)
    for d in range(first, last + 1):
        for p, sizes in B.partition_bytes(datetime.date.fromordinal(d), detailed).items():
            if (plo is None or p >= plo) and (phi is None or p <= phi):
                for leaf in leaves:
                    total += sizes.get(leaf, 0)
    return total


def execute(plan, today):
    """The result rows (tuples of values) and the bytes processed."""
    lo, hi, plo, phi = day_window(plan.bounds, today)
    conds = plan.conds
    nconds = len(conds)
    if nconds == 0:
        def ok(r):
            return True
    elif nconds == 1:
        c0 = conds[0]

        def ok(r):
            return c0(r) is True
    else:
        def ok(r):
            for c in conds:
                if c(r) is not True:
                    return False
            return True

    def source():
        for d in range(lo, hi + 1):
            for r in B.table_rows(datetime.date.fromordinal(d), plan.detailed):
                if ok(r):
                    yield r

    items = plan.items
    out = []
    if plan.group_fns is None:
        if len(items) == 1:
            f0 = items[0]
            out = [(f0(r),) for r in source()]
        else:
            out = [tuple(f(r) for f in items) for r in source()]
    else:
        gfns = plan.group_fns
        aggs = plan.aggs
        inits = [a[2] for a in aggs]
        steps = [(a[0], a[1], j) for j, a in enumerate(aggs)]
        groups = {}
        for r in source():
            key = tuple(g(r) for g in gfns)
            accs = groups.get(key)
            if accs is None:
                accs = groups[key] = list(inits)
            for argfn, step, j in steps:
                v = argfn(r)
                if v is not None:
                    accs[j] = step(accs[j], v)
        if not gfns and not groups:
            groups[()] = list(inits)
        for key, accs in groups.items():
            ctx = (key, accs)
            out.append(tuple(f(ctx) for f in items))
    return out, bytes_processed(plan.leaves, today, plo, phi, plan.detailed)


# --- values on the wire --------------------------------------------------------------------

def java_double(x):
    """A double as Java's Double.toString prints it (BigQuery's FLOAT text): 123.4567, 1.0E-6, 1.7040672E9."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if str(x).startswith("-") else "0.0"
    sign = "-" if x < 0 else ""
    _, digs, exp = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digs))
    sci = len(digits) - 1 + exp           # the exponent of the leading digit
    digits = digits.rstrip("0") or "0"
    ax = abs(x)
    if 1e-3 <= ax < 1e7:
        if sci >= 0:
            ip = digits[:sci + 1].ljust(sci + 1, "0")
            fp = digits[sci + 1:] or "0"
        else:
            ip = "0"
            fp = "0" * (-sci - 1) + digits
        return "%s%s.%s" % (sign, ip, fp)
    return "%s%s.%sE%d" % (sign, digits[0], digits[1:] or "0", sci)


def numeric_text(d):
    if not d:
        return "0"
    return format(d.normalize(CTX), "f")


def ts_iso(us):
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if d.microsecond:
        s += (".%06d" % d.microsecond).rstrip("0")
    return s + "Z"


_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\u2028\u2029]')


def json_escape(s):
    if not _NEEDS_ESCAPE.search(s):
        return '"' + s + '"'
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"}.get(o) or "\\u%04x" % o)
        elif o in (0x2028, 0x2029):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def to_json(v, typ):
    """TO_JSON_STRING: compact JSON as BigQuery prints it."""
    if v is None:
        return "null"
    if isinstance(typ, tuple):
        return _to_json_record(v, typ)
    return _to_json_scalar(v, typ)


@functools.lru_cache(maxsize=4096)
def _to_json_record(v, typ):
    if typ[0] == "ARRAY":
        return "[" + ",".join(to_json(e, typ[1]) for e in v) + "]"
    return "{" + ",".join("%s:%s" % (json_escape(n), to_json(x, ft)) for (n, ft), x in zip(typ[1], v)) + "}"


def _to_json_scalar(v, typ):
    if typ == "STRING":
        return json_escape(v)
    if typ == "INT64":
        return str(v)
    if typ == "NUMERIC":
        return numeric_text(v)
    if typ == "FLOAT64":
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else json_escape(java_double(v))
    if typ == "TIMESTAMP":
        return json_escape(ts_iso(v).replace("T", " ").replace("Z", "+00"))
    if typ == "BOOL":
        return "true" if v else "false"
    return json_escape(str(v))


def cell_value(v, typ, ts_mode):
    if v is None:
        return None
    if isinstance(typ, tuple):
        if typ[0] == "ARRAY":
            return [{"v": cell_value(e, typ[1], ts_mode)} for e in v]
        return {"f": [{"v": cell_value(x, ft, ts_mode)} for (_, ft), x in zip(typ[1], v)]}
    if typ == "STRING":
        return v
    if typ == "INT64":
        return str(v)
    if typ == "NUMERIC":
        return numeric_text(v)
    if typ == "FLOAT64":
        return java_double(v)
    if typ == "TIMESTAMP":
        if ts_mode == "INT64":
            return str(v)
        if ts_mode == "ISO8601_STRING":
            return ts_iso(v)
        return java_double(v / 1e6)
    if typ == "BOOL":
        return "true" if v else "false"
    return str(v)


def schema_field(name, typ):
    mode = "NULLABLE"
    if isinstance(typ, tuple) and typ[0] == "ARRAY":
        mode, typ = "REPEATED", typ[1]
    if isinstance(typ, tuple):
        return {"name": name, "type": "RECORD", "mode": mode,
                "fields": [schema_field(n, ft) for n, ft in typ[1]]}
    return {"name": name, "type": LEGACY.get(typ, typ), "mode": mode}


def render_rows(rows, types, ts_mode):
    fmts = []
    for t in types:
        if t == "STRING":
            fmts.append(None)
        elif t == "INT64":
            fmts.append(str)
        elif t == "NUMERIC":
            fmts.append(numeric_text)
        elif t == "FLOAT64":
            fmts.append(java_double)
        elif t == "TIMESTAMP" and ts_mode == "INT64":
            fmts.append(str)
        else:
            fmts.append(lambda v, _t=t: cell_value(v, _t, ts_mode))
    out = []
    for r in rows:
        out.append({"f": [{"v": v if v is None or f is None else f(v)} for v, f in zip(r, fmts)]})
    return out


# --- query parameters ------------------------------------------------------------------------

_TS_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ Tt](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6})\d*)?)?)?"
                    r"\s*(?:([Zz]|UTC)|([+-])(\d{1,2})(?::?(\d{2}))?)?\s*$")


def parse_timestamp(s):
    m = _TS_RE.match(s)
    if not m:
        return None
    y, mo, d, h, mi, sec, frac, z, sign, oh, om = m.groups()
    try:
        day = datetime.date(int(y), int(mo), int(d))
    except ValueError:
        return None
    h, mi, sec = int(h or 0), int(mi or 0), int(sec or 0)
    if h > 23 or mi > 59 or sec > 59:
        return None
    us = (day.toordinal() - _EPOCH_ORD) * DAY_US + ((h * 60 + mi) * 60 + sec) * 1000000
    if frac:
        us += int(frac.ljust(6, "0"))
    if sign:
        oh, om = int(oh), int(om or 0)
        if oh > 14 or om > 59:
            return None
        off = (oh * 60 + om) * 60000000
        us += -off if sign == "+" else off
    if not MIN_TS <= us <= MAX_TS:
        return None
    return us


def _scalar_param(typ, raw, name):
    """A parameter value of a scalar type from its JSON string."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise invalid_query("Invalid value for query parameter %s: a %s value must be a string" % (name, typ))
    bad = invalid_query('Invalid %s value "%s" for query parameter %s' % (typ, raw, name))
    if typ == "STRING":
        return raw
    if typ == "TIMESTAMP":
        v = parse_timestamp(raw)
        if v is None:
            raise bad
        return v
    if typ == "INT64":
        if not re.fullmatch(r"\s*[+-]?\d+\s*", raw) or not -2 ** 63 <= int(raw) < 2 ** 63:
            raise bad
        return int(raw)
    if typ == "FLOAT64":
        try:
            return float(raw)
        except ValueError:
            raise bad
    if typ == "NUMERIC":
        try:
            d = Decimal(raw.strip())
        except decimal.InvalidOperation:
            raise bad
        if not d.is_finite() or abs(d) >= NUMERIC_LIMIT:
            raise bad
        return d.quantize(Q9, context=CTX)
    if typ == "BOOL":
        if raw.lower() not in ("true", "false"):
            raise bad
        return raw.lower() == "true"
    raise invalid_query("Unsupported query parameter type %s for parameter %s (the emulator knows STRING, "
                        "TIMESTAMP, INT64, FLOAT64, NUMERIC, BOOL and ARRAYs of them)" % (typ, name))


def parse_params(req):
    mode = req.get("parameterMode")
    plist = req.get("queryParameters")
    if plist is None:
        plist = []
    if not isinstance(plist, list):
        raise BqError(400, "invalid", "Invalid JSON payload received. queryParameters must be a list.")
    if plist and mode not in ("NAMED", None):
        raise invalid_query("Positional query parameters are not supported by the emulator (parameterMode %s)"
                            % mode)
    if mode not in (None, "NAMED", "POSITIONAL"):
        raise BqError(400, "invalid", 'Invalid value for parameterMode: "%s"' % mode)
    out = {}
    for p in plist:
        if not isinstance(p, dict):
            raise BqError(400, "invalid", "Invalid JSON payload received. A query parameter must be an object.")
        name = p.get("name")
        if not isinstance(name, str) or not name:
            raise invalid_query("Query parameters must have a name in NAMED parameter mode")
        if name.lower() in out:
            raise invalid_query("Duplicate query parameter name %s" % name)
        ptype = p.get("parameterType")
        if not isinstance(ptype, dict) or not isinstance(ptype.get("type"), str):
            raise invalid_query("Query parameter %s has no type" % name)
        pval = p.get("parameterValue") or {}
        if not isinstance(pval, dict):
            raise invalid_query("Invalid value for query parameter %s" % name)
        t = ptype["type"].upper()
        if t == "ARRAY":
            et = ptype.get("arrayType")
            if not isinstance(et, dict) or not isinstance(et.get("type"), str) or et["type"].upper() in (
                    "ARRAY", "STRUCT"):
                raise invalid_query("Query parameter %s: an ARRAY needs a scalar arrayType" % name)
            et = et["type"].upper()
            if "arrayValues" not in pval:
                value = None
            else:
                avals = pval["arrayValues"]
                if not isinstance(avals, list) or not all(isinstance(v, dict) for v in avals):
                    raise invalid_query("Invalid arrayValues for query parameter %s" % name)
                value = tuple(_scalar_param(et, v.get("value"), name) for v in avals)
            out[name.lower()] = (("ARRAY", et), value)
        else:
            if "arrayValues" in pval:
                raise invalid_query("Query parameter %s of type %s has arrayValues" % (name, t))
            out[name.lower()] = (t, _scalar_param(t, pval.get("value"), name))
    return out


# --- jobs ------------------------------------------------------------------------------------

class _Store:
    def __init__(self, generation):
        self.generation = generation
        self.seq = 0
        self.jobs = collections.OrderedDict()


_stores = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _store(state):
    gen = getattr(state, "generation", 0)
    st = _stores.get(state)
    if st is None or st.generation != gen:
        st = _stores[state] = _Store(gen)
    return st


def _config(state, key, default):
    cfg = getattr(state, "config", None)
    if isinstance(cfg, dict):
        v = cfg.get(key, default)
    else:
        v = getattr(state, key, default)
    return default if v is None or isinstance(v, bool) else v


def _page_size(state):
    v = _config(state, "page_size", 500)
    return v if isinstance(v, int) and v >= 1 else 500


KNOWN_REQUEST_FIELDS = frozenset((
    "kind", "query", "maxResults", "defaultDataset", "timeoutMs", "jobTimeoutMs", "maxSlots",
    "destinationEncryptionConfiguration", "dryRun", "preserveNulls", "useQueryCache", "useLegacySql",
    "parameterMode", "queryParameters", "location", "formatOptions", "connectionProperties", "labels",
    "maximumBytesBilled", "requestId", "createSession", "jobCreationMode", "reservation", "continuous",
    "writeIncrementalResults"))


def _bool_param(params, name):
    v = (params.get(name) or [None])[0]
    if v is None:
        return None
    if v.lower() not in ("true", "false"):
        raise BqError(400, "invalid", 'Invalid value for %s: "%s" is not a boolean' % (name, v))
    return v.lower() == "true"


def _uint_param(raw, name):
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not re.fullmatch(r"\d+", str(raw)):
        raise BqError(400, "invalid", 'Invalid value for %s: "%s"' % (name, raw))
    return int(raw)


def _ts_mode(fmt):
    """The TIMESTAMP output of formatOptions {useInt64Timestamp, timestampOutputFormat}."""
    if fmt is None:
        return "FLOAT64"
    if not isinstance(fmt, dict):
        raise BqError(400, "invalid", "Invalid JSON payload received. formatOptions must be an object.")
    tof = fmt.get("timestampOutputFormat")
    if tof not in (None, "TIMESTAMP_OUTPUT_FORMAT_UNSPECIFIED", "FLOAT64", "INT64", "ISO8601_STRING"):
        raise BqError(400, "invalid", 'Invalid value for formatOptions.timestampOutputFormat: "%s"' % tof)
    if fmt.get("useInt64Timestamp") is True:
        if tof not in (None, "TIMESTAMP_OUTPUT_FORMAT_UNSPECIFIED", "INT64"):
            raise BqError(400, "invalid", "Cannot specify both useInt64Timestamp and timestampOutputFormat.")
        return "INT64"
    return tof if tof in ("INT64", "ISO8601_STRING") else "FLOAT64"


def _token(job_id, offset):
    h = hashlib.blake2b(("%s:%d" % (job_id, offset)).encode(), digest_size=20).digest()
    return base64.b32encode(h).decode()


def _answer(state, job, kind, offset, max_results, ts_mode, first):
    with _lock:
        job["answers"] += 1
        n = job["incomplete"]
        complete = n == 0 or (n > 0 and job["answers"] > n)
    ref = {"projectId": job["project"], "jobId": job["id"], "location": LOCATION}
    if not complete:
        return {"kind": kind, "jobReference": ref, "jobComplete": False}
    size = _page_size(state)
    if max_results is not None:
        size = min(size, max_results)
    rows = job["rows"]
    total = len(rows)
    page = rows[offset:offset + size]
    out = {"kind": kind, "schema": {"fields": job["fields"]}, "jobReference": ref, "totalRows": str(total)}
    nxt = offset + len(page)
    if nxt < total:
        tok = _token(job["id"], nxt)
        with _lock:
            job["tokens"][tok] = nxt
        out["pageToken"] = tok
    if page:
        out["rows"] = render_rows(page, job["types"], ts_mode)
    out["totalBytesProcessed"] = str(job["bytes"])
    if first:
        out["totalBytesBilled"] = str(job["billed"])
    out["jobComplete"] = True
    out["cacheHit"] = False
    if first:
        out["queryId"] = job["id"]
    return out


def jobs_query(state, project, body):
    try:
        req = json.loads(body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else (body or ""))
    except (ValueError, UnicodeDecodeError) as e:
        raise BqError(400, "parseError", "Invalid JSON payload received. %s" % e)
    if not isinstance(req, dict):
        raise BqError(400, "parseError", "Invalid JSON payload received. The request body must be a JSON object.")
    for k in req:
        if k not in KNOWN_REQUEST_FIELDS:
            raise BqError(400, "invalid", 'Invalid JSON payload received. Unknown name "%s": Cannot find field.' % k)
    text = req.get("query")
    if not isinstance(text, str) or not text.strip():
        raise BqError(400, "required", "Required parameter is missing: query")
    legacy = req.get("useLegacySql", True)
    if not isinstance(legacy, bool):
        raise BqError(400, "invalid", 'Invalid value for useLegacySql: "%s"' % legacy)
    if legacy:
        m = re.search(r"`[^`]*`", text)
        name = m.group() if m else (re.search(r"(?i)\bFROM\s+(\S+)", text) or re.search(r"(\S+)\s*$", text)).group(1)
        raise invalid_query("Invalid table name: %s %s" % (name, STANDARD_SQL_HINT))
    loc = req.get("location")
    if loc is not None and (not isinstance(loc, str) or loc.upper() != LOCATION):
        raise BqError(404, "notFound", "Not found: Dataset %s:%s was not found in location %s"
                      % (B.TABLE_PROJECT, B.TABLE_DATASET, loc))
    max_results = _uint_param(req.get("maxResults"), "maxResults")
    ts_mode = _ts_mode(req.get("formatOptions"))
    limit = req.get("maximumBytesBilled")
    limit = _uint_param(limit, "maximumBytesBilled") if limit is not None else None
    params = parse_params(req)
    try:
        plan = compile_query(text, params)
        rows, nbytes = execute(plan, state.today())
    except SqlError as e:
        raise invalid_query("%s at %s" % (e.message, _at(text, e.off)))
    except RuntimeSqlError as e:
        raise invalid_query(str(e))
    billed = max(MIN_BILLED, -(-nbytes // MIB) * MIB)
    if limit is not None and limit > 0 and billed > limit:
        raise BqError(400, "bytesBilledLimitExceeded", "Query exceeded limit for bytes billed: %d. %d or higher "
                      "required." % (limit, billed))
    if req.get("dryRun") is True:
        return {"kind": "bigquery#queryResponse", "schema": {"fields": [
            schema_field(n, t) for n, t in zip(plan.names, plan.types)]},
            "jobReference": {"projectId": project, "location": LOCATION},
            "totalBytesProcessed": str(nbytes), "jobComplete": True, "cacheHit": False}
    incomplete = _config(state, "bq_incomplete_polls", 0)
    if not isinstance(incomplete, int):
        incomplete = 0
    with _lock:
        store = _store(state)
        store.seq += 1
        digest = hashlib.blake2b(b"%d\n" % store.seq + (body if isinstance(body, bytes) else text.encode()),
                                 digest_size=15).digest()
        job_id = "job_" + base64.urlsafe_b64encode(digest).decode()
        job = {"project": project, "id": job_id, "rows": rows, "types": plan.types,
               "fields": [schema_field(n, t) for n, t in zip(plan.names, plan.types)],
               "bytes": nbytes, "billed": billed, "tokens": {}, "answers": 0, "incomplete": incomplete}
        store.jobs[job_id] = job
        while len(store.jobs) > MAX_JOBS:
            store.jobs.popitem(last=False)
    return _answer(state, job, "bigquery#queryResponse", 0, max_results, ts_mode, True)


def get_query_results(state, project, job_id, params):
    def one(name):
        v = params.get(name)
        if isinstance(v, (list, tuple)):
            return v[0] if v else None
        return v
    loc = one("location")
    if loc is not None and loc.upper() != LOCATION:
        raise BqError(404, "notFound", "Not found: Job %s:%s.%s" % (project, loc, job_id))
    with _lock:
        store = _store(state)
        job = store.jobs.get(job_id)
        if job is not None:
            store.jobs.move_to_end(job_id)
    if job is None or job["project"] != project:
        raise BqError(404, "notFound", "Not found: Job %s:%s.%s" % (project, LOCATION, job_id))
    max_results = _uint_param(one("maxResults"), "maxResults")
    start = _uint_param(one("startIndex"), "startIndex")
    _uint_param(one("timeoutMs"), "timeoutMs")
    fmt = {}
    u = _bool_param(params, "formatOptions.useInt64Timestamp")
    if u is not None:
        fmt["useInt64Timestamp"] = u
    if one("formatOptions.timestampOutputFormat") is not None:
        fmt["timestampOutputFormat"] = one("formatOptions.timestampOutputFormat")
    ts_mode = _ts_mode(fmt)
    tok = one("pageToken")
    offset = start or 0
    if tok is not None:
        with _lock:
            offset = job["tokens"].get(tok)
        if offset is None:
            raise BqError(400, "invalid", "Invalid page token: %s was not issued for job %s" % (tok, job_id))
    return _answer(state, job, "bigquery#getQueryResultsResponse", offset, max_results, ts_mode, False)


def handle(state, op, project, job_id, params, body):
    """(HTTP status, JSON object) of a BigQuery request (authenticated by the caller)."""
    try:
        if op == "bigquery.jobs.query":
            return 200, jobs_query(state, project, body)
        if op == "bigquery.jobs.getQueryResults":
            return 200, get_query_results(state, project, job_id, params or {})
        raise BqError(404, "notFound", "Method not found.")
    except BqError as e:
        return e.code, e.envelope()


def forget_jobs(state):
    """Drop the jobs of a State (tests)."""
    with _lock:
        _stores.pop(state, None)
