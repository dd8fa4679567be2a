"""--dirty: the manifest matches the files; determinism per seed; the CLI contract."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from callcenter.cli import main
from simulator import simulate
from simulator.render import CANONICAL_COLUMNS

OUTCOMES = {"answered", "abandoned", "timeout", "exit_key", "overflow", "transferred_out"}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _valid_row(line: str) -> dict | None:
    """A row a canonical reader would load; None when it would quarantine it."""
    try:
        fields = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return None
    if len(fields) != len(CANONICAL_COLUMNS):
        return None
    row = dict(zip(CANONICAL_COLUMNS, fields, strict=True))
    if row["outcome"] not in OUTCOMES or not re.match(r"^\d+$", row["segment_seq"]):
        return None
    if any(row[c] and float(row[c]) < 0 for c in ("wait_s", "talk_s", "hold_s", "acw_s")):
        return None
    return row


def _loadable(line: str) -> dict | None:
    """A valid row whose caller number survived (an Excel-mangled number quarantines its row)."""
    row = _valid_row(line)
    if row and re.match(r"^\d\.\d{2}E\+\d{2}$", row["caller_number"]):
        return None
    return row


def test_fault_manifest_matches_the_files(dirty_run):
    root = dirty_run.data_dir
    manifest = json.loads((root / "truth" / "fault_manifest.json").read_text(encoding="utf-8"))
    kinds = {f["kind"] for f in manifest["faults"]}
    assert kinds >= {"duplicate_rows", "reexported_overlap", "malformed_line", "negative_duration", "unknown_outcome",
                     "excel_mangled_phone", "late_file", "clock_skew", "truncated_mid_line", "truncated_file",
                     "schedule_reexport"}  # fmt: skip
    for f in manifest["faults"]:
        path = root / f["file"]
        assert path.is_file() and "landing" in path.parts
        if f["kind"] == "truncated_file":
            with pytest.raises((pa.ArrowInvalid, OSError)):
                pq.read_table(path)
            continue
        if not isinstance(f.get("lines"), list):
            continue
        lines = _lines(path)
        for n in f["lines"]:
            line = lines[n - 1]
            if f["kind"] in ("malformed_line", "truncated_mid_line", "negative_duration", "unknown_outcome"):
                assert _valid_row(line) is None, (f["kind"], line)
            elif f["kind"] == "excel_mangled_phone":
                assert re.match(r"^\d\.\d{2}E\+\d{2}$", _valid_row(line)["caller_number"])
            elif f["kind"] == "duplicate_rows":
                assert lines.index(line) < n - 1  # an identical earlier line
        if f["kind"] == "truncated_mid_line":
            assert not path.read_text(encoding="utf-8").endswith("\n")
    # per-file bookkeeping adds up, and the data rows are really there
    for rel, counts in manifest["files"].items():
        if counts.get("status") == "rejected":
            continue
        data_rows = len([x for x in _lines(root / rel)[1:] if x != ""])
        assert (
            data_rows == counts["data_rows"] == counts["loaded"] + counts["quarantined"] + counts["duplicate"]
        )


def test_nothing_lost_nothing_doubled_against_truth(dirty_run):
    """Loaded keys (first occurrence wins, rejected files skipped) + quarantined keys == the true segments."""
    root = dirty_run.data_dir
    manifest = json.loads((root / "truth" / "fault_manifest.json").read_text(encoding="utf-8"))
    rejected = {r for r, c in manifest["files"].items() if c.get("status") == "rejected"}
    quarantined = {
        tuple(k)
        for f in manifest["faults"]
        if f["expected"]["effect"] == "quarantine"
        for k in f.get("record_keys", [])
    }
    seen: list[tuple] = []
    folder = root / "landing" / "contact_segments"
    for p in sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
        if str(p.relative_to(root)) in rejected:
            continue
        if p.suffix == ".parquet":
            t = pq.read_table(p, columns=["contact_id", "segment_seq"]).to_pylist()
            seen += [(r["contact_id"], r["segment_seq"]) for r in t]
        else:
            for line in _lines(p)[1:]:
                row = _loadable(line)
                if row:
                    seen.append((row["contact_id"], int(row["segment_seq"])))
    truth = pq.read_table(root / "truth" / "segments", columns=["contact_id", "segment_seq"]).to_pylist()
    truth_keys = {(r["contact_id"], r["segment_seq"]) for r in truth}
    loaded = set(seen)
    assert loaded | quarantined == truth_keys
    assert not (loaded & quarantined)
    expected_dups = sum(
        c.get("duplicate", 0) for f, c in manifest["files"].items() if "contact_segments" in f
    )
    assert len(seen) - len(loaded) == expected_dups


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "landing").rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    from datetime import date

    kw = {"days": 2, "start": date(2026, 3, 2), "scale": 0.15, "progress": False}
    a = _digest(simulate(tmp_path / "a", seed=1, **kw).data_dir)
    b = _digest(simulate(tmp_path / "b", seed=1, **kw).data_dir)
    c = _digest(simulate(tmp_path / "c", seed=2, **kw).data_dir)
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_cli_if_empty_and_user_errors(tmp_path, capsys):
    d = str(tmp_path / "inst")
    assert (
        main(["--data-dir", d, "simulate", "--days", "1", "--scale", "0.1", "--no-progress", "--if-empty"])
        == 0
    )
    files = sorted(p for p in (tmp_path / "inst" / "landing").rglob("*") if p.is_file())
    assert files
    capsys.readouterr()
    assert main(["--data-dir", d, "simulate", "--days", "1", "--no-progress", "--if-empty"]) == 0
    assert "nothing simulated" in capsys.readouterr().out
    assert sorted(p for p in (tmp_path / "inst" / "landing").rglob("*") if p.is_file()) == files
    assert main(["--data-dir", d, "simulate", "--days", "0"]) == 2
    assert "--days" in capsys.readouterr().err
    assert (tmp_path / "inst" / "truth" / "intervals.parquet").is_file()
    assert not list((tmp_path / "inst" / "landing").rglob("*truth*"))


def test_agents_sizes_the_center_by_head_count(tmp_path):
    from datetime import date

    run = simulate(tmp_path, days=1, start=date(2026, 3, 2), seed=3, agents=150, progress=False)
    assert 135 <= run.agents <= 165
    assert run.contacts > 1000
