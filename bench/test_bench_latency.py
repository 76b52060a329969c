"""pytest-benchmark suite: the same measurements as ``mobilegan bench`` (``make bench``).

Not part of ``make test``. Compare runs with ``--benchmark-compare``:

    make bench                                   # saves .benchmarks/...
    .venv/bin/python -m pytest bench --import-mode=importlib --benchmark-only --benchmark-compare

Sizes and threads come from the environment: MOBILEGAN_BENCH_SIZE (default 256),
MOBILEGAN_BENCH_THREADS (default 2).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mobilegan.bench.runtimes import eager_call, executorch_call, onnx_call, set_executorch_threads
from mobilegan.checkpoints import save_generator
from mobilegan.models import DEFAULT_STUDENT, create_model

SIZE = int(os.environ.get("MOBILEGAN_BENCH_SIZE", "256"))
THREADS = int(os.environ.get("MOBILEGAN_BENCH_THREADS", "2"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from mobilegan.export.pipeline import export_model

    root = tmp_path_factory.mktemp("bench")
    torch.manual_seed(0)
    ckpt = save_generator(create_model(DEFAULT_STUDENT).eval(), root / "student.pt")
    card = export_model(ckpt, targets=["executorch", "onnx"], out_dir=root / "export", size=SIZE, quantize="int8")
    files = {f"{a['target']}-{a['precision']}": root / "export" / a["file"] for a in card.to_dict()["artifacts"]}
    set_executorch_threads(THREADS)
    return files


@pytest.mark.parametrize("name", ["resnet_9blocks", DEFAULT_STUDENT])
def test_eager(benchmark, name: str) -> None:  # noqa: ANN001 - pytest-benchmark fixture
    model = create_model(name).eval()
    run = eager_call(model, (SIZE, SIZE), THREADS)
    benchmark.group = f"{SIZE}px, {THREADS} threads"
    benchmark.pedantic(run, rounds=5 if name.startswith("resnet") else 30, warmup_rounds=1)


@pytest.mark.parametrize("kind", ["executorch-fp32", "executorch-int8", "onnx-fp32"])
def test_exported_student(benchmark, exported: dict[str, Path], kind: str) -> None:  # noqa: ANN001
    path = exported[kind]
    shape = [1, 3, SIZE, SIZE]
    run = onnx_call(path, shape, THREADS) if kind.startswith("onnx") else executorch_call(path, shape)
    benchmark.group = f"{SIZE}px, {THREADS} threads"
    benchmark.pedantic(run, rounds=30, warmup_rounds=3)
