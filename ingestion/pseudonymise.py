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

    def map_table(self, con: duckdb.DuckDBPyConnection, source_sql: str, name: str) -> None:
        """Create temp table `name(number, caller_key, caller_problem)` for the distinct numbers of
        `source_sql` (a query returning one varchar column)."""
        distinct = con.execute(
            f"select distinct n from ({source_sql}) as s(n) where n is not null"
        ).fetchall()
        numbers = [row[0] for row in distinct]
        keys, problems = [], []
        for n in numbers:
            k, p = self.key_of(n)
            keys.append(k)
            problems.append(p)
        arrow = pa.table(
            {
                "number": pa.array(numbers, pa.string()),
                "caller_key": pa.array(keys, pa.string()),
                "caller_problem": pa.array(problems, pa.string()),
            }
        )
        con.register("_caller_map_arrow", arrow)
        try:
            con.execute(f"create or replace temp table {name} as select * from _caller_map_arrow")
        finally:
            con.unregister("_caller_map_arrow")
