"""What the warehouse already knows about landing files, read once per run.

A landing file's identity is its content (sha256) and its name (DECISIONLOG "Ingestion"). Hashing
every landing file on every run made a new day's cost grow with the history, so each hashed file
also leaves a *fingerprint* in raw.file_fingerprint: its size and mtime (ns) when it was hashed.
A file whose size and mtime still equal its fingerprint is taken to hold the same bytes and is
not read again. A file rewritten in place, replaced, re-exported or touched gets a new mtime and
is hashed again, so a changed file under the same name is still detected. Two cases a fingerprint
cannot see are guarded against or left to `--rehash`:

- a rewrite within the mtime's clock tick of the hash ("racy" in git's terms): a fingerprint is
  trusted only once the file's mtime lies RACY_NS before the moment it was taken;
- a tool that sets an old mtime on new bytes of the same size (`touch -r`, `cp -p` of another
  file of equal length): `callcenter ingest --rehash` hashes every file regardless.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.util import sha256_file

# A fingerprint vouches for a file only if the file had not been written for this long when the
# fingerprint was taken (covers 1-2 s mtime granularity, e.g. FAT/SMB mounts).
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class Fingerprint:
    size_bytes: int
    mtime_ns: int
    sha256: str
    checked_ns: int  # wall clock (ns since the epoch) just before the file was stat'ed and hashed

    def vouches_for(self, st: os.stat_result) -> bool:
        return (
            st.st_size == self.size_bytes
            and st.st_mtime_ns == self.mtime_ns
            and st.st_mtime_ns < self.checked_ns - RACY_NS
        )


class Manifest:
    """raw.file_manifest and raw.file_fingerprint in memory for one run (two queries, whatever the
    history), kept up to date as files load; new fingerprints are written by save()."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, trust_fingerprints: bool = True):
        self.trust_fingerprints = trust_fingerprints
        self.hashed = 0  # files read to hash them in this run
        self._loaded: dict[tuple[str, str], tuple[str, str, str]] = {}
        self._rejected: set[tuple[str, str]] = set()
        for file_path, sha, source, fmt, status in con.execute(
            "select file_path, sha256, source, format, status from raw.file_manifest"
        ).fetchall():
            if status == "loaded":
                self._loaded.setdefault((_name(file_path), sha), (file_path, source, fmt))
            elif status == "rejected":
                self._rejected.add((file_path, sha))
        self._fingerprints = {
            path: Fingerprint(size, mtime, sha, checked)
            for path, size, mtime, sha, checked in con.execute(
                "select file_path, size_bytes, mtime_ns, sha256, checked_ns from raw.file_fingerprint"
            ).fetchall()
        }
        self._new: dict[str, Fingerprint] = {}

    def sha256(self, path: Path, source_file: str) -> str:
        """The file's sha256: from its fingerprint when that still vouches for it, else read."""
        known = self._fingerprints.get(source_file)
        checked_ns = time.time_ns()
        st = os.stat(path)
        if self.trust_fingerprints and known is not None and known.vouches_for(st):
            return known.sha256
        sha = sha256_file(path)
        self.hashed += 1
        self._fingerprints[source_file] = self._new[source_file] = Fingerprint(
            st.st_size, st.st_mtime_ns, sha, checked_ns
        )
        return sha

    def loaded_as(self, sha: str, name: str) -> tuple[str, str, str] | None:
        """(file_path, source, format) of a loaded file with this content and name, if any."""
        return self._loaded.get((name, sha))

    def mark_loaded(self, source_file: str, sha: str, source: str, fmt: str) -> None:
        self._loaded.setdefault((_name(source_file), sha), (source_file, source, fmt))

    def rejected_before(self, source_file: str, sha: str) -> bool:
        return (source_file, sha) in self._rejected

    def mark_rejected(self, source_file: str, sha: str) -> None:
        self._rejected.add((source_file, sha))

    def save(self, con: duckdb.DuckDBPyConnection) -> int:
        """Write the fingerprints taken in this run (one per path, replacing older ones)."""
        if not self._new:
            return 0
        paths = list(self._new)
        fps = [self._new[p] for p in paths]
        con.execute("begin transaction")
        try:
            con.execute(
                "delete from raw.file_fingerprint where file_path in (select unnest(?::varchar[]))", [paths]
            )
            con.execute(
                """insert into raw.file_fingerprint
                   select unnest(?::varchar[]), unnest(?::bigint[]), unnest(?::bigint[]),
                          unnest(?::varchar[]), unnest(?::bigint[])""",
                [
                    paths,
                    [f.size_bytes for f in fps],
                    [f.mtime_ns for f in fps],
                    [f.sha256 for f in fps],
                    [f.checked_ns for f in fps],
                ],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        self._new.clear()
        return len(paths)


def _name(file_path: str) -> str:
    return file_path.rsplit("/", 1)[-1]
