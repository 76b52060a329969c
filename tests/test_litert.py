"""LiteRT end to end at small sizes: export (fp32 + int8) with parity in ai_edge_litert,
model.json, one XNNPACK partition for every preset and the paper's teacher, verify, translate,
bench, a missing install, and a failed parity that leaves the old files alone.

Each conversion costs seconds on 2 cores: the default student's export runs once per module.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from helpers_distill import single_thread  # noqa: F401  (autouse fixture)
from helpers_models import trained_context

pytest.importorskip("litert_torch")
pytest.importorskip("ai_edge_litert")

from mobilegan.checkpoints import save_generator  # noqa: E402
from mobilegan.errors import MobileganError  # noqa: E402
from mobilegan.export import litert as litert_target  # noqa: E402
from mobilegan.export.litert_delegation import delegation_report  # noqa: E402
from mobilegan.export.litert_runtime import run_tflite  # noqa: E402
from mobilegan.export.model_card import MODEL_CARD, validate_card  # noqa: E402
from mobilegan.export.parity import ParityError, compare, eager_outputs  # noqa: E402
from mobilegan.export.pipeline import export_model  # noqa: E402
from mobilegan.export.verify import verify_export  # noqa: E402
from mobilegan.export.wrap import wrap_for_export  # noqa: E402
from mobilegan.models import DEFAULT_STUDENT, create_model  # noqa: E402

pytestmark = pytest.mark.slow  # LiteRT conversions: `make test` runs it, `make test-fast` does not

SIZE = 32


@pytest.fixture(scope="module")
def litert_export(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("litert")
    torch.manual_seed(0)
    ckpt = save_generator(create_model(DEFAULT_STUDENT), root / "student.pt")
    out = root / "out"
    export_model(ckpt, targets=["litert"], out_dir=out, size=SIZE, quantize="int8", calib_images=4)
    return out


def _card(out: Path) -> dict:
    return json.loads((out / MODEL_CARD).read_text())


def _artifact(card: dict, precision: str) -> dict:
    return next(a for a in card["artifacts"] if a["target"] == "litert" and a["precision"] == precision)


def test_files_and_model_card(litert_export: Path) -> None:
    card = _card(litert_export)
    validate_card(card)
    assert {a["file"] for a in card["artifacts"]} == {f"{DEFAULT_STUDENT}_fp32.tflite", f"{DEFAULT_STUDENT}_int8.tflite"}
    for precision, dtype in (("fp32", "float32"), ("int8", "int8")):
        art = _artifact(card, precision)
        assert (litert_export / art["file"]).stat().st_size == art["bytes"]
        for io in (art["input"], art["output"]):
            assert io["layout"] == "NHWC" and io["shape"] == [1, SIZE, SIZE, 3] and io["dtype"] == dtype
            assert ("quantization" in io) == (precision == "int8")
        assert art["delegation"]["backend"] == "XNNPACK"
        assert art["delegation"]["segments"] == 1 and art["delegation"]["undelegated_ops"] == {}
        assert art["delegation"]["delegated_ops"] == art["delegation"]["total_ops"] > 10
        assert art["parity"]["psnr_db"] >= {"fp32": 60, "int8": 30}[precision]
    assert _artifact(card, "int8")["bytes"] < _artifact(card, "fp32")["bytes"] / 2


def test_int8_io_quantization_round_trips_pixels(litert_export: Path) -> None:
    q = _artifact(_card(litert_export), "int8")["input"]["quantization"]
    # Exactly the image range [0, 1], whatever the calibration photos held: byte k is the int8 value k - 128.
    assert q["zero_point"] == -128 and q["scale"] == pytest.approx(1 / 255, rel=1e-5)


def test_verify_reruns_and_catches_a_changed_file(litert_export: Path, tmp_path: Path) -> None:
    report = verify_export(litert_export)
    assert report.ok and {c.status for c in report.checks} == {"ok"}
    copy = tmp_path / "copy"
    shutil.copytree(litert_export, copy)
    path = copy / f"{DEFAULT_STUDENT}_fp32.tflite"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    bad = verify_export(copy)
    assert not bad.ok and "sha256" in bad.failed[0].detail


def test_translate_with_a_tflite_matches_the_checkpoint(litert_export: Path) -> None:
    from mobilegan.inference.runners import open_runner
    from mobilegan.inference.tiling import TileConfig

    ckpt = litert_export.parent / "student.pt"
    x = torch.rand(1, 3, SIZE, SIZE) * 2 - 1  # one tile: what the file computes, no tiling seams
    tile = TileConfig()
    with torch.no_grad():
        want = open_runner(ckpt)(x, tile)
        got = open_runner(litert_export / f"{DEFAULT_STUDENT}_fp32.tflite")(x, tile)
    assert got.shape == want.shape == x.shape
    assert float((got - want).abs().max()) < 1e-4


def test_bench_times_litert_beside_eager(litert_export: Path) -> None:
    from mobilegan.bench.core import BenchConfig, run_bench

    rows = run_bench([litert_export, litert_export.parent / "student.pt"],
                     BenchConfig(size=SIZE, threads=(1,), runs=2, warmup=1, progress=False))
    runtimes = {(r.runtime, r.precision) for r in rows}
    assert {("litert-xnnpack", "fp32"), ("litert-xnnpack", "int8"), ("eager-pytorch", "fp32")} <= runtimes
    assert all(r.median_ms > 0 and r.threads == 1 for r in rows)
    assert {r.extra.get("segments") for r in rows if r.runtime == "litert-xnnpack"} == {1}


def test_failed_parity_leaves_the_old_files(litert_export: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "out"
    shutil.copytree(litert_export, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    class Shifted(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x) + 0.05

    monkeypatch.setattr(litert_target, "wrap_for_export", lambda g: Shifted(wrap_for_export(g)))
    with pytest.raises(ParityError, match="parity check failed"):
        export_model(litert_export.parent / "student.pt", targets=["litert"], out_dir=folder, size=SIZE)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_missing_install_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from mobilegan.export.targets import resolve_targets

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "litert_torch" else real(name, *a))
    with pytest.raises(MobileganError, match=r"pip install 'mobilegan\[litert\]'"):
        resolve_targets(["litert"])
    assert "litert" not in [t.name for t in resolve_targets(["all"])]


def _convert(model: torch.nn.Module, path: Path, size: int = 32) -> Path:
    litert_target.convert(litert_target.channels_last(litert_target.prepare_module(model)),
                          torch.rand(1, size, size, 3), path, quantized=False)
    return path


@pytest.mark.slow
def test_paper_teacher_is_one_partition_with_parity(tmp_path: Path) -> None:
    torch.manual_seed(1)
    # The paper's layout (ConvTranspose2d k3 s2 p1 op1, reflection pads, InstanceNorm), narrow and short.
    teacher = create_model("resnet_9blocks", ngf=8, n_blocks=2).eval()
    path = _convert(teacher, tmp_path / "teacher.tflite")
    report = delegation_report(path)
    assert report.fully_delegated, report.summary()
    x = torch.rand(2, 3, 32, 32)
    assert compare(run_tflite(path, x), eager_outputs(wrap_for_export(teacher), x), precision="fp32").passed


@pytest.mark.slow
def test_the_count_catches_an_op_left_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the reflection-pad rewrite the teacher's MIRROR_PADs stay outside XNNPACK."""
    import mobilegan.export.litert_rewrite as rw

    original = rw._replacement
    monkeypatch.setattr(rw, "_replacement", lambda parent, name, m: None if isinstance(m, torch.nn.ReflectionPad2d)
                        else original(parent, name, m))
    torch.manual_seed(1)
    report = delegation_report(_convert(create_model("resnet_6blocks", ngf=8, n_blocks=1), tmp_path / "t.tflite"))
    assert report.undelegated_ops.get("MIRROR_PAD", 0) >= 2 and report.partitions > 1


