"""The build flow: ingest → dbt build → quality gates → publish. Used by `callcenter build` and Dagster.

Write → audit → publish: dbt and the GX suites run against the warehouse; only the last step makes
anything visible to dashboards, and only when no blocking check failed. A failure at any step
leaves the previous serving snapshot serving, raises an alert and makes the run fail.

Each step is a plain function so Dagster assets and checks call the same code as the CLI.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from callcenter import publish as publishing
from callcenter.alerts import send_alert
from callcenter.config import DATA_DIR_ENV, REPO_ROOT, Paths, hmac_key
from callcenter.errors import UserError

DBT_PROJECT_DIR = REPO_ROOT / "dbt"
MAX_CHECK_ALERTS = 20  # one alert per failed check, then one summary: a broken feed must not flood
# Production builds leave dbt's unit tests out: they test the SQL logic on fixed inputs, not the data,
# so they belong in CI (`make test` runs them all, tests/dbt/test_dbt_build.py), not in every daily build.
PRODUCTION_DBT_BUILD_ARGS = ["--exclude-resource-type", "unit_test"]
# The dbt project's own files: a change to any of them (a model, a seed, a test) can change rows
# that no new load touched, so it makes the next build check every key again.
DBT_PROJECT_PARTS = ("dbt_project.yml", "macros", "models", "seeds", "tests")
UNIQUENESS_STATE_FILE = "uniqueness_verified.json"
# read by dbt/macros/uniqueness_scope.sql when a test runs (an env var: new --vars re-parse the project)
UNIQUENESS_SINCE_ENV = "CALLCENTER_UNIQUENESS_CHANGED_SINCE"
DBT_PROJECT_NAME = "callcenter"

Echo = Callable[[str], None]


class BuildFailed(Exception):
    """A step failed; the message says which and why (the serving snapshot was not touched)."""

    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step = step


@dataclass
class StepOutcome:
    name: str
    ok: bool
    seconds: float
    summary: str


@dataclass
class BuildResult:
    run_id: str
    ok: bool = True
    failed_step: str | None = None
    error: str | None = None
    steps: list[StepOutcome] = field(default_factory=list)
    blocking_failures: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    snapshot_id: str | None = None
    data_docs: Path | None = None


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@contextmanager
def instance_lock(paths: Paths, *, wait_s: float = 0) -> Iterator[None]:
    """One writer per instance at a time: a CLI build holds it for the whole flow, a Dagster step for
    its own step, so the two never collide on DuckDB's single-writer file. ``wait_s`` > 0 waits for
    the holder (Dagster steps queue behind a CLI build) instead of failing at once."""
    paths.run.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    with open(paths.run / "build.lock", "a+") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as e:
                if time.monotonic() >= deadline:
                    f.seek(0)
                    holder = f.read().strip() or "unknown"
                    raise UserError(
                        f"another build is running on {paths.root} (pid {holder}, lock {paths.run / 'build.lock'})"
                    ) from e
                time.sleep(1)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield


# --------------------------------------------------------------------------------------------
# steps


def ingest_step(paths: Paths, key: bytes | None, *, skip: bool, echo: Echo) -> tuple[str, list]:
    from ingestion import ensure_raw_schema, ingest_landing

    ensure_raw_schema(paths.warehouse)
    if skip:
        return "skipped (--skip-ingest); raw schema ensured", []
    assert key is not None
    results = ingest_landing(paths.warehouse, paths.landing, key, progress=False)
    loaded = [r for r in results if r.status == "loaded"]
    rejected = [r for r in results if r.status == "rejected"]
    for r in results:
        if r.status != "already_loaded":
            echo(
                f"    {r.status:<8} {r.source:<17} {r.path.name}: read {r.rows_read}, loaded {r.rows_loaded}, "
                f"quarantined {r.rows_quarantined}, duplicate {r.rows_duplicate}"
                + (f" — {r.message}" if r.message else "")
            )
    for r in rejected:
        send_alert(
            paths,
            "file_rejected",
            f"landing file rejected: {r.path.name}",
            {
                "file": str(r.path),
                "source": r.source,
                "rows": r.rows_read,
                "reason": r.message,
                "log": str(paths.warehouse) + " (raw.file_manifest)",
            },
        )
    rows = sum(r.rows_loaded for r in loaded)
    quarantined = sum(r.rows_quarantined for r in results)
    return (
        f"{len(loaded)} new file(s), {rows} rows loaded, {quarantined} quarantined, "
        f"{len(rejected)} rejected, {len(results) - len(loaded) - len(rejected)} already loaded",
        results,
    )


def dbt_paths(paths: Paths) -> tuple[Path, Path]:
    """Per-instance dbt target and log folders, so two instances never share run_results.json."""
    return paths.run / "dbt" / "target", paths.run / "dbt" / "logs"


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def dbt_project_fingerprint() -> str:
    """sha256 over the dbt project's files (names and contents) that decide what a build writes."""
    digest = hashlib.sha256()
    for part in DBT_PROJECT_PARTS:
        root = DBT_PROJECT_DIR / part
        for f in sorted([root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())):
            digest.update(f.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


def _uniqueness_state(paths: Paths) -> Path:
    return paths.run / UNIQUENESS_STATE_FILE


def uniqueness_changed_since(paths: Paths, *, full_refresh: bool, dbt_project: str) -> str | None:
    """When the big uniqueness tests may start: the start of the last verified build, else None.

    "Verified": a dbt build that passed, with all its uniqueness tests, on the same dbt project
    (`dbt_project`, its fingerprint). Every duplicate key then involves a row loaded since that
    build started (DECISIONLOG.md, "Uniqueness tests check what changed"). A full refresh rewrites
    every row without a new load, so it checks all keys; so does the first build, and the first
    after the dbt project changed.
    """
    state = _uniqueness_state(paths)
    if full_refresh or not state.exists():
        return None
    verified = json.loads(state.read_text())
    if verified.get("dbt_project") != dbt_project:
        return None
    return verified["build_started"]


def uniqueness_tests_passed(nodes: list[dict]) -> bool:
    """Every uniqueness test of the build ran and passed (a warning is not a pass here)."""
    tests = [
        n
        for n in nodes
        if n["unique_id"].startswith(f"test.{DBT_PROJECT_NAME}.unique_combination_of_columns_")
    ]
    return bool(tests) and all(n["status"] == "pass" for n in tests)


def record_verified_build(paths: Paths, build_started: datetime, dbt_project: str) -> None:
    """Remember a dbt build whose uniqueness tests all passed: the next checks keys loaded since it started."""
    state = _uniqueness_state(paths)
    tmp = state.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"dbt_project": dbt_project, "build_started": build_started.isoformat(sep=" ")})
    )
    os.replace(tmp, state)


