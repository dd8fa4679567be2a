"""A run's cost does not grow with the files loaded before, and a changed file is still found.

Proved by counting, not timing: the landing files the run opens (Python's `open` audit event:
hashing, format detection, header reads) and the SQL statements it sends to DuckDB, for the same
new day on top of a 6-day and a 60-day history. Already-loaded files are known from one read of
the manifest and their fingerprints (size, mtime), so they are neither opened nor queried per file.
"""

from __future__ import annotations

import os
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from ingest_helpers import KEY, assert_accounting, query

import ingestion.loader as loader
from ingestion import ingest_landing, ingest_paths
from ingestion.loader import _stage_as_arrow, _stage_as_lists
from ingestion.manifest import RACY_NS

STATES_HEADER = "source_system,agent_id,state,reason,start_ts,end_ts"
AN_HOUR_NS = 3600 * 1_000_000_000

_opened: list[str] | None = None  # paths opened while a measurement is on


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # hooks cannot be removed; this one records only while _opened is a list


class CountingConnection:
    """The loader's real connection, counting the statements sent through it."""

    def __init__(self, con: duckdb.DuckDBPyConnection, counter: list[int]):
        self._con = con
        self._counter = counter

    def execute(self, *args, **kwargs):
        self._counter[0] += 1
        return self._con.execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        self._counter[0] += 1
        return self._con.executemany(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _states_file(landing: Path, day: date, agents: int = 3) -> Path:
    """One day of agent states, written an hour 'ago' so its fingerprint can vouch for it."""
    path = landing / "agent_states" / f"agent_states_{day.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [STATES_HEADER] + [
        f"canonical,A{a:04d},available,,{day.isoformat()}T0{a}:00:00Z,{day.isoformat()}T0{a + 1}:00:00Z"
        for a in range(agents)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _age(path)
    return path


def _age(path: Path, ns: int = AN_HOUR_NS) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns - ns, st.st_mtime_ns - ns))


def _measured_run(monkeypatch, warehouse: Path, landing: Path, **kwargs):
    """ingest_landing with its landing-file opens and SQL statements counted."""
    global _opened
    statements = [0]
    real_connect = loader.connect
    monkeypatch.setattr(loader, "connect", lambda path: CountingConnection(real_connect(path), statements))
    _opened = []
    try:
        results = ingest_landing(warehouse, landing, KEY, **kwargs)
        opened = [p for p in _opened if Path(p).resolve().is_relative_to(landing.resolve())]
    finally:
        _opened = None
        monkeypatch.setattr(loader, "connect", real_connect)
    return results, opened, statements[0]


def _new_day_after(tmp_path: Path, monkeypatch, history_days: int):
    root = tmp_path / f"h{history_days}"
    landing, warehouse = root / "landing", root / "warehouse" / "warehouse.duckdb"
    first = date(2026, 1, 1)
    for d in range(history_days):
        _states_file(landing, first + timedelta(days=d))
    history = ingest_landing(warehouse, landing, KEY)
    assert [r.status for r in history] == ["loaded"] * history_days
    idle = _measured_run(monkeypatch, warehouse, landing)
    new_file = _states_file(landing, first + timedelta(days=history_days))
    new_day = _measured_run(monkeypatch, warehouse, landing)
    return new_file, idle, new_day


def test_a_runs_file_opens_and_statements_do_not_grow_with_history(tmp_path, monkeypatch):
    short_new, short_idle, short_day = _new_day_after(tmp_path, monkeypatch, 6)
    long_new, long_idle, long_day = _new_day_after(tmp_path, monkeypatch, 60)

    for results, opened, _ in (short_idle, long_idle):
        assert {r.status for r in results} == {"already_loaded"}
        assert opened == []  # nothing already loaded is read again
    for new_file, (results, opened, _) in ((short_new, short_day), (long_new, long_day)):
        assert [r.path for r in results if r.status == "loaded"] == [new_file]
        assert [r.status for r in results].count("already_loaded") == len(results) - 1
        assert_accounting(results)
        assert opened and set(opened) == {str(new_file)}  # only the new day's file is opened
    # Ten times the history, the same work: the same opens of the new file, the same statements.
    assert len(short_day[1]) == len(long_day[1])
    assert short_idle[2] == long_idle[2]
    assert short_day[2] == long_day[2]
    assert query(
        long_new.parents[2] / "warehouse" / "warehouse.duckdb", "select count(*) from raw.agent_states"
    ) == [(61 * 3,)]


def _one_file_instance(tmp_path: Path) -> tuple[Path, Path, Path]:
    landing = tmp_path / "landing"
    path = _states_file(landing, date(2026, 3, 1))
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    assert [r.status for r in ingest_landing(warehouse, landing, KEY)] == ["loaded"]
    return landing, warehouse, path


def _rewrite_same_size(path: Path) -> None:
    """New bytes of the same length (a corrected re-export): A0001 becomes A0009."""
    old = path.read_bytes()
    new = old.replace(b"A0001", b"A0009")
    assert new != old and len(new) == len(old)
    path.write_bytes(new)


