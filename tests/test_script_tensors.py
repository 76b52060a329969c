"""Reading a TorchScript archive's tensors as data: round trip, and code in the pickle is refused, not run."""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from mobilegan.checkpoints.script_tensors import read_script_tensors
from mobilegan.errors import CheckpointError


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4))
        self.register_buffer("scale", torch.arange(6.0).view(2, 3).t())  # a non-contiguous source

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_round_trip_matches_the_state_dict(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _Tiny().eval()
    path = tmp_path / "tiny.pt"
    with warnings.catch_warnings():  # torch.jit.save is deprecated; it is how such files were written
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(model), str(path))  # our own file; reading it never runs it
    archive = read_script_tensors(path)
    expected = model.state_dict()
    assert set(archive.tensors) == set(expected)
    for name, tensor in expected.items():
        assert torch.equal(archive.tensors[name], tensor), name
    assert archive.classes["body.0"].endswith("Conv2d")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - a pickle that would run a shell command
        return (os.system, (f"touch {self.marker}",))


def test_code_in_the_pickle_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("evil/data.pkl", pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(CheckpointError, match="never code"):
        read_script_tensors(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_bad_files_are_one_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="TorchScript archive"):
        read_script_tensors(path)