# One preset per structure (the default is in the module fixture): width variants of the same
# layout (mobile_w0125/w050/w100, mobile_s2d2_w050, mobile_s2d4_w050) convert to the same op types
# (checked once by hand at 64 px, all one partition, 145-161 dB; BENCHMARKS.md).
STUDENTS = ["mobile_w025", "mobile_s2d2_w025", "mobile_s2d4_w025_in", "mobile_s2d4_w025_ctx", "mobile_s2d4_w025_ctxh",
            "mobile_s2d4_w025_ctx64", "mobile_w025_in"]


@pytest.mark.slow
@pytest.mark.parametrize("name", STUDENTS)
def test_student_presets_are_one_partition_with_parity(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = trained_context(create_model(name, n_blocks=1).eval(), 32)  # the context branch and its clamp in play
    path = _convert(model, tmp_path / f"{name}.tflite")
    report = delegation_report(path)
    assert report.fully_delegated, f"{name}: {report.summary()}"
    x = torch.rand(2, 3, 32, 32)
    result = compare(run_tflite(path, x), eager_outputs(wrap_for_export(model), x), precision="fp32")
    assert result.passed, f"{name}: {result.summary()}"


def test_a_file_that_is_not_tflite_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"not a flatbuffer" * 8)
    with pytest.raises(MobileganError, match="not a loadable LiteRT model"):
        run_tflite(bad, torch.rand(1, 3, 8, 8))



def test_the_presets_left_out_differ_only_in_width() -> None:
    import dataclasses

    from mobilegan.models import list_models
    from mobilegan.models.registry import get_config

    covered = [get_config(n) for n in [*STUDENTS, DEFAULT_STUDENT]]
    for name in list_models("generator"):
        if name.startswith("mobile_") and name not in [*STUDENTS, DEFAULT_STUDENT]:
            cfg = get_config(name)
            assert any(dataclasses.replace(cfg, width=c.width) == c for c in covered), f"{name}: add it to STUDENTS"


def test_verify_without_the_runtime_skips_in_one_line(litert_export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ai_edge_litert" else real(name, *a))
    report = verify_export(litert_export)
    assert report.ok and {c.status for c in report.checks} == {"skipped"}
    assert all("mobilegan[litert]" in c.detail for c in report.checks)
    with pytest.raises(MobileganError, match=r"mobilegan\[litert\]"):
        run_tflite(litert_export / f"{DEFAULT_STUDENT}_fp32.tflite", torch.rand(1, 3, SIZE, SIZE))


def test_int8_reuses_the_range_policy_executorch_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    from mobilegan.export import int8_ranges

    seen: list[str] = []
    real = int8_ranges.calibrate
    monkeypatch.setattr(int8_ranges, "calibrate", lambda g, c, policy, flavor: seen.append(policy.name) or real(g, c, policy, flavor))
    module = litert_target.prepare_module(create_model(DEFAULT_STUDENT, n_blocks=1).eval())
    calib = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    name = int8_ranges.POLICIES[-1].name
    litert_target.quantize_int8(module, calib, policy=name)
    assert seen == [name]  # one calibration, with the policy given
    seen.clear()
    litert_target.quantize_int8(module, calib)
    assert seen == [p.name for p in int8_ranges.POLICIES]  # alone, it sweeps them all
