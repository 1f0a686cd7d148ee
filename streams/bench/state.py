"""State size per session after a run: the worker's RocksDB files on disk and its tables' changelogs.

Measured on the embedded broker, which keeps every changelog record (it does not compact): the
changelog figures are every table write of the run, an upper bound on what a compacted topic keeps
(about one record per session and table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.kafka.admin import changelog_topics
from streams.kafka.reader import volumes
from streams.settings import Settings

__all__ = ["changelog_figures", "rocksdb_bytes", "state_line", "state_per_session"]


# The files that hold the tables' records: sorted tables, the write-ahead log, blobs. The rest of a
# database folder (its LOG of messages, OPTIONS, MANIFEST) is RocksDB's own, about 37 kB per database
# whatever it holds (measured here), and a worker has one database per table and partition it held.
_DATA_SUFFIXES = {".sst", ".log", ".blob"}


def rocksdb_bytes(data_dir: Path) -> dict[str, int]:
    """Bytes of the files in the worker's table folders (Faust's ``<data folder>/v1/tables``; one per
    process under ``process-i`` with ``--processes N``): the tables' data, and RocksDB's own files."""
    folders = [path for path in data_dir.rglob("tables") if path.is_dir()]
    files = [file for folder in folders for file in folder.rglob("*") if file.is_file()]
    data = sum(file.stat().st_size for file in files if file.suffix in _DATA_SUFFIXES)
    return {
        "databases": sum(1 for folder in folders for path in folder.glob("*.db") if path.is_dir()),
        "data_bytes": data,
        "other_bytes": sum(file.stat().st_size for file in files) - data,
    }


async def changelog_figures(settings: Settings) -> dict[str, dict[str, int]]:
    """Records and key + value bytes of each of the app's changelog topics."""
    found = await volumes(settings, await changelog_topics(settings))
    return {topic: {"records": volume.records, "bytes": volume.bytes} for topic, volume in found.items()}


def state_per_session(sessions: int, rocksdb: dict[str, int], changelogs: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The state figures of a run of ``sessions`` sessions, totals and per session."""
    records = sum(topic["records"] for topic in changelogs.values())
    size = sum(topic["bytes"] for topic in changelogs.values())
    per = max(sessions, 1)
    return {
        "rocksdb": rocksdb,
        "rocksdb_data_bytes_per_session": round(rocksdb["data_bytes"] / per),
        "changelog_records": records,
        "changelog_bytes": size,
        "changelog_records_per_session": round(records / per, 1),
        "changelog_bytes_per_session": round(size / per),
        "changelogs": changelogs,
    }


def state_line(processes: int, sessions: int, state: dict[str, Any]) -> str:
    rocksdb, data_kb = state["rocksdb"], state["rocksdb_data_bytes_per_session"] / 1024
    return (
        f"{processes} process(es), {sessions} sessions: RocksDB data {data_kb:.1f} kB per session on disk "
        f"(+ {rocksdb['other_bytes'] / 1024:.0f} kB of RocksDB's own files for "
        f"{rocksdb['databases']} databases); changelogs {state['changelog_records_per_session']:g} records, "
        f"{state['changelog_bytes_per_session'] / 1024:.1f} kB per session"
    )