def test_a_re_export_under_the_same_name_and_size_is_loaded(tmp_path):
    landing, warehouse, path = _one_file_instance(tmp_path)
    _rewrite_same_size(path)  # a new mtime: the fingerprint no longer vouches for the file
    (again,) = ingest_landing(warehouse, landing, KEY)
    assert again.status == "loaded" and again.rows_loaded == 1 and again.rows_duplicate == 2
    assert query(warehouse, "select count(*) from raw.agent_states where agent_id = 'A0009'") == [(1,)]
    # And the new bytes are what the fingerprint now vouches for.
    (third,) = ingest_landing(warehouse, landing, KEY)
    assert third.status == "already_loaded"


def test_a_rewrite_within_the_mtime_tick_of_the_hash_is_detected(tmp_path):
    """Written, loaded and rewritten within the same clock tick (same size, same mtime): the
    fingerprint was taken less than RACY_NS after the mtime, so it does not vouch for the file."""
    landing = tmp_path / "landing"
    path = _states_file(landing, date(2026, 3, 1))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + AN_HOUR_NS))  # "now"
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    assert [r.status for r in ingest_landing(warehouse, landing, KEY)] == ["loaded"]
    (checked_ns,) = query(warehouse, "select checked_ns from raw.file_fingerprint")[0]
    mtime_ns = path.stat().st_mtime_ns
    assert checked_ns - mtime_ns < RACY_NS
    _rewrite_same_size(path)
    os.utime(path, ns=(path.stat().st_atime_ns, mtime_ns))
    (again,) = ingest_landing(warehouse, landing, KEY)
    assert again.status == "loaded" and again.rows_loaded == 1


def test_new_bytes_under_an_old_mtime_need_rehash(tmp_path):
    """What a fingerprint cannot see (`touch -r`-style tools): trusted by default, so the file is
    not read; --rehash reads every file and finds it."""
    landing, warehouse, path = _one_file_instance(tmp_path)
    st = path.stat()
    _rewrite_same_size(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    (trusted,) = ingest_landing(warehouse, landing, KEY)
    assert trusted.status == "already_loaded"
    (rehashed,) = ingest_landing(warehouse, landing, KEY, rehash=True)
    assert rehashed.status == "loaded" and rehashed.rows_loaded == 1


def test_a_touched_file_is_hashed_once_then_vouched_for(tmp_path, monkeypatch):
    landing, warehouse, path = _one_file_instance(tmp_path)
    os.utime(path)  # same bytes, new mtime
    _age(path)  # an hour old, and not the mtime the fingerprint holds
    results, opened, _ = _measured_run(monkeypatch, warehouse, landing)
    assert [r.status for r in results] == ["already_loaded"] and opened == [str(path)]
    results, opened, _ = _measured_run(monkeypatch, warehouse, landing)
    assert [r.status for r in results] == ["already_loaded"] and opened == []


def test_fingerprints_are_per_path_and_not_in_the_dbt_sources(tmp_path):
    landing, warehouse, path = _one_file_instance(tmp_path)
    os.utime(path)
    ingest_landing(warehouse, landing, KEY)
    rows = query(warehouse, "select file_path, size_bytes, mtime_ns from raw.file_fingerprint")
    assert rows == [
        ("landing/agent_states/agent_states_2026-03-01.csv", path.stat().st_size, path.stat().st_mtime_ns)
    ]
    sources = (Path(__file__).parents[2] / "dbt" / "models" / "staging" / "_raw__sources.yml").read_text()
    assert "file_fingerprint" not in sources


def test_the_same_file_given_twice_in_one_run_loads_once(tmp_path):
    landing, _, path = _one_file_instance(tmp_path)
    warehouse = tmp_path / "other" / "warehouse.duckdb"
    results = ingest_paths(warehouse, [path, path], KEY, relative_to=tmp_path)
    assert [r.status for r in results] == ["loaded", "already_loaded"]


COLUMNS = [
    ("d", "double"), ("b", "boolean"), ("s", "varchar"), ("ts", "timestamp"), ("day", "date"),
    ("big", "bigint"), ("i", "integer"), ("nothing", "timestamp"),
]  # fmt: skip


@pytest.mark.parametrize("n_rows", [0, 4, 3000])
def test_staging_through_lists_and_through_arrow_gives_the_same_table(n_rows):
    from datetime import datetime

    sample = [
        (1, True, "x", datetime(2026, 1, 1, 12, 0, 0, 123456), date(2026, 1, 1), 2**40, 3, None),
        (2.5, None, None, None, None, None, None, None),
        (float("nan"), False, "é中", datetime(2026, 3, 29, 1, 30), date(2026, 2, 28), -1, -5, None),
        (None, True, "", datetime(1999, 12, 31, 23, 59, 59), date(1970, 1, 1), 0, 0, None),
    ]
    rows = [sample[i % 4] for i in range(n_rows)]
    con = duckdb.connect()
    _stage_as_lists(con, "via_lists", COLUMNS, rows)
    _stage_as_arrow(con, "via_arrow", COLUMNS, rows)
    assert con.execute("describe via_lists").fetchall() == con.execute("describe via_arrow").fetchall()
    assert con.execute("select count(*) from via_lists").fetchone() == (n_rows,)
    for a, b in (("via_lists", "via_arrow"), ("via_arrow", "via_lists")):
        assert con.execute(
            f"select count(*) from (select * from {a} except all select * from {b})"
        ).fetchone() == (0,)
