"""The plain parts of the benchmarks: the CPU they name, per-process CPU and memory from samples, the state
per session, the pipeline's table rows, and a worker of N processes' ports (no broker, no worker)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from streams.bench import pipeline
from streams.bench.output import cpu_from_cpuinfo, cpu_line
from streams.bench.pipeline import HEADER, row
from streams.bench.state import rocksdb_bytes, state_line, state_per_session
from streams.bench.usage import Sample, UsageTally
from streams.child_process import free_ports
from streams.cli.registry import build_parser
from streams.stack.processes import WorkerProcess

# Two logical CPUs of a Sapphire Rapids box, as Linux lists them (flags shortened).
X86 = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_vnni avx_vnni amx_bf16 amx_tile amx_int8 avx512_bf16

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_vnni avx_vnni amx_bf16 amx_tile amx_int8 avx512_bf16
"""
# An Arm server (Graviton 3): features, no model name.
ARM = """processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes crc32 atomics fphp asimdhp asimddp sve i8mm bf16
CPU implementer\t: 0x41
"""


def test_the_model_and_the_inference_relevant_sets_are_read_from_cpuinfo():
    model, flags = cpu_from_cpuinfo(X86)
    assert model == "Intel(R) Xeon(R) Platinum 8480+"
    assert flags == ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile"]
    assert cpu_from_cpuinfo(ARM) == (None, ["asimddp", "i8mm", "sve"])
    assert cpu_from_cpuinfo("") == (None, [])


def test_the_cpu_line_names_the_model_its_sets_and_cores():
    figures = {"cpu_model": "AMD EPYC", "cpu_flags": ["avx2", "avx512f"], "cpus": 2}
    assert cpu_line(figures) == "CPU: AMD EPYC (avx2, avx512f), 2 cores"
    assert cpu_line({**figures, "cpu_flags": []}).startswith("CPU: AMD EPYC (none of avx2, avx512f, ")
    assert cpu_line({**figures, "cpu_flags": None}) == "CPU: AMD EPYC (instruction sets not known), 2 cores"


MB = 2**20


def test_each_worker_process_counts_from_the_first_sample_and_the_supervisor_only_in_the_totals():
    tally = UsageTally()
    supervisor, first, second = 10, 11, 12
    tally.add(
        {supervisor: Sample(1.0, 30 * MB), first: Sample(20.0, 500 * MB), second: Sample(18.0, 480 * MB)}, {11, 12}
    )
    tally.add(
        {supervisor: Sample(1.5, 30 * MB), first: Sample(30.0, 700 * MB), second: Sample(23.0, 600 * MB)}, {11, 12}
    )
    tally.add(
        {supervisor: Sample(2.0, 30 * MB), first: Sample(40.0, 650 * MB), second: Sample(28.0, 690 * MB)}, {11, 12}
    )
    figures = tally.figures(wall_s=20.0)
    assert figures["per_process"] == [
        {"pid": first, "cpu_cores": 1.0, "peak_rss_mb": 700.0},
        {"pid": second, "cpu_cores": 0.5, "peak_rss_mb": 690.0},
    ]
    assert figures["cpu_cores_per_process_max"] == 1.0
    assert figures["peak_rss_mb_per_process_max"] == 700.0
    assert figures["worker_cpu_cores"] == 1.55  # (20 + 10 + 1) / 20
    assert figures["worker_peak_rss_mb"] == 1370.0  # the largest sum at one sample, not the sum of peaks
    assert figures["other_processes"] == [{"pid": supervisor, "cpu_cores": 0.05, "peak_rss_mb": 30.0}]


