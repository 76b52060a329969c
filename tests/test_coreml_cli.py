"""`mobilegan export --target coreml / executorch-coreml` through the CLI, and the .pte checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

ct = pytest.importorskip("coremltools")

from mobilegan.checkpoints import save_generator  # noqa: E402
from mobilegan.cli.main import main  # noqa: E402
from mobilegan.export.coreml import CoreMLOptions  # noqa: E402
from mobilegan.export.executorch_coreml import ExecuTorchCoreMLError, check_pte, export_executorch_coreml  # noqa: E402
from mobilegan.models import create_model  # noqa: E402

pytestmark = pytest.mark.slow  # Core ML exports: `make test` runs it, `make test-fast` does not


@pytest.fixture()
def student(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_generator(create_model("mobile_w0125", n_blocks=2), tmp_path / "student.pt")


def test_cli_export_coreml_writes_valid_package_and_card(student: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["export", str(student), "--target", "coreml", "--out", str(out), "--size", "32"]) == 0
    card = json.loads((out / "model.json").read_text())
    (art,) = [a for a in card["artifacts"] if a["target"] == "coreml"]
    assert art["precision"] == "fp16" and art["input"]["layout"] == "image" and art["output"]["range"] == [0, 255]
    assert art["parity"]["engine"] == "mil-reference" and art["parity"]["psnr_db"] >= 40
    ct.models.MLModel(str(out / art["file"]), skip_model_load=True)
    assert main(["verify", str(out)]) == 0


def test_cli_bad_option_is_one_line_and_writes_nothing(student: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["export", str(student), "--target", "coreml", "--out", str(out), "--size", "32",
                 "--palettize", "6", "--min-ios", "15"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "min-ios" in err[0]
    assert not list(out.glob("*.mlpackage"))


def test_executorch_coreml_lowering_and_file_checks(tmp_path: Path) -> None:
    torch.manual_seed(0)
    lowered = export_executorch_coreml(create_model("mobile_w0125", n_blocks=1), tmp_path / "m.pte", size=(32, 32),
                                       options=CoreMLOptions(precision="fp16"))
    data = lowered.path.read_bytes()
    assert check_pte(data) == {"CoreMLBackend": lowered.delegation["segments"]}
    assert not lowered.delegation["undelegated_ops"]
    with pytest.raises(ExecuTorchCoreMLError):
        check_pte(data[:4] + b"XX" + data[6:])