@dataclass
class UniquenessScope:
    """One dbt build's uniqueness scope: opened before dbt starts, recorded after it passed.

    Shared by `dbt_build_step` (callcenter build) and Dagster's dbt asset.
    """

    started: datetime
    dbt_project: str
    since: str | None  # None: every key is checked

    @classmethod
    def open(cls, paths: Paths, *, full_refresh: bool) -> UniquenessScope:
        project = dbt_project_fingerprint()
        since = uniqueness_changed_since(paths, full_refresh=full_refresh, dbt_project=project)
        return cls(datetime.now(UTC).replace(tzinfo=None), project, since)

    def apply(self, env: MutableMapping[str, str]) -> None:
        """Set (or clear) the variable dbt's tests read in the environment dbt will run with."""
        env.pop(UNIQUENESS_SINCE_ENV, None)
        if self.since:
            env[UNIQUENESS_SINCE_ENV] = self.since

    def record_if_verified(self, paths: Paths, nodes: list[dict]) -> bool:
        """After a dbt build that passed: make it the verified one if all its uniqueness tests passed."""
        if not uniqueness_tests_passed(nodes):
            return False
        record_verified_build(paths, self.started, self.dbt_project)
        return True


def dbt_build_step(paths: Paths, *, full_refresh: bool, echo: Echo) -> tuple[bool, str, list[dict]]:
    """Run `dbt build` in a subprocess; returns (ok, summary, per-node results).

    The big uniqueness tests check only keys loaded since the last verified build (when there is
    one), and a build whose uniqueness tests all pass becomes the verified one.
    """
    target, logs = dbt_paths(paths)
    scope = UniquenessScope.open(paths, full_refresh=full_refresh)
    cmd = [
        dbt_executable(),
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(logs),
        *PRODUCTION_DBT_BUILD_ARGS,
    ]
    if full_refresh:
        cmd.append("--full-refresh")
    env = dict(os.environ, **{DATA_DIR_ENV: str(paths.root)})
    scope.apply(env)
    if scope.since:
        echo(f"    uniqueness tests check keys loaded since {scope.since}")
    (target / "run_results.json").unlink(missing_ok=True)
    proc = subprocess.Popen(
        cmd, cwd=DBT_PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        echo("    " + line.rstrip())
    rc = proc.wait()
    nodes = _dbt_results(target / "run_results.json")
    bad = [n for n in nodes if n["status"] in ("error", "fail")]
    warned = [n for n in nodes if n["status"] == "warn"]
    summary = (
        f"{len(nodes)} nodes: {len(nodes) - len(bad) - len(warned)} ok, {len(warned)} warn, "
        f"{len(bad)} error/fail (exit {rc})"
    )
    if rc == 0 and not bad:
        scope.record_if_verified(paths, nodes)
    return rc == 0 and not bad, summary, nodes


def _dbt_results(run_results: Path) -> list[dict]:
    if not run_results.exists():
        return []
    return dbt_nodes(json.loads(run_results.read_text()))


def dbt_nodes(run_results: dict) -> list[dict]:
    """Per-node results of a dbt run_results.json artifact."""
    out = []
    for r in run_results.get("results", []):
        uid = r["unique_id"]
        out.append(
            {
                "unique_id": uid,
                "resource_type": uid.split(".", 1)[0],
                "status": r["status"],
                "failures": r.get("failures"),
                "message": (r.get("message") or "")[:500],
            }
        )
    return out


def dbt_check_rows(nodes: list[dict]) -> list:
    """dbt tests (and failed models) as data-quality results, so dq_results shows both gates."""
    from expectations.runner import BLOCK, WARN, CheckResult

    rows = []
    for n in nodes:
        if n["resource_type"] == "test":
            rows.append(
                CheckResult(
                    suite="dbt",
                    table_name=n["unique_id"].split(".")[2] if n["unique_id"].count(".") >= 2 else "",
                    check_name=n["unique_id"],
                    severity=WARN if n["status"] == "warn" else BLOCK,
                    success=n["status"] in ("pass", "success", "skipped"),
                    unexpected_count=n["failures"],
                    details=n["message"] if n["status"] in ("fail", "error", "warn") else "",
                )
            )
        elif n["status"] == "error":
            rows.append(
                CheckResult(
                    suite="dbt",
                    table_name=n["unique_id"].split(".")[-1],
                    check_name=f"{n['resource_type']}_builds",
                    severity=BLOCK,
                    success=False,
                    details=n["message"],
                )
            )
    return rows


def quality_step(
    paths: Paths,
    run_id: str,
    *,
    since: datetime | None,
    extra_results: list | None = None,
    dagster_run_id: str | None = None,
    layers: set[str] | None = None,
    docs_dir: Path | None = None,
    echo: Echo = print,
):
    """Run the GX suites, append results to marts.dq_results, write Data Docs, alert on failures."""
    from expectations import runner

    report = runner.run_suites(
        paths.warehouse, run_id, docs_dir=docs_dir or paths.dq_docs, since=since, layers=layers
    )
    report.results = list(extra_results or []) + report.results
    con = duckdb.connect(str(paths.warehouse))
    try:
        runner.write_results(con, report, datetime.now(UTC).replace(tzinfo=None))
    finally:
        con.close()
    alert_failures(paths, report, dagster_run_id=dagster_run_id)
    for r in report.blocking_failures + report.warnings:
        echo(f"    {r.severity.upper():<5} {r.suite}.{r.check_name} on {r.table_name}: {_describe(r)}")
    return report


def _describe(r) -> str:
    bits = []
    if r.unexpected_count:
        bits.append(f"{r.unexpected_count} of {r.rows_checked} rows unexpected")
    elif r.observed_value is not None:
        bits.append(f"observed {r.observed_value}")
    if r.failing_items:
        bits.append(json.dumps(r.failing_items[:3], default=str, ensure_ascii=False))
    if r.details:
        bits.append(r.details.strip().splitlines()[0][:300])
    return "; ".join(bits) or "failed"


def alert_failures(paths: Paths, report, *, dagster_run_id: str | None = None) -> int:
    failures = report.blocking_failures + report.warnings
    where = {
        "run_id": report.run_id,
        "dagster_run_id": dagster_run_id,
        "data_docs": str(report.data_docs) if report.data_docs else str(paths.dq_docs),
        "results_table": "marts.dq_results",
    }
    sent = 0
    for r in failures[:MAX_CHECK_ALERTS]:
        kind = r.alert_kind or ("check_failed" if r.severity == "block" else "check_warning")
        verb = "blocked publishing" if r.severity == "block" else "warning (published)"
        send_alert(
            paths,
            kind,
            f"{r.suite}.{r.check_name} failed on {r.table_name} — {verb}",
            {
                "check": f"{r.suite}.{r.check_name}",
                "severity": r.severity,
                "table": r.table_name,
                "rows": r.unexpected_count if r.unexpected_count is not None else r.rows_checked,
                "rows_checked": r.rows_checked,
                "observed": r.observed_value,
                "failing": r.failing_items[:10],
                "details": r.details[:500],
                **where,
            },
        )
        sent += 1
    if len(failures) > MAX_CHECK_ALERTS:
        send_alert(
            paths,
            "check_failed" if report.blocking_failures else "check_warning",
            f"{len(failures) - MAX_CHECK_ALERTS} more failed checks (see marts.dq_results)",
            {"rows": len(failures), **where},
        )
        sent += 1
    return sent


def publish_step(paths: Paths, run_id: str) -> publishing.Snapshot:
    return publishing.publish(paths, run_id)


def quality_results_recorded(paths: Paths, run_id: str) -> bool:
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return (
            con.execute("select count(*) from marts.dq_results where run_id = ?", [run_id]).fetchone()[0] > 0
        )
    except duckdb.CatalogException:
        return False
    finally:
        con.close()


def blocking_failures_recorded(paths: Paths, run_id: str) -> list[tuple[str, str, str]]:
    """Blocking failures stored for `run_id` (the publish asset re-checks before swapping)."""
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return con.execute(
            "select suite, check_name, table_name from marts.dq_results "
            "where run_id = ? and severity = 'block' and not success",
            [run_id],
        ).fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# the whole flow


def run_build(
    paths: Paths,
    *,
    demo: bool = False,
    skip_ingest: bool = False,
    full_refresh: bool = False,
    run_id: str | None = None,
    echo: Echo = print,
) -> BuildResult:
    run_id = run_id or new_run_id()
    result = BuildResult(run_id=run_id)
    paths.ensure()
    started = datetime.now(UTC).replace(tzinfo=None)

    def step(name: str, fn):
        echo(f"==> {name}")
        t0 = time.monotonic()
        try:
            ok, summary = fn()
        except BuildFailed:
            raise
        except UserError as e:
            raise BuildFailed(name, str(e)) from e
        except Exception as e:
            raise BuildFailed(name, f"{type(e).__name__}: {e}") from e
        dt = time.monotonic() - t0
        result.steps.append(StepOutcome(name, ok, dt, summary))
        echo(f"    {'ok' if ok else 'FAILED'} in {dt:.1f} s: {summary}")
        return ok

    with instance_lock(paths):
        for leftover in publishing.cleanup_temp_files(paths):
            echo(f"removed a temp file a killed run left behind: {leftover.name}")
        try:
            key = None if skip_ingest else hmac_key(paths, generate=demo)

            def _ingest():
                summary, _ = ingest_step(paths, key, skip=skip_ingest, echo=echo)
                return True, summary

            step("ingest", _ingest)

            dbt_state: dict = {}

            def _dbt():
                ok, summary, nodes = dbt_build_step(paths, full_refresh=full_refresh, echo=echo)
                dbt_state.update(ok=ok, nodes=nodes, summary=summary)
                return ok, summary

            dbt_ok = step("dbt build", _dbt)

            def _quality():
                report = quality_step(
                    paths,
                    run_id,
                    # a full refresh can change any row: judge them all, not only the newly loaded dates
                    since=None if (skip_ingest or full_refresh) else started,
                    extra_results=dbt_check_rows(dbt_state.get("nodes", [])),
                    echo=echo,
                )
                result.blocking_failures = report.blocking_failures
                result.warnings = report.warnings
                result.data_docs = report.data_docs
                n = len(report.results)
                summary = (
                    f"{n} checks: {n - len(report.blocking_failures) - len(report.warnings)} passed, "
                    f"{len(report.warnings)} warnings, {len(report.blocking_failures)} blocking failures"
                )
                # no Data Docs yet when every check so far was decided in DuckDB without GX
                docs = (
                    f"; Data Docs {report.data_docs}"
                    if report.data_docs
                    else "; no Data Docs (GX not needed)"
                )
                return not report.blocking_failures, summary + docs

            quality_ok = step("quality gates", _quality)
            if not dbt_ok:
                raise BuildFailed("dbt build", dbt_state.get("summary", "dbt build failed"))
            if not quality_ok:
                names = ", ".join(f"{r.suite}.{r.check_name}" for r in result.blocking_failures[:5])
                raise BuildFailed(
                    "quality gates", f"{len(result.blocking_failures)} blocking failure(s): {names}"
                )

            def _publish():
                snap = publish_step(paths, run_id)
                result.snapshot_id = snap.snapshot_id
                return True, f"snapshot {snap.snapshot_id}: {len(snap.tables)} tables -> {paths.serving}"

            step("publish", _publish)
        except BuildFailed as e:
            result.ok = False
            result.failed_step = e.step
            result.error = str(e)
            kind = {"publish": "publish_failed"}.get(e.step, "run_failed")
            send_alert(
                paths,
                kind,
                f"build {run_id} failed at {e.step}; serving snapshot unchanged",
                {
                    "run_id": run_id,
                    "step": e.step,
                    "error": str(e)[:1000],
                    "data_docs": str(paths.dq_docs / "index.html"),
                    "log": str(dbt_paths(paths)[1] / "dbt.log") if e.step == "dbt build" else None,
                    "serving": str(paths.serving),
                },
            )
    return result
