"""``mobilegan bench --sweep --fidelity``: the latency-fidelity front on tiny data (no timing asserts)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from helpers_distill import single_thread  # noqa: F401  (autouse fixture)
from helpers_export import one_int8_range_policy
from mobilegan.bench.front import Candidate, FrontPoint, format_front, mark_front, parse_candidate
from mobilegan.checkpoints import save_generator
from mobilegan.errors import ConfigError, MobileganError
from mobilegan.utils.hashing import sha256_file
from mobilegan.models import GeneratorConfig, build_model

pytestmark = pytest.mark.slow  # distils, exports and benches candidates: `make test` runs it, `make test-fast` does not

CANDIDATES = "mobile_w0125:n_blocks=1,mobile_s2d4_w025:n_blocks=1"


def _point(label: str, ms: float, db: float) -> FrontPoint:
    return FrontPoint(label=label, preset=label, overrides={}, precision="fp32", params=1, macs=1, macs_compat=1,
                      psnr_db=db, psnr_db_min=db, median_ms=ms)


def test_front_is_the_pareto_set() -> None:
    points = mark_front([_point("fast", 10, 20), _point("good", 30, 25), _point("dominated", 20, 19),
                         _point("tie_slower", 12, 20), _point("best_both", 10, 20)])
    assert {p.label for p in points if p.on_front} == {"fast", "good", "best_both"}
    table = format_front(points)
    assert "**good**" in table and "**dominated**" not in table


def test_candidate_specs() -> None:
    cand = parse_candidate("mobile_s2d2_w025:n_blocks=4:width=0.5:global_skip=true")
    assert cand == Candidate("mobile_s2d2_w025", (("n_blocks", 4), ("width", 0.5), ("global_skip", True)))
    assert cand.label == "mobile_s2d2_w025:n_blocks=4:width=0.5:global_skip=True"
    assert ":" not in cand.folder and "=" not in cand.folder
    for bad in ("", ":n_blocks=4", "mobile_w025:n_blocks"):
        with pytest.raises(ConfigError):
            parse_candidate(bad)


@pytest.fixture(scope="module")
def front_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    from mobilegan.cli.main import main
    from mobilegan.demo.photos import DemoDataConfig, build_demo_data

    root = tmp_path_factory.mktemp("front")
    build_demo_data(root / "work" / "demo-data", DemoDataConfig(block=64, held_side=64, short_side=128))
    torch.manual_seed(0)
    teacher = save_generator(build_model(GeneratorConfig(ngf=8, n_blocks=1, norm="none", global_skip=True)),
                             root / "teacher.pt")
    start = os.getcwd()
    os.chdir(root)  # distill records runs/latest.json relative to the working directory
    patch = pytest.MonkeyPatch()
    one_int8_range_policy(patch)  # the front scores the int8 program it gets; which range policy wins is not its test
    try:
        torch.set_num_threads(1)
        argv = ["bench", "--sweep", "--fidelity", "--teacher", str(teacher), "--candidates", CANDIDATES,
                "--steps", "2", "--size", "32", "--threads", "1", "--runs", "2", "--warmup", "0", "--work", "work",
                "--json", "front.json", "--plot", "front.png", "--no-progress"]
        assert main(argv) == 0
        doc = json.loads(Path("front.json").read_text())
    finally:
        patch.undo()
        os.chdir(start)
    return root, doc, " ".join(argv)


def test_every_candidate_and_precision_is_measured(front_run) -> None:
    root, doc, _ = front_run
    assert doc["schema"] == "mobilegan.front/1" and doc["settings"]["steps"] == 2
    assert doc["teacher_config"]["global_skip"] is True and doc["teacher_eager_ms"] > 0
    assert doc["paper_teacher"] == "resnet_9blocks" and doc["paper_teacher_eager_ms"] > 0
    points = doc["points"]
    assert sorted((p["label"], p["precision"]) for p in points) == sorted(
        (c, prec) for c in CANDIDATES.split(",") for prec in ("fp32", "int8"))
    for p in points:
        assert p["segments"] == 1 and p["median_ms"] > 0 and p["speedup_vs_teacher"] > 0
        assert p["speedup_vs_paper_teacher"] > 0  # resnet_9blocks timed in the same run
        assert p["psnr_db"] >= p["psnr_db_min"] and p["pte_bytes"] > 0
    assert any(p["on_front"] for p in points)
    assert (root / "front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the students inherited the teacher's global skip
    from mobilegan.checkpoints import load_generator_checkpoint

    for folder in ("mobile_w0125_n_blocks1", "mobile_s2d4_w025_n_blocks1"):
        assert load_generator_checkpoint(root / "work" / folder / "student.pt").config.global_skip


def test_int8_fidelity_is_scored_on_the_int8_program(front_run) -> None:
    _, doc, _ = front_run
    by_key = {(p["label"], p["precision"]): p for p in doc["points"]}
    for label in CANDIDATES.split(","):
        fp32, int8 = by_key[(label, "fp32")], by_key[(label, "int8")]
        assert int8["psnr_db"] != fp32["psnr_db"]  # a different program, a different score
        assert int8["pte_bytes"] < fp32["pte_bytes"]


def test_finished_candidates_are_reused(front_run, monkeypatch: pytest.MonkeyPatch) -> None:
    from mobilegan.bench.front import FrontConfig, _distilled
    from mobilegan.demo.photos import build_demo_data

    root, _, _ = front_run
    import mobilegan.distill.run as run_module

    monkeypatch.setattr(run_module, "distill", lambda cfg: pytest.fail("a finished candidate was distilled again"))
    cfg = FrontConfig(teacher=root / "teacher.pt", work_dir=root / "work", steps=2, size=32)
    data = build_demo_data(root / "work" / "demo-data")
    cand = parse_candidate("mobile_w0125:n_blocks=1")
    path, seconds = _distilled(cfg, cand, data, sha256_file(root / "teacher.pt"))
    assert path == root / "work" / "mobile_w0125_n_blocks1" / "student.pt" and seconds is None
    # a different teacher (the demo teacher is replaced in place) must not reuse or resume the run
    with pytest.raises(MobileganError, match="another teacher"):
        _distilled(cfg, cand, data, "0" * 64)
