"""Atomic publishing: what reaches serving, WAL hygiene, snapshots kept, rollback."""

from __future__ import annotations

import os

import duckdb
import pytest
from warehouse_factory import execute

from callcenter import publish
from callcenter.errors import UserError


def _serving(paths):
    return duckdb.connect(str(paths.serving), read_only=True)


def test_publish_writes_marts_only_checkpointed_with_publish_info(instance):
    snap = publish.publish(instance, "run1")
    assert instance.serving.exists()
    assert not os.path.exists(f"{instance.serving}.wal")
    assert not list(instance.serving_dir.glob("serving.duckdb.tmp-*"))
    con = _serving(instance)
    try:
        schemas = {
            r[0]
            for r in con.execute("select distinct table_schema from information_schema.tables").fetchall()
        }
        assert schemas == {"marts"}  # no raw, staging or intermediate
        info = con.execute("select snapshot_id, table_name, row_count from marts.publish_info").fetchall()
        assert {r[0] for r in info} == {snap.snapshot_id}
        for _, table, n in info:
            assert con.execute(f"select count(*) from marts.{table}").fetchone()[0] == n
        counts = {t: n for _, t, n in info}
        # 21 days = 3 whole weeks: 15 weekdays x 12 contacts + 6 weekend days x 6
        assert counts["fct_contacts"] == snap.tables["fct_contacts"] == 15 * 12 + 6 * 6
        assert "stg_secret" not in counts
    finally:
        con.close()


def test_publish_refuses_personal_data_columns_and_keeps_previous(instance):
    first = publish.publish(instance, "run1")
    execute(instance.warehouse, "create table marts.leak as select '13800138000' as caller_number")
    with pytest.raises(publish.PublishError, match="caller_number"):
        publish.publish(instance, "run2")
    assert publish.current_snapshot_id(instance) == first.snapshot_id
    assert not list(instance.serving_dir.glob("serving.duckdb.tmp-*"))


def test_snapshots_are_kept_pruned_and_rollback_restores_previous(instance, monkeypatch):
    monkeypatch.setenv(publish.KEEP_ENV, "3")
    ids = []
    for i in range(4):
        execute(instance.warehouse, f"create or replace table marts.marker as select {i} as build")
        ids.append(publish.publish(instance, f"run{i}").snapshot_id)
    kept = [p.stem for p in publish.list_snapshots(instance)]
    assert kept == ids[1:]  # oldest pruned
    assert publish.current_snapshot_id(instance) == ids[3]

    assert publish.rollback(instance) == ids[2]
    con = _serving(instance)
    assert con.execute("select build from marts.marker").fetchone()[0] == 2
    con.close()
    assert publish.rollback(instance) == ids[1]
    with pytest.raises(UserError, match="no snapshot older"):
        publish.rollback(instance)
    assert publish.rollback(instance, to=ids[3][:20]) == ids[3]


def test_reader_holding_old_snapshot_is_not_disturbed_by_publish(instance):
    publish.publish(instance, "run1")
    old_reader = _serving(instance)
    before = old_reader.execute("select count(*) from marts.fct_contacts").fetchone()[0]
    execute(
        instance.warehouse,
        "delete from marts.fct_contacts where report_date = (select min(report_date) from marts.fct_contacts)",
    )
    publish.publish(instance, "run2")  # the rename does not need the reader's lock
    assert old_reader.execute("select count(*) from marts.fct_contacts").fetchone()[0] == before
    old_reader.close()
    new_reader = _serving(instance)
    assert new_reader.execute("select count(*) from marts.fct_contacts").fetchone()[0] < before
    new_reader.close()


def test_rollback_cli_lists_and_restores(instance, capsys):
    from callcenter.cli import main

    a = publish.publish(instance, "run1").snapshot_id
    b = publish.publish(instance, "run2").snapshot_id
    assert main(["--data-dir", str(instance.root), "rollback", "--list"]) == 0
    out = capsys.readouterr().out
    assert f"* {b}" in out and f"  {a}" in out
    assert main(["--data-dir", str(instance.root), "rollback"]) == 0
    assert publish.current_snapshot_id(instance) == a