def test_a_restarted_child_counts_from_its_start_and_a_gone_one_keeps_its_last_sample():
    tally = UsageTally()
    tally.add({1: Sample(5.0, MB), 2: Sample(100.0, 200 * MB)}, {2})
    tally.add({1: Sample(5.0, MB), 2: Sample(110.0, 200 * MB)}, {2})
    tally.add({1: Sample(5.0, MB), 3: Sample(4.0, 100 * MB)}, {3})  # 2 died, 3 took its place
    figures = tally.figures(wall_s=10.0)
    assert [(p["pid"], p["cpu_cores"]) for p in figures["per_process"]] == [(2, 1.0), (3, 0.4)]
    assert figures["worker_cpu_cores"] == 1.4
    assert UsageTally().figures(wall_s=0.0)["worker_cpu_cores"] == 0.0


def test_one_process_is_its_own_worker():
    tally = UsageTally()
    tally.add({7: Sample(1.0, 900 * MB)}, {7})
    tally.add({7: Sample(2.0, 950 * MB)}, {7})
    figures = tally.figures(wall_s=2.0)
    assert figures["per_process"] == [{"pid": 7, "cpu_cores": 0.5, "peak_rss_mb": 950.0}]
    assert figures["worker_peak_rss_mb"] == figures["peak_rss_mb_per_process_max"] == 950.0


def test_rocksdb_bytes_are_the_files_of_every_processes_table_folders(tmp_path: Path):
    for index, size in ((0, 1000), (1, 500)):
        db = tmp_path / f"process-{index}" / "v1" / "tables" / "sessions-3.db"
        db.mkdir(parents=True)
        (db / "000009.sst").write_bytes(b"x" * size)
        (db / "000010.log").write_bytes(b"x" * 10)  # the write-ahead log: data too
        (db / "LOG").write_bytes(b"x" * 300)  # RocksDB's messages, OPTIONS: its own
        (db / "OPTIONS-000007").write_bytes(b"x" * 70)
    (tmp_path / "process-0" / "v1" / "other.txt").write_bytes(b"x" * 4000)  # not a table
    assert rocksdb_bytes(tmp_path) == {"databases": 2, "data_bytes": 1520, "other_bytes": 740}
    assert rocksdb_bytes(tmp_path / "missing") == {"databases": 0, "data_bytes": 0, "other_bytes": 0}


def test_state_per_session_divides_the_totals_by_the_sessions():
    changelogs = {
        "integrity-sessions-changelog": {"records": 120, "bytes": 600_000},
        "integrity-behaviour-changelog": {"records": 120, "bytes": 60_000},
    }
    rocksdb = {"databases": 72, "data_bytes": 61_440, "other_bytes": 2_662_400}
    state = state_per_session(6, rocksdb, changelogs)
    assert state["rocksdb_data_bytes_per_session"] == 10_240
    assert (state["changelog_records"], state["changelog_bytes"]) == (240, 660_000)
    assert (state["changelog_records_per_session"], state["changelog_bytes_per_session"]) == (40.0, 110_000)
    assert state_line(2, 6, state) == (
        "2 process(es), 6 sessions: RocksDB data 10.0 kB per session on disk (+ 2600 kB of RocksDB's own files "
        "for 72 databases); changelogs 40 records, 107.4 kB per session"
    )
    empty = {"databases": 0, "data_bytes": 0, "other_bytes": 0}
    assert state_per_session(0, empty, {})["changelog_bytes_per_session"] == 0


def test_a_pipeline_row_has_a_cell_for_each_column():
    run = {"sessions": 6, "fps": 1.0, "seconds": 30.0, "processes": 2, "drain_s": 60.0}
    figures = {
        "run": run,
        "frames_sent": 180,
        "frames_per_s": 6.0,
        "latency_ms": {"p50": 50.0, "p95": 90.0, "p99": 120.0, "max": 130.0, "n": 180},
        "lag_at_end": 0,
        "dead_letters": 0,
        "worker_cpu_cores": 0.6,
        "cpu_cores_per_process_max": 0.3,
        "worker_peak_rss_mb": 1800.0,
        "peak_rss_mb_per_process_max": 900.0,
    }
    cells = row(figures)
    assert len(cells) == len(HEADER)
    assert dict(zip(HEADER, cells, strict=True))["processes"] == 2
    assert row({**figures, "run": {**run, "fps": 0.0}})[2] == "max"


