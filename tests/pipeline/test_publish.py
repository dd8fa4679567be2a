"""Atomic publishing: what reaches serving, WAL hygiene, snapshots kept, rollback."""

from __future__ import annotations

import json
import os
from datetime import datetime

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


def _tables(con) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        "where schema_name = 'marts' order by table_name, column_index"
    ).fetchall():
        out.setdefault(table, []).append((column, data_type))
    return out


def assert_same_snapshot(a, b) -> None:
    """Same tables, same columns in the same order, same rows (EXCEPT ALL both ways)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        con.execute("use a")
        tables_a = _tables(con)
        con.execute("use b")
        tables_b = _tables(con)
        assert tables_a == tables_b
        for table in tables_a:
            q = f'marts."{table}"'
            for x, y in (("a", "b"), ("b", "a")):
                extra = con.execute(
                    f"select count(*) from (from {x}.{q} except all from {y}.{q})"
                ).fetchone()[0]
                assert extra == 0, f"{table}: {extra} rows of {x} not in {y}"
    finally:
        con.close()


NEW_DAY = """
-- new contacts (counts change), a rewritten FCR status on an old date (same count), rows deleted
-- and re-inserted with other values (the recompute window), a new mart and a dropped one
insert into marts.fct_contacts select * replace ('n' || contact_id as contact_id, report_date + 21 as report_date)
  from marts.fct_contacts where report_date = (select max(report_date) from marts.fct_contacts);
update marts.agg_center_daily set answered = answered + 1, abandoned = abandoned - 1
  where report_date = (select min(report_date) from marts.agg_center_daily);
create temp table redo as select * from marts.agg_queue_daily where report_date >= (select max(report_date) - 3 from marts.agg_queue_daily);
delete from marts.agg_queue_daily where report_date >= (select max(report_date) - 3 from marts.agg_queue_daily);
insert into marts.agg_queue_daily select * replace (sl_num + 1 as sl_num) from redo;
create table marts.agg_new as select 1 as x;
drop table marts.agg_stress_team;
"""


def assert_same_as_a_full_publish(instance, run_id: str, now) -> None:
    """The serving snapshot equals one built from scratch from the same warehouse."""
    reference = publish.build_snapshot(instance, run_id, now=now, full=True)
    try:
        assert_same_snapshot(instance.serving, reference.path)
    finally:
        reference.path.unlink()


NOW = datetime(2030, 1, 2, 3, 4, 5)
STINTS = """
create table marts.fct_queue_stints as select *, interval_start_local::date as report_date from (values
  ('b', timestamp '2024-01-01 10:00'), ('a', timestamp '2024-01-01 09:00'), ('a', timestamp '2024-01-01 11:00'))
  t(outcome, interval_start_local)
