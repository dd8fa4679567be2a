"""The uniqueness tests scoped to what changed (CALLCENTER_UNIQUENESS_CHANGED_SINCE).

A small telephony instance is built from two loads (1 and 3 November), then segment c1/1 of the
first load is delivered again in a third load (3 November, noon) past ingestion's dedupe: its key
then occurs twice in staging, the stints view, fct_queue_stints and fct_agent_segments (an answered
leg). int_contacts_assembled groups a contact's segments, so it stays unique.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from callcenter.pipeline import UNIQUENESS_SINCE_ENV

from .conftest import run_dbt
from .raw_contract import ensure_raw_tables, insert_rows
from .test_dbt_build import _seg

MODELS = [
    "stg_telephony__contact_segments",
    "int_queue_stints_classified",
    "int_contacts_assembled",
    "fct_queue_stints",
    "fct_agent_segments",
]
FIRST_LOAD = datetime(2026, 11, 1)
SECOND_LOAD = datetime(2026, 11, 3)
REDELIVERY = datetime(2026, 11, 3, 12)
DUPLICATED = set(MODELS) - {"int_contacts_assembled"}


def _loaded(row: dict, at: datetime) -> dict:
    return {**row, "loaded_at": at}


def _first_load() -> list[dict]:
    return [
        _seg("c1", "presales", "2026-03-10 09:00:00", "answered", 5, caller="k-1", agent="ag1", talk=60),
        _seg("c2", "presales", "2026-03-10 09:10:00", "abandoned", 40, caller="k-2"),
        _seg("c3", "presales", "2026-03-11 10:00:00", "answered", 8, caller="k-3", agent="ag2", talk=90),
    ]


def _second_load() -> list[dict]:
    rows = [
        _seg("c4", "presales", "2026-03-12 09:00:00", "answered", 3, caller="k-4", agent="ag1", talk=45),
        _seg("c5", "presales", "2026-03-12 11:00:00", "answered", 6, caller="k-5", agent="ag2", talk=30),
    ]
    return [_loaded(r, SECOND_LOAD) for r in rows]


def _test_results(data_dir: Path, since: str | None) -> dict[str, tuple[str, int]]:
    """Run the five models' uniqueness tests; {model: (status, failures)}."""
    args = ["test", "--select", *(f"unique_combination_of_columns_{m}*" for m in MODELS)]
    os.environ.pop(UNIQUENESS_SINCE_ENV, None)
    if since:
        os.environ[UNIQUENESS_SINCE_ENV] = since
    try:
        result = run_dbt(data_dir, *args)
    finally:
        os.environ.pop(UNIQUENESS_SINCE_ENV, None)
    results = json.loads((data_dir / "dbt_target" / "run_results.json").read_text())["results"]
    out = {}
    for r in results:
        model = next(m for m in MODELS if f"unique_combination_of_columns_{m}_" in r["unique_id"])
        out[model] = (r["status"], r["failures"])
    assert len(out) == len(MODELS), result.stdout[-3000:]
    return out


@pytest.fixture(scope="module")
def redelivered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("uniqueness_scope")
    warehouse = data_dir / "warehouse" / "warehouse.duckdb"
    ensure_raw_tables(warehouse)
    selection = ["--select", *(f"+{m}" for m in MODELS)]
    for rows in (_first_load(), _second_load(), [_loaded(_first_load()[0], REDELIVERY)]):
        insert_rows(warehouse, "contact_segments", rows)
        result = run_dbt(data_dir, "build", *selection, "--exclude-resource-type", "test", "unit_test")
        assert result.returncode == 0, result.stdout[-4000:]
    return data_dir


def test_a_key_delivered_again_is_found_when_only_new_rows_are_checked(redelivered: Path) -> None:
    scoped = _test_results(redelivered, "2026-11-02 00:00:00")
    full = _test_results(redelivered, None)
    for model in MODELS:
        expected = ("fail", 1) if model in DUPLICATED else ("pass", 0)
        assert scoped[model] == expected, model
        assert full[model] == expected, model


def test_rows_loaded_before_the_scope_are_not_read_again(redelivered: Path) -> None:
    # The contract of the scope, not a wish: a key whose rows were all loaded before it is not
    # checked again (the build that loaded them checked it). Here the redelivery is "before".
    later = _test_results(redelivered, "2026-11-04 00:00:00")
    assert {m: s for m, (s, _) in later.items()} == dict.fromkeys(MODELS, "pass")


def test_a_partition_scope_checks_every_row_of_a_rebuilt_date(redelivered: Path, tmp_path: Path) -> None:
    # fct_queue_stints is rebuilt by report date: a duplicate between two rows of a rebuilt date is
    # found even when neither row is new (here 12 March holds the second load's rows).
    copy = tmp_path / "instance"
    (copy / "warehouse").mkdir(parents=True)
    warehouse = copy / "warehouse" / "warehouse.duckdb"
    warehouse.write_bytes((redelivered / "warehouse" / "warehouse.duckdb").read_bytes())
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("delete from marts.fct_queue_stints where contact_id = 'c1'")  # undo the redelivery
        # c4 is on 12 March and was loaded on 3 November: copy it with an old load time
        con.execute(
            "insert into marts.fct_queue_stints select * replace (timestamp '2026-11-01' as loaded_at) "
            "from marts.fct_queue_stints where contact_id = 'c4'"
        )
    finally:
        con.close()
    scoped = _test_results(copy, "2026-11-02 00:00:00")
    assert scoped["fct_queue_stints"] == ("fail", 1)
    # the same duplicate on a date no new row reached is outside the scope
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("delete from marts.fct_queue_stints where contact_id = 'c4' and loaded_at < '2026-11-02'")
        con.execute(
            "insert into marts.fct_queue_stints select * from marts.fct_queue_stints where contact_id = 'c3'"
        )
    finally:
        con.close()
    assert _test_results(copy, "2026-11-02 00:00:00")["fct_queue_stints"] == ("pass", 0)
    assert _test_results(copy, None)["fct_queue_stints"] == ("fail", 1)
