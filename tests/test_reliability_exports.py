"""Two ``mobilegan export`` processes into the same folder at once.

Each either succeeds or fails with one clear line; afterwards every file in the folder is whole,
``model.json`` lists exactly the artifacts on disk with their true hashes, and ``mobilegan verify``
passes. Nothing temporary is left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import helpers_badinputs as bad
from helpers_train import cli_env
from mobilegan.cli.main import main
from mobilegan.utils.hashing import sha256_file

pytestmark = pytest.mark.slow  # exports: `make test` runs it, `make test-fast` does not


def _export(ckpt: Path, target: str, out: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "mobilegan", "export", str(ckpt), "--target", target, "--size", "32",
           "--out", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())


def _check_folder(out: Path, results: list[tuple[int, str]]) -> dict:
    for rc, err in results:
        assert "Traceback" not in err, err[-2000:]
        if rc != 0:
            assert len([x for x in err.splitlines() if ": error:" in x]) == 1, err[-2000:]
    card = json.loads((out / "model.json").read_text())
    listed = {a["file"] for a in card["artifacts"]}
    for a in card["artifacts"]:
        path = out / a["file"]
        assert path.exists(), a["file"]
        if "sha256" in a:
            assert sha256_file(path) == a["sha256"], f"{a['file']}: model.json describes another file"
    on_disk = {p.name for p in out.iterdir() if p.suffix in (".pte", ".onnx", ".mlpackage")}
    assert on_disk <= listed, f"artifacts not in model.json: {on_disk - listed}"
    assert bad.leftovers(out) == [], bad.leftovers(out)
    assert main(["verify", str(out)]) == 0  # every listed artifact still reproduces its self-test outputs
    return card


@pytest.mark.slow
def test_two_exports_of_different_targets_into_one_folder(tmp_path: Path) -> None:
    ckpt = bad.tiny_generator(tmp_path)
    out = tmp_path / "export"
    procs = [_export(ckpt, "executorch", out), _export(ckpt, "onnx", out)]
    results = [(p.wait(timeout=400), p.communicate()[1]) for p in procs]
    card = _check_folder(out, results)
    succeeded = sum(rc == 0 for rc, _ in results)
    assert succeeded >= 1
    targets = {a["target"] for a in card["artifacts"]}
    # every export that reported success is in the card: none silently dropped by the other
    assert len(targets) == succeeded, (targets, [rc for rc, _ in results])
