"""bench: results schema round trip, phone imports, interleaved timing rows, efficiency maths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mobilegan.bench.core import BenchConfig, run_bench
from mobilegan.bench.machine import CpuInfo, describe_cpu
from mobilegan.bench.results import SCHEMA, Row, fill_efficiency, format_table, import_results, write_results
from mobilegan.bench.roofline import PHONE_CLASSES, roofline_table
from mobilegan.bench.timing import summarize
from mobilegan.checkpoints import save_generator
from mobilegan.cli.main import main
from mobilegan.errors import MobileganError
from mobilegan.models import create_model

APPS = Path(__file__).resolve().parents[1] / "apps"


def test_summary_percentiles() -> None:
    t = summarize([float(v) for v in range(1, 12)], warmup=2)
    assert (t.median_ms, t.p10_ms, t.p90_ms, t.runs) == (6.0, 2.0, 10.0, 11)


def test_peak_formula_is_the_product() -> None:
    cpu = CpuInfo(model="x", cores=4, clock_ghz=3.0, simd="AVX2", fp32_lanes=8, fma_pipes=2, assumptions="")
    assert cpu.peak_gflops(2) == pytest.approx(2 * 3.0 * 8 * 2 * 2)
    assert cpu.peak_gflops(16) == cpu.peak_gflops(4)  # capped at the core count
    assert "= 192.0 GFLOP/s" in cpu.peak_formula(2)
    host = describe_cpu()
    assert host.cores >= 1 and host.fp32_lanes in (4, 8, 16)


def test_efficiency_from_macs_and_latency() -> None:
    row = Row(model="m", runtime="r", precision="fp32", threads=1, size=256, median_ms=10.0, p10_ms=9, p90_ms=11,
              runs=5, macs=1_000_000_000)
    fill_efficiency(row, peak_gflops=400.0)
    assert row.gflops == pytest.approx(200.0)
    assert row.peak_share == pytest.approx(0.5)


def test_roofline_rows_are_labelled_estimates() -> None:
    rows = roofline_table(1_000_000_000)
    assert len(rows) == len(PHONE_CLASSES) and all(r["estimate"] for r in rows)
    first = PHONE_CLASSES[0]
    assert rows[0]["bound_ms"] == pytest.approx(2e9 / (first.peak_gflops * 1e9) * 1000, rel=1e-2)
    assert rows[0]["at_30pct_ms"] > rows[0]["bound_ms"]


@pytest.mark.parametrize("app", ["android", "ios", "web"])
def test_app_example_results_import_and_are_marked(app: str) -> None:
    machine, rows = import_results(APPS / app / "examples" / "bench-result.example.json")
    assert rows and all(r.source == "device" for r in rows)
    assert all(r.extra.get("example") for r in rows), "shipped examples must say they are not measurements"
    assert "EXAMPLE" in format_table(rows) and machine["device"] in format_table(rows)


def test_write_and_import_round_trip(tmp_path: Path) -> None:
    rows = [Row(model="s", runtime="eager-pytorch", precision="fp32", threads=2, size=64, median_ms=3.5, p10_ms=3.0,
                p90_ms=4.0, runs=10, macs=123)]
    write_results(tmp_path / "r.json", {"device": "host: test", "os": "Linux"}, rows)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["schema"] == SCHEMA
    _, back = import_results(tmp_path / "r.json")
    assert back[0].median_ms == 3.5 and back[0].macs == 123


@pytest.mark.parametrize(
    "content,needle",
    [("not json", "not a JSON"), ('{"schema": "other/1", "machine": {}, "rows": []}', "not a mobilegan.bench/1"),
     ('{"schema": "mobilegan.bench/1", "machine": {"device": "x", "os": "y"}, "rows": [{"model": "m"}]}', "lacks")],
)
def test_import_rejects_bad_files(tmp_path: Path, content: str, needle: str) -> None:
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(MobileganError, match=needle):
        import_results(tmp_path / "bad.json")


def test_run_bench_checkpoints_with_teacher(tmp_path: Path) -> None:
    torch.manual_seed(0)
    save_generator(create_model("mobile_w0125"), tmp_path / "student.pt")
    save_generator(create_model("resnet_6blocks", ngf=8), tmp_path / "teacher.pt")
    cfg = BenchConfig(size=32, threads=(1,), runs=3, warmup=1, progress=False)
    rows = run_bench([tmp_path / "student.pt"], cfg, teacher=str(tmp_path / "teacher.pt"))
    assert [r.model for r in rows] == ["student", "teacher:teacher"]
    student, teacher = rows
    assert student.median_ms > 0 and student.p10_ms <= student.median_ms <= student.p90_ms
    assert student.runs == 3 and student.threads == 1
    assert teacher.speedup_vs_teacher == pytest.approx(1.0)
    assert student.speedup_vs_teacher == pytest.approx(teacher.median_ms / student.median_ms, rel=0.02)
    assert student.macs and student.gflops and student.macs < teacher.macs


def test_bench_cli_json_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_generator(create_model("mobile_w0125"), tmp_path / "s.pt")
    code = main(["bench", str(tmp_path / "s.pt"), "--size", "32", "--runs", "2", "--warmup", "0", "--threads", "1",
                 "--json", str(tmp_path / "out.json"), "--no-progress",
                 "--import", str(APPS / "android" / "examples" / "bench-result.example.json")])
    out = capsys.readouterr().out
    assert code == 0 and "roofline ESTIMATES" in out and "GFLOP/s" in out
    doc = json.loads((tmp_path / "out.json").read_text())
    assert {r["source"] for r in doc["rows"]} == {"host", "device"}
    assert main(["bench"]) == 2
    assert main(["bench", str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_device_log_to_results_and_import(tmp_path: Path) -> None:
    from mobilegan.bench.device_log import logs_to_results, parse_runner_logs

    logs = [
        "I 00:00:00.035 executorch:executor_runner.cpp:157] Resetting threadpool with num threads = 4\n"
        "I 00:00:01.200 executorch:executor_runner.cpp:300] Model executed successfully 10 time(s) in 125.0 ms.\n",
        "I 00:00:01.100 executorch:executor_runner.cpp:300] Model executed successfully 10 time(s) in 131.0 ms.\n",
    ]
    assert parse_runner_logs(logs) == [12.5, 13.1]
    doc = logs_to_results(logs, device="Pixel 8a", os_name="Android 15", model="m", precision="int8", threads=4, size=256)
    (tmp_path / "phone.json").write_text(json.dumps(doc))
    machine, rows = import_results(tmp_path / "phone.json")
    assert machine["device"] == "Pixel 8a" and rows[0].median_ms == pytest.approx(12.8)
    with pytest.raises(MobileganError, match="no 'Model executed"):
        parse_runner_logs(["E 00:00 failed to load program"])


def test_shipped_device_example_is_marked() -> None:
    _, rows = import_results(Path(__file__).resolve().parents[1] / "bench" / "device" / "example-output.json")
    assert all(r.extra.get("example") is True for r in rows)
