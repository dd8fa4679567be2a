"""Caller numbers: normalise to E.164 (default region CN), then replace by HMAC-SHA256(key, number).

Each distinct number is normalised and hashed once per file (in Python, where phonenumbers lives),
and the result is joined back in DuckDB, so a 10M-row file costs one hash per distinct caller.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import duckdb
import phonenumbers
import pyarrow as pa

DEFAULT_REGION = "CN"

# Caller id values that mean "no number" (withheld, anonymous…): a valid contact with caller_key null.
WITHHELD = {
    "",
    "anonymous",
    "unknown",
    "withheld",
    "private",
    "restricted",
    "unavailable",
    "none",
    "null",
    "n/a",
    "匿名",
    "未知",
    "号码隐藏",
}
# A number that went through a spreadsheet: 13800138000 -> 1.38E+10. The digits are gone for good.
_EXCEL_MANGLED = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_NAME_AND_NUMBER = re.compile(r"^.*<([^<>]*)>\s*$")  # Asterisk callerid "Name" <number>
_SEPARATORS = re.compile(r"[\s\-().]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_number(raw: str | None) -> tuple[str | None, str | None]:
    """(E.164 number or None, problem or None). Withheld numbers give (None, None)."""
    if raw is None:
        return None, None
    s = str(raw).strip()
    m = _NAME_AND_NUMBER.match(s)
    if m:
        s = m.group(1).strip()
    if s.strip('"<> ').lower() in WITHHELD:
        return None, None
    if _EXCEL_MANGLED.match(s):
        return None, "excel-mangled caller number"
    s = _SEPARATORS.sub("", s)
    if s.startswith("00"):
        s = "+" + s[2:]
    if _E164.match(s):
        return s, None
    if _CN_MOBILE.match(s):
        return "+86" + s, None
    try:
        parsed = phonenumbers.parse(s, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None, "unparseable caller number"
    if not phonenumbers.is_possible_number(parsed):
        return None, "impossible caller number"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


class Pseudonymiser:
    """Normalise + HMAC with a per-instance cache (a caller calls many times)."""

    def __init__(self, key: bytes):
        if not key:
            raise ValueError("empty pseudonymisation key")
        self._key = key
        self._cache: dict[str, tuple[str | None, str | None]] = {}

    def key_of(self, raw: str | None) -> tuple[str | None, str | None]:
        """(caller_key or None, problem or None)."""
        if raw is None:
            return None, None
        hit = self._cache.get(raw)
        if hit is None:
            e164, problem = normalise_number(raw)
            digest = hmac.new(self._key, e164.encode(), hashlib.sha256).hexdigest() if e164 else None
            hit = (digest, problem)
            self._cache[raw] = hit
        return hit

    def _pads(self) -> tuple[str, str]:
        k = hashlib.sha256(self._key).digest() if len(self._key) > 64 else self._key
        k = k.ljust(64, b"\0")
        return bytes(b ^ 0x5C for b in k).hex(), bytes(b ^ 0x36 for b in k).hex()

    def map_table(self, con: duckdb.DuckDBPyConnection, source_sql: str, name: str) -> None:
        """Create temp table `name(number, caller_key, caller_problem)` for the distinct numbers of
        `source_sql` (a query returning one varchar column).

        Bulk path: the common shapes (+E.164, 00-prefixed, CN mobile, withheld, Excel-mangled) are
        normalised in SQL and HMAC'd in SQL (RFC 2104 over DuckDB's sha256), the same result as
        key_of(); only the rest (landlines, odd formats) goes through phonenumbers in Python.
        """
        withheld = ", ".join("'" + w.replace("'", "''") + "'" for w in sorted(WITHHELD))
        con.execute(
            f"""create or replace temp table _cm as
                with d as (select distinct n from ({source_sql}) as s(n) where n is not null),
                     -- Numbers already in E.164 or a bare CN mobile (most of them) come out of the
                     -- steps below unchanged: one match each instead of five regular expressions.
                     quick as (select n, case when regexp_full_match(n, '\\+[1-9]\\d{{6,14}}') then n
                                              when regexp_full_match(n, '1[3-9]\\d{{9}}') then '+86' || n
                                         end as e164
                               from d),
                     a as (select n, regexp_replace(trim(n), '^.*<([^<>]*)>\\s*$', '\\1') as s
                           from quick where e164 is null),
                     b as (select n,
                                  case when lower(trim(trim(s), '"<> ')) in ({withheld}) then 'withheld'
                                       when regexp_full_match(s, '[+-]?\\d+(?:[.,]\\d+)?[eE][+-]?\\d+')
                                       then 'excel-mangled caller number' end as problem,
                                  regexp_replace(s, '[\\s\\-().]', '', 'g') as c
                           from a),
                     c as (select n, problem, case when c like '00%' then '+' || c[3:] else c end as c from b)
                select n, null::varchar as problem, e164 from quick where e164 is not null
                union all
                select n, problem,
                       case when problem is not null then null
                            when regexp_full_match(c, '\\+[1-9]\\d{{6,14}}') then c
                            when regexp_full_match(c, '1[3-9]\\d{{9}}') then '+86' || c end as e164
                from c"""
        )
        rest = [
            r[0] for r in con.execute("select n from _cm where problem is null and e164 is null").fetchall()
        ]
        if rest:
            fixed = [normalise_number(n) for n in rest]
            con.register(
                "_cm_rest",
                pa.table(
                    {
                        "n": pa.array(rest, pa.string()),
                        "e164": pa.array([f[0] for f in fixed], pa.string()),
                        "problem": pa.array(
                            [f[1] or ("withheld" if f[0] is None else None) for f in fixed], pa.string()
                        ),
                    }
                ),
            )
            try:
                con.execute(
                    "update _cm set e164 = r.e164, problem = r.problem from _cm_rest r where _cm.n = r.n"
                )
            finally:
                con.unregister("_cm_rest")
        opad, ipad = self._pads()
        con.execute(
            f"""create or replace temp table {name} as
                select n as number,
                       case when e164 is not null
                            then sha256(unhex(?) || unhex(sha256(unhex(?) || encode(e164)))) end as caller_key,
                       nullif(problem, 'withheld') as caller_problem
                from _cm""",
            [opad, ipad],
        )
        con.execute("drop table _cm")