"""


def test_incremental_publish_equals_a_full_publish_and_copies_only_changed_tables(instance):
    execute(instance.warehouse, STINTS)
    first = publish.publish(instance, "run1")
    assert not first.incremental and "fct_contacts" in first.copied
    execute(
        instance.warehouse,
        NEW_DAY
        + "insert into marts.fct_queue_stints values ('c', timestamp '2024-01-02 08:00', date '2024-01-02'),"
        " ('a', timestamp '2024-01-02 09:00', date '2024-01-02');",
    )
    now = __import__("datetime").datetime(2030, 1, 2, 3, 4, 5)
    incremental = publish.publish(instance, "run2", now=now)
    assert incremental.incremental
    # dated marts get only their changed report dates replaced, including rows rewritten in place with
    # the same row count (a sorted table too: its new date's rows are appended in its order); a new
    # mart is copied whole; the rest is kept
    assert incremental.patched == {
        "fct_contacts": 1,
        "agg_center_daily": 1,
        "agg_queue_daily": 4,
        "fct_queue_stints": 1,
    }
    assert set(incremental.copied) == {"agg_new"}
    con = _serving(instance)
    appended = con.execute(
        "select outcome from marts.fct_queue_stints where report_date = '2024-01-02'"
    ).fetchall()
    con.close()
    assert appended == [("a",), ("c",)]  # the patch keeps the serving order within what it adds
    con = _serving(instance)
    n_before = con.execute(
        "select row_count from marts.publish_info where table_name = 'agg_queue_daily'"
    ).fetchone()[0]
    con.close()
    assert n_before == first.tables["agg_queue_daily"]  # same count, new content
    reference = publish.build_snapshot(instance, "run2", now=now, full=True)
    try:
        assert not reference.incremental and set(reference.copied) == set(reference.tables)
        assert reference.tables == incremental.tables
        assert_same_snapshot(instance.serving, reference.path)  # publish_info too: same ids and fingerprints
    finally:
        reference.path.unlink()
    con = _serving(instance)
    assert "agg_stress_team" not in _tables(con)  # a dropped mart leaves serving too
    con.close()


def test_unchanged_warehouse_copies_nothing_and_sorted_tables_keep_their_order(instance):
    execute(instance.warehouse, STINTS)
    publish.publish(instance, "run1")
    again = publish.publish(instance, "run2")
    assert again.incremental and again.copied == () and again.patched == {}
    con = _serving(instance)
    try:
        assert con.execute(
            "select outcome, interval_start_local from marts.fct_queue_stints"
        ).fetchall() == sorted(
            con.execute("select outcome, interval_start_local from marts.fct_queue_stints").fetchall(),
            key=lambda r: (r[0], -r[1].timestamp()),
        )
        info = con.execute("select distinct snapshot_id, run_id from marts.publish_info").fetchall()
        assert info == [(again.snapshot_id, "run2")]
    finally:
        con.close()
    assert not os.path.exists(f"{instance.serving}.wal")


def test_a_snapshot_without_fingerprints_is_rebuilt_in_full(instance):
    publish.publish(instance, "run1")
    kept = publish.list_snapshots(instance)[-1]
    os.chmod(kept, 0o644)
    execute(kept, "alter table marts.publish_info drop column content_fingerprint")  # as older code wrote it
    snap = publish.publish(instance, "run2")
    assert not snap.incremental and set(snap.copied) == set(snap.tables)


def test_rollback_then_publish_starts_from_the_restored_snapshot(instance):
    publish.publish(instance, "run1")
    execute(instance.warehouse, "update marts.agg_center_daily set answered = answered + 1")
    publish.publish(instance, "run2")
    publish.rollback(instance)  # serving run1's content again
    snap = publish.publish(instance, "run3")
    # differs from the restored snapshot on every date, from run2's on none
    assert snap.copied == () and snap.patched == {"agg_center_daily": 21}
    con = _serving(instance)
    wh = duckdb.connect(str(instance.warehouse), read_only=True)
    try:
        assert (
            con.execute("select sum(answered) from marts.agg_center_daily").fetchone()
            == wh.execute("select sum(answered) from marts.agg_center_daily").fetchone()
        )
    finally:
        con.close()
        wh.close()


def test_a_sorted_table_is_patched_until_its_appended_tail_passes_a_tenth_then_sorted_whole(instance):
    execute(instance.warehouse, STINTS)
    assert "fct_queue_stints" in publish.publish(instance, "run1").copied  # sorted whole
    execute(
        instance.warehouse,
        "insert into marts.fct_queue_stints values ('a', timestamp '2024-01-02 09:00', date '2024-01-02')",
    )
    second = publish.publish(instance, "run2")
    assert second.patched == {"fct_queue_stints": 1}  # 0 appended rows known: patched (1 row appended)
    execute(
        instance.warehouse,
        "insert into marts.fct_queue_stints values ('a', timestamp '2024-01-03 09:00', date '2024-01-03')",
    )
    third = publish.publish(instance, "run3")
    assert "fct_queue_stints" in third.copied  # 1 appended of 4 rows > 10 %: sorted whole again
    con = _serving(instance)
    try:
        rows = con.execute("select outcome, interval_start_local from marts.fct_queue_stints").fetchall()
        assert rows == sorted(rows, key=lambda r: (r[0], -r[1].timestamp()))
        state = json.loads((instance.serving_dir / publish.APPENDED_STATE_FILE).read_text())
        assert state[third.snapshot_id] == {"fct_queue_stints": 0}
        assert state[second.snapshot_id] == {"fct_queue_stints": 1}  # kept while its snapshot is kept
    finally:
        con.close()


def test_a_few_rewritten_rows_on_many_dates_are_patched_row_by_row(instance):
    """A recompute window that rewrites one row on each of many dates (FCR's next contact on old
    dates) rewrites those rows in the snapshot, not every row of those dates."""
    execute(instance.warehouse, STINTS)
    execute(
        instance.warehouse,
        "insert into marts.fct_queue_stints select 'b', timestamp '2024-01-05 09:00' + to_minutes(i), "
        "date '2024-01-05' from range(30) t(i)",
    )
    publish.publish(instance, "run1")
    execute(
        instance.warehouse,
        "update marts.fct_queue_stints set outcome = 'z' where interval_start_local in "
        "(timestamp '2024-01-01 09:00', timestamp '2024-01-05 09:07')",
    )
    second = publish.publish(instance, "run2", now=NOW)
    assert second.patched == {"fct_queue_stints": 2}
    state = json.loads((instance.serving_dir / publish.APPENDED_STATE_FILE).read_text())
    assert state[second.snapshot_id] == {"fct_queue_stints": 2}  # 2 rows rewritten, not 32
    assert_same_as_a_full_publish(instance, "run2", NOW)


def test_identical_rows_and_views_are_patched_by_replacing_their_dates_whole(instance):
    """Hash sets cannot count identical rows: a date whose count comes out wrong is replaced whole.
    A view has no rowid to find its rows by: its changed dates are replaced whole."""
    execute(
        instance.warehouse,
        "create table marts.agg_twins_daily as select * from (values (date '2024-01-01', 1), "
        "(date '2024-01-02', 2)) t(report_date, n); "
        "create view marts.agg_view_daily as select report_date, n * 10 as n from marts.agg_twins_daily",
    )
    publish.publish(instance, "run1")
    execute(
        instance.warehouse,
        "insert into marts.agg_twins_daily values (date '2024-01-01', 1), (date '2024-01-02', 3)",
    )
    second = publish.publish(instance, "run2", now=NOW)
    assert second.patched["agg_twins_daily"] == 2 and second.patched["agg_view_daily"] == 2
    con = _serving(instance)
    try:
        rows = con.execute(
            "select report_date::varchar, n from marts.agg_twins_daily order by all"
        ).fetchall()
        assert rows == [("2024-01-01", 1), ("2024-01-01", 1), ("2024-01-02", 2), ("2024-01-02", 3)]
        assert con.execute("select sum(n) from marts.agg_view_daily").fetchone()[0] == 70
    finally:
        con.close()
    assert_same_as_a_full_publish(instance, "run2", NOW)


def _old_fingerprint(con, catalog: str, table: str) -> str:
    """The table fingerprint as computed before per-date fingerprints: one ungrouped scan."""
    cols = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = 'marts' "
        "and table_name = ? order by column_index",
        [catalog, table],
    ).fetchall()
    h = f"hash({', '.join(chr(34) + c + chr(34) for c, _ in cols)})"
    n, s, x = con.execute(
        f'select count(*), sum({h}::hugeint), bit_xor({h}) from {catalog}.marts."{table}"'
    ).fetchone()
    return f"{n}/{s or 0}/{x or 0}/" + ",".join(f"{c}:{t}" for c, t in cols)


def test_the_next_publish_compares_dates_with_the_fingerprints_stored_beside_the_snapshot(
    instance, monkeypatch
):
    execute(instance.warehouse, STINTS + "; create table marts.agg_empty_daily (report_date date, n integer)")
    first = publish.publish(instance, "run1")
    stored = json.loads(
        (instance.serving_dir / "snapshots" / f"{first.snapshot_id}.partitions.json").read_text()
    )
    assert "fct_contacts" in stored and "agg_stress_team" not in stored  # dated marts only
    assert stored["agg_empty_daily"] == []
    con = duckdb.connect()
    con.execute(f"attach '{instance.warehouse}' as wh (read_only)")
    tables = publish.published_tables(con, "wh")
    # the table fingerprints (publish_info) are the per-date ones added up: the same values as one
    # ungrouped scan gives, for dated, undated and empty tables
    assert publish.table_fingerprints(con, "wh", tables) == {
        t: _old_fingerprint(con, "wh", t) for t in tables
    }
    con.close()
    execute(
        instance.warehouse,
        NEW_DAY
        + "insert into marts.fct_queue_stints values ('c', timestamp '2024-01-02 08:00', date '2024-01-02');"
        + "insert into marts.agg_empty_daily values (null, 1);",
    )

    def no_scan_of_the_snapshot(*args):
        raise AssertionError("the snapshot's rows were fingerprinted by date again")

    monkeypatch.setattr(publish, "_changed_partitions", no_scan_of_the_snapshot)
    now = __import__("datetime").datetime(2030, 1, 2, 3, 4, 5)
    second = publish.publish(instance, "run2", now=now)
    assert second.patched == {
        "fct_contacts": 1,
        "agg_center_daily": 1,
        "agg_queue_daily": 4,
        "fct_queue_stints": 1,
        "agg_empty_daily": 1,  # a null report date is a partition too
    }
    monkeypatch.undo()
    assert_same_as_a_full_publish(instance, "run2", now)


def test_without_stored_date_fingerprints_the_snapshot_is_compared_by_scanning_it(instance, monkeypatch):
    monkeypatch.setenv(publish.KEEP_ENV, "2")
    first = publish.publish(instance, "run1")
    sidecar = instance.serving_dir / "snapshots" / f"{first.snapshot_id}.partitions.json"
    # a sidecar that does not add up to the snapshot's fingerprints is not trusted (nor a missing one)
    doc = json.loads(sidecar.read_text())
    doc["agg_center_daily"][0][1] += 1
    sidecar.write_text(json.dumps(doc))
    execute(instance.warehouse, "update marts.agg_center_daily set answered = answered + 1 where report_date = "
            "(select max(report_date) from marts.agg_center_daily)")  # fmt: skip
    now = __import__("datetime").datetime(2030, 1, 2, 3, 4, 5)
    second = publish.publish(instance, "run2", now=now)
    assert second.patched == {"agg_center_daily": 1}
    assert_same_as_a_full_publish(instance, "run2", now)
    publish.publish(instance, "run3")
    # pruned with its snapshot
    assert not sidecar.exists()
    assert len(list((instance.serving_dir / "snapshots").glob("*.partitions.json"))) == 2
