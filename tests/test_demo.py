"""A shortened demo end to end: data -> teacher -> distill -> export -> verify -> bench -> score -> report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.demo.pipeline import SHIPPED_TEACHER, SHIPPED_TEACHER_CARD, STAGES, DemoConfig, run_demo
from mobilegan.demo.photos import DemoDataConfig, build_demo_data
from mobilegan.demo.score import score_generator
from mobilegan.demo.style import stylize, to_uint8


def _shortened(out: Path) -> DemoConfig:
    """Every stage, at the least work that still runs it: a few steps, a two-block student (the export
    stage lowers it to every target, and lowering time grows with the graph), 64 px exports."""
    return DemoConfig(out=out, from_scratch=not SHIPPED_TEACHER.is_file(), teacher_steps=4, distill_steps=6,
                      distill_batch=2, student_blocks=2, export_size=64, bench_runs=2, bench_threads=(1,),
                      progress=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    run_demo(_shortened(out), command="pytest shortened demo")
    return out


@pytest.mark.slow
def test_demo_writes_every_stage_and_report(demo_run: Path) -> None:
    summary = json.loads((demo_run / "demo.json").read_text())
    assert [s["name"] for s in summary["stages"]] == STAGES
    assert all(s["status"] == "done" for s in summary["stages"])
    scores = summary["scores"]
    for key in ("identity_vs_truth", "teacher_vs_truth", "student_vs_truth", "student_vs_teacher"):
        assert scores[key]["psnr_db"] > 0
    card = json.loads((demo_run / "export" / "model.json").read_text())
    targets = {(a["target"], a["precision"]) for a in card["artifacts"]}
    assert {("executorch", "fp32"), ("executorch", "int8"), ("onnx", "fp32")} <= targets
    assert any(t == "coreml" for t, _ in targets)
    assert all(a["parity"] and a["parity"]["psnr_db"] >= a["parity"]["threshold_db"] for a in card["artifacts"]
               if a.get("parity"))
    bench = json.loads((demo_run / "bench.json").read_text())
    assert any(r["model"].startswith("teacher:") for r in bench["rows"])
    html = (demo_run / "report.html").read_text()
    assert "data:image/png;base64," in html and "ground truth" in html
    assert summary["grid"]["columns"][:4] == ["input", "ground truth", "teacher", "student"]
    # Held-out images are scored and shown at 256 px; one whole photo goes through translate.
    from PIL import Image

    with Image.open(demo_run / "grid.png") as grid:
        assert grid.width >= 256 * len(summary["grid"]["columns"])
    show = summary["showcase"]
    assert show["columns"][:3] == ["input", "ground truth", "teacher (checkpoint)"]
    assert any(c.startswith("student (") and c.endswith(".pte)") for c in show["columns"])
    with Image.open(demo_run / show["file"]) as picture:
        assert picture.width >= 2 * show["width"] and picture.height >= 2 * show["height"]
    assert set(show["psnr_db_vs_truth"]) == set(show["columns"][2:])
    assert "tiles" in show["tiling"]["pte"]  # the default student is local: its .pte runs in tiles
    assert ":mod:" not in summary["data"]["style"] and "``" not in summary["data"]["style"]  # plain text
    assert "A whole photo" in html
    assert summary["grid"]["not_shown"] and "Not in the grid" in html  # Core ML cannot run here: said, not hidden
    assert "--n-blocks 2" in summary["commands"][1]  # the equivalent steps say the student was shortened


@pytest.mark.slow
def test_demo_resumes_finished_stages(demo_run: Path) -> None:
    before = json.loads((demo_run / "stages.json").read_text())
    run_demo(_shortened(demo_run), command="pytest rerun")
    after = {r["name"]: r for r in json.loads((demo_run / "stages.json").read_text())}
    for rec in before:
        if rec["name"] != "report":
            assert after[rec["name"]]["seconds"] == rec["seconds"], f"{rec['name']} ran again"


SMALL_DATA = DemoDataConfig(block=64, held_side=64, short_side=128)  # the real layout at a quarter of the scale


def test_demo_data_is_unpaired_and_held_out(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from mobilegan.demo.photos import PHOTOS

    data = build_demo_data(tmp_path / "d", SMALL_DATA)
    a = [np.asarray(Image.open(p)) for p in sorted(data.train_a.iterdir())]
    b = [np.asarray(Image.open(p)) for p in sorted(data.train_b.iterdir())]
    held = [np.asarray(Image.open(p)) for p in sorted(data.test_a.iterdir())]
    truth = [np.asarray(Image.open(p)) for p in sorted(data.test_b_truth.iterdir())]
    # Every photo gives at least one block to each set; both domains are the same training pool,
    # B stylized (the trainer draws them independently, so no pair ever meets).
    assert min(len(a), len(b), len(held)) >= len(PHOTOS)
    assert len(a) == len(b)
    for block_a, block_b in zip(a, b):
        assert np.abs(to_uint8(stylize(block_a)).astype(int) - block_b).max() <= 1
    assert len(held) == len(truth)
    assert all(h.shape == (SMALL_DATA.held_side, SMALL_DATA.held_side, 3) for h in held)
    # No held-out pixels inside any training block: search each held-out image (or its truth) in every block.
    side = SMALL_DATA.held_side
    for blocks, targets, name in ((a, held, "A"), (b, truth, "B")):
        for block in blocks:
            windows = np.lib.stride_tricks.sliding_window_view(block, (side, side, 3))[..., 0, :, :, :]
            for t in targets:
                assert not (windows == t).all(axis=(-3, -2, -1)).any(), f"a held-out image is inside a {name} block"

    first = sorted(data.test_a.iterdir())[0]
    expected = np.clip(np.rint(stylize(np.asarray(Image.open(first))) * 255), 0, 255)
    assert np.abs(truth[0].astype(np.float64) - expected).max() <= 1


def test_demo_data_disjoint_halves_when_asked(tmp_path: Path) -> None:
    import dataclasses

    import numpy as np
    from PIL import Image

    shared = build_demo_data(tmp_path / "shared", SMALL_DATA)
    split = build_demo_data(tmp_path / "split", dataclasses.replace(SMALL_DATA, shared_pool=False))
    n_pool = len(list(shared.train_a.iterdir()))
    a = [np.asarray(Image.open(p)) for p in sorted(split.train_a.iterdir())]
    b = [np.asarray(Image.open(p)) for p in sorted(split.train_b.iterdir())]
    assert len(a) + len(b) == n_pool and abs(len(a) - len(b)) <= 2
    # Same held-out set either way: the scores of the two layouts compare.
    assert sorted(p.read_bytes() for p in shared.test_a.iterdir()) == sorted(p.read_bytes() for p in split.test_a.iterdir())
    stylized_a = [to_uint8(stylize(x)) for x in a]
    assert not any((s == y).all() for s in stylized_a for y in b), "a B block is the stylized copy of an A block"


def test_demo_stereo_twins_are_dealt_together(tmp_path: Path) -> None:
    """motorcycle_left/right show the same scene: a held-out block must not have its twin in training."""
    import numpy as np
    from PIL import Image

    from mobilegan.demo.photos import SAME_SCENE, _blocks, _load

    data = build_demo_data(tmp_path / "d", SMALL_DATA)
    held = [np.asarray(Image.open(p)) for p in sorted(data.test_a.iterdir())]
    for twin, original in SAME_SCENE.items():
        left = _blocks(_load(original, SMALL_DATA.short_side), SMALL_DATA.block)
        right = _blocks(_load(twin, SMALL_DATA.short_side), SMALL_DATA.block)
        held_left = {k for k, blk in enumerate(left) if any((blk == h).all() for h in held)}
        held_right = {k for k, blk in enumerate(right) if any((blk == h).all() for h in held)}
        assert held_left and held_left == held_right


def test_demo_style_is_per_pixel() -> None:
    """The ground truth of a crop must not depend on where the crop was cut (no vignette)."""
    import numpy as np

    img = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    np.testing.assert_allclose(stylize(img)[5:29, 7:31], stylize(img[5:29, 7:31]), atol=1e-6)


@pytest.mark.skipif(not SHIPPED_TEACHER.is_file(), reason="no shipped demo teacher in this checkout")
@pytest.mark.slow
def test_shipped_teacher_card_is_reproducible(tmp_path: Path) -> None:
    """The committed scores are what the shipped file computes, at phone resolution (256 px).

    Issue 14 asks for >= 3 dB over the identity baseline and an SSIM above the identity's; the
    card records the measured values and BENCHMARKS.md says plainly which goal is met. What is
    checked here: the card reproduces, the teacher is one that can see colour (not InstanceNorm),
    and it does better than returning the input unchanged.
    """
    card = json.loads(SHIPPED_TEACHER_CARD.read_text())
    loaded = load_generator_checkpoint(SHIPPED_TEACHER)
    assert loaded.layout == "mobilegan"
    assert SHIPPED_TEACHER.stat().st_size <= 10 * 1024 * 1024
    data = build_demo_data(tmp_path / "d")
    score = score_generator(loaded.model, data, card["size"])
    assert abs(score.psnr_db - card["scores"]["psnr_db"]) < 0.05
    assert abs(score.identity_psnr_db - card["scores"]["identity_psnr_db"]) < 0.01
    assert card["scores"]["gain_db"] == pytest.approx(score.gain_db, abs=0.05)
    assert card["size"] == 256 and score.images >= 10
    assert loaded.config.norm == "none"
    assert score.gain_db > 0, "the shipped teacher must beat the identity baseline"


def test_demo_export_reports_a_failed_int8_program_and_ships_fp32(tmp_path: Path, monkeypatch) -> None:
    """An int8 program below its parity floor is left out and named; other parity failures still stop the demo."""
    from types import SimpleNamespace

    import mobilegan.demo.pipeline as pipeline
    import mobilegan.export.pipeline as export_pipeline
    from mobilegan.export.parity import ParityError

    calls: list[tuple[list[str], str | None]] = []

    def fake_export(student: Path, *, targets: list[str], quantize: str | None, **_: object) -> object:
        calls.append((targets, quantize))
        if quantize == "int8":
            raise ParityError("executorch int8 (s_int8.pte): parity check failed: PSNR 21.2 dB (>= 30)", precision="int8")
        return SimpleNamespace(to_dict=lambda: {"artifacts": [{"target": "executorch", "precision": "fp32"}]})

    monkeypatch.setattr(export_pipeline, "export_model", fake_export)
    cfg = DemoConfig(out=tmp_path, progress=False)
    data = SimpleNamespace(train_a=tmp_path / "A")
    _, result = pipeline._stage_export(cfg, data, tmp_path / "student.pt")
    assert result["artifacts"] == ["executorch fp32"] and "21.2 dB" in result["int8_failed"]
    assert calls[1][1] is None and "all" not in calls[1][0]  # the second pass names targets, so no int8
    assert "21.2 dB" in (tmp_path / pipeline.INT8_FAILURE).read_text()

    def fp32_fails(student: Path, **_: object) -> object:
        raise ParityError("executorch fp32: parity check failed", precision="fp32")

    monkeypatch.setattr(export_pipeline, "export_model", fp32_fails)
    with pytest.raises(ParityError, match="fp32"):
        pipeline._stage_export(cfg, data, tmp_path / "student.pt")
    assert not (tmp_path / pipeline.INT8_FAILURE).exists()  # a stale note from an earlier run is not kept
