"""Ingestion: landing files -> raw layer (docs/data-contracts.md). A plain library, no Dagster imports.

ensure_raw_schema(warehouse_path)                      create schema raw and every raw table (empty)
ingest_paths(warehouse_path, paths, hmac_key, ...)     load given files / folders
ingest_landing(warehouse_path, landing_dir, key, ...)  load every landing file not yet in the manifest
"""

from ingestion.errors import IngestError
from ingestion.loader import FORMATS, LANDING_SOURCES, FileResult, ingest_landing, ingest_paths, landing_files
from ingestion.schema import ensure_raw_schema

__all__ = [
    "FORMATS",
    "LANDING_SOURCES",
    "FileResult",
    "IngestError",
    "ensure_raw_schema",
    "ingest_landing",
    "ingest_paths",
    "landing_files",
]