def test_free_ports_are_consecutive_and_free():
    first = free_ports(3)
    for port in range(first, first + 3):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_worker_of_n_processes_asks_the_supervisor_for_n_and_waits_on_each_port(tmp_path: Path):
    worker = WorkerProcess({"INTEGRITY_PROCESSES": "0"}, 7000, tmp_path / "data", tmp_path / "log", processes=3)
    assert worker.env["INTEGRITY_PROCESSES"] == "3"
    assert worker.web_ports == [7000, 7001, 7002]
    single = WorkerProcess({"INTEGRITY_PROCESSES": "0"}, 7000, tmp_path / "data", tmp_path / "log")
    assert (single.env["INTEGRITY_PROCESSES"], single.web_ports) == ("1", [7000])
    with pytest.raises(ValueError, match="processes=0"):
        WorkerProcess({}, 7000, tmp_path / "data", tmp_path / "log", processes=0)


def test_readiness_is_asked_where_the_caller_sees_the_views(tmp_path: Path, monkeypatch):
    # A worker in a network namespace is seen at its namespace's address, not at 127.0.0.1.
    worker = WorkerProcess({}, 7000, tmp_path / "data", tmp_path / "log", processes=2)
    worker.url = "http://10.201.0.2:7000"
    asked: list[str | None] = []

    def health(url: str | None = None) -> dict[str, bool]:
        asked.append(url)
        return {"ready": True}

    monkeypatch.setattr(worker, "health", health)
    assert worker.ready()
    assert asked == ["http://10.201.0.2:7000", "http://10.201.0.2:7001"]


def test_bench_pipeline_takes_several_process_counts():
    parse = build_parser().parse_args
    assert parse(["bench", "pipeline", "--processes", "1", "2"]).processes == [1, 2]
    assert parse(["bench", "pipeline"]).processes == [1]
    with pytest.raises(SystemExit):
        parse(["bench", "pipeline", "--processes", "0"])


def _fake_run(run: pipeline.PipelineRun) -> dict:
    """A run whose p95 stays under 1 s up to 4 sessions per process."""
    state = state_per_session(run.sessions, {"databases": 72, "data_bytes": 100, "other_bytes": 0}, {})
    return {
        "run": {"sessions": run.sessions, "fps": run.fps, "processes": run.processes},
        "frames_sent": run.sessions,
        "frames_per_s": float(run.sessions),
        "latency_ms": {"p50": 1.0, "p95": 500.0 if run.sessions <= 4 * run.processes else 2000.0, "p99": 1.0},
        "lag_at_end": 0,
        "dead_letters": 0,
        "worker_cpu_cores": 0.5,
        "cpu_cores_per_process_max": 0.5,
        "worker_peak_rss_mb": 200.0,
        "peak_rss_mb_per_process_max": 200.0,
        "state": {**state, "standby_replicas": 1},
    }


def test_find_max_searches_each_process_count_and_prints_one_table(monkeypatch, capsys, tmp_path: Path):
    monkeypatch.setattr(pipeline, "run_pipeline", _fake_run)
    out = tmp_path / "pipeline.json"
    assert pipeline.main(1, 1.0, 10.0, True, 1000.0, out, processes=[1, 2]) == 0
    printed = capsys.readouterr()
    assert printed.out.count("\npipeline (") == 1
    assert "  1 process(es): 4\n  2 process(es): 8\n" in printed.out
    assert "INTEGRITY_STANDBY_REPLICAS=1" in printed.out
    report = json.loads(out.read_text())
    assert report["find_max"]["largest"] == [
        {"processes": 1, "largest_sessions": 4},
        {"processes": 2, "largest_sessions": 8},
    ]
    assert {run["run"]["processes"] for run in report["pipeline"]} == {1, 2}
    assert report["machine"]["cpu_model"]
