"""Caller numbers: E.164 normalisation (default region CN), HMAC-SHA256, SQL bulk path == Python path."""

from __future__ import annotations

import duckdb
import pytest
from ingest_helpers import KEY, caller_key

from ingestion.pseudonymise import Pseudonymiser, normalise_number

NUMBERS = [
    "13800138000", "+8613800138000", "008613800138000", "138 0013 8000", "+86 138-0013-8000",
    '"Zhang" <13800138000>', "02112345678", "021-1234 5678", "+442079460000", "+1 (415) 555-0100",
    "anonymous", "Anonymous", "<unknown>", "", "unknown", "匿名", '"" <>',
    "1.38E+10", "1.38001E+10", "12345", "abc", "4008001234",
]  # fmt: skip


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13800138000", ("+8613800138000", None)),
        ("138 0013 8000", ("+8613800138000", None)),
        ("0086 138 0013 8000", ("+8613800138000", None)),
        ("02112345678", ("+862112345678", None)),  # Shanghai landline, national format
        ("+442079460000", ("+442079460000", None)),
        ("anonymous", (None, None)),  # withheld: valid, no key
        ("", (None, None)),
        ("1.38E+10", (None, "excel-mangled caller number")),
        ("abc", (None, "unparseable caller number")),
    ],
)
def test_normalise_number(raw, expected):
    assert normalise_number(raw) == expected


def test_sql_bulk_path_matches_python_hmac():
    p = Pseudonymiser(KEY)
    con = duckdb.connect()
    con.execute("create table t(n varchar)")
    con.executemany("insert into t values (?)", [(n,) for n in NUMBERS])
    p.map_table(con, "select n from t", "m")
    got = {n: (k, problem) for n, k, problem in con.execute("select * from m").fetchall()}
    assert got == {n: p.key_of(n) for n in NUMBERS}
    assert got["13800138000"][0] == caller_key("+8613800138000") == got["+86 138-0013-8000"][0]


def test_long_keys_are_hashed_first_like_rfc2104():
    long_key = b"k" * 100
    p = Pseudonymiser(long_key)
    con = duckdb.connect()
    p.map_table(con, "select '13800138000'", "m")
    import hashlib
    import hmac

    assert (
        con.execute("select caller_key from m").fetchone()[0]
        == hmac.new(long_key, b"+8613800138000", hashlib.sha256).hexdigest()
    )
