"""Own-format round trip, foreign layouts with exact outputs, and clear errors for everything else."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from helpers_foreign import (
    OfficialResnetGenerator,
    PyTorchGanGenerator,
    randomize_norm_stats,
    with_legacy_instance_stats,
)
from mobilegan.checkpoints import (
    load_discriminator,
    load_generator,
    load_generator_checkpoint,
    save_discriminator,
    save_generator,
)
from mobilegan.errors import CheckpointError
from mobilegan.models import create_model


def _x(size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("name", ["resnet_6blocks", "mobile_w025", "mobile_w025_in"])
@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_own_format_round_trip(tmp_path: Path, name: str, suffix: str) -> None:
    model = create_model(name, ngf=16) if name.startswith("resnet") else create_model(name)
    randomize_norm_stats(model)
    model.eval()
    path = save_generator(model, tmp_path / f"g{suffix}", meta={"trained_from": "unit test"})
    loaded = load_generator_checkpoint(path)
    assert loaded.layout == "mobilegan" and loaded.config == model.config
    assert loaded.meta["trained_from"] == "unit test" and "mobilegan_version" in loaded.meta
    assert not loaded.model.training
    torch.testing.assert_close(loaded.model(_x()), model(_x()), atol=0, rtol=0)


def test_save_leaves_no_temp_files(tmp_path: Path) -> None:
    save_generator(create_model("mobile_w0125"), tmp_path / "g.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pt"]


FOREIGN = {
    "official": lambda: OfficialResnetGenerator(ngf=8, n_blocks=6),
    "official_9blocks": lambda: OfficialResnetGenerator(ngf=12, n_blocks=9),
    "official_dropout": lambda: OfficialResnetGenerator(ngf=8, n_blocks=6, dropout=True),
    "official_batchnorm": lambda: OfficialResnetGenerator(ngf=8, n_blocks=6, batch_norm=True),
    "pytorch_gan": lambda: PyTorchGanGenerator(ngf=8, n_blocks=6),
    "pytorch_gan_9blocks": lambda: PyTorchGanGenerator(ngf=16, n_blocks=9),
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_foreign_layouts_load_exactly(tmp_path: Path, kind: str) -> None:
    torch.manual_seed(1)
    ref = FOREIGN[kind]()
    randomize_norm_stats(ref)
    ref.eval()
    torch.save(ref.state_dict(), tmp_path / "latest_net_G_A.pth")
    loaded = load_generator_checkpoint(tmp_path / "latest_net_G_A.pth")
    assert loaded.layout == ("official" if kind.startswith("official") else "pytorch_gan")
    n_blocks = sum(1 for m in ref.model if hasattr(m, "conv_block") or hasattr(m, "block"))
    assert loaded.config.n_blocks == n_blocks
    assert loaded.config.upsample == ("transpose" if kind.startswith("official") else "nearest_conv")
    assert loaded.config.dropout == (0.5 if kind == "official_dropout" else 0.0)
    assert loaded.config.norm == ("batch_image" if kind == "official_batchnorm" else "instance")
    with torch.no_grad():
        diff = (loaded.model(_x()) - ref(_x())).abs().max().item()
    if kind == "official_batchnorm":  # the official test.py without --eval: each image its own statistics
        assert diff > 1e-2  # so not what the running statistics give
        with torch.no_grad():
            ref.train()
            per_image = torch.cat([ref(x[None]) for x in _x()])
        diff = (loaded.model(_x()) - per_image).abs().max().item()
    assert diff <= 1e-5


def test_official_batchnorm_resnet_with_running_statistics(tmp_path: Path) -> None:
    """batch_stats="running" reproduces test.py --eval; the default makes distill treat the teacher as per-image."""
    torch.manual_seed(1)
    ref = OfficialResnetGenerator(ngf=8, n_blocks=6, batch_norm=True)
    randomize_norm_stats(ref)
    ref.eval()
    torch.save(ref.state_dict(), tmp_path / "latest_net_G_A.pth")
    running = load_generator_checkpoint(tmp_path / "latest_net_G_A.pth", batch_stats="running")
    assert running.config.norm == "batch" and running.config.local
    with torch.no_grad():
        assert (running.model(_x()) - ref(_x())).abs().max().item() <= 1e-5
    image = load_generator_checkpoint(tmp_path / "latest_net_G_A.pth")
    assert image.config.normalises_per_image and not image.config.local


def test_legacy_running_stats_are_ignored(tmp_path: Path) -> None:
    ref = OfficialResnetGenerator(ngf=8, n_blocks=6).eval()
    torch.save(with_legacy_instance_stats(ref), tmp_path / "old.pth")
    model = load_generator(tmp_path / "old.pth")
    with torch.no_grad():
        assert (model(_x()) - ref(_x())).abs().max().item() <= 1e-5


def test_dataparallel_prefix_and_wrapper_dict(tmp_path: Path) -> None:
    ref = PyTorchGanGenerator(ngf=8, n_blocks=3).eval()
    state = {f"module.{k}": v for k, v in ref.state_dict().items()}
    torch.save({"epoch": 3, "state_dict": state}, tmp_path / "wrapped.pth")
    model = load_generator(tmp_path / "wrapped.pth")
    with torch.no_grad():
        assert (model(_x()) - ref(_x())).abs().max().item() <= 1e-5


class _Evil:
    """Unpickling this would create a file: loading must refuse before that happens."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):  # noqa: ANN204
        return (open, (self.target, "w"))


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    files: dict[str, tuple[Path, str]] = {}
    save_discriminator(create_model("patchgan_70", ndf=8), tmp / "D_A.pt")
    files["discriminator"] = (tmp / "D_A.pt", "discriminator checkpoint, not a generator")
    torch.save(create_model("patchgan_70", ndf=8).state_dict(), tmp / "netD.pth")
    files["discriminator_state_dict"] = (tmp / "netD.pth", "PatchGAN discriminator state dict")
    opt = torch.optim.Adam(create_model("mobile_w0125").parameters())
    torch.save(opt.state_dict(), tmp / "optim.pth")
    files["optimizer"] = (tmp / "optim.pth", "optimizer state")
    (tmp / "notes.txt").write_text("hello, not a checkpoint\n")
    files["text"] = (tmp / "notes.txt", "not a readable PyTorch checkpoint")
    save_generator(create_model("mobile_w0125"), tmp / "full.pt")
    data = (tmp / "full.pt").read_bytes()
    (tmp / "truncated.pt").write_bytes(data[: len(data) // 2])
    files["truncated"] = (tmp / "truncated.pt", "truncated")
    (tmp / "empty.pt").write_bytes(b"")
    files["empty"] = (tmp / "empty.pt", "empty file")
    with open(tmp / "random.pkl", "wb") as fh:
        pickle.dump({"a": [1, 2, 3], "b": "text"}, fh)
    files["random_pickle"] = (tmp / "random.pkl", "refused to load")
    torch.save({"a": [1, 2, 3], "b": "text"}, tmp / "plain.pt")
    files["plain_data"] = (tmp / "plain.pt", "not a generator checkpoint")
    files["missing"] = (tmp / "nope.pt", "no such file")
    (tmp / "folder.pt").mkdir()
    files["folder"] = (tmp / "folder.pt", "is a folder")
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, tmp / "other.pth")
    files["unknown_net"] = (tmp / "other.pth", "unknown network")
    return files


def test_bad_files_get_clear_errors(tmp_path: Path) -> None:
    for name, (path, expected) in _bad_files(tmp_path).items():
        with pytest.raises(CheckpointError) as info:
            load_generator(path)
        message = str(info.value)
        assert expected in message, f"{name}: {message}"
        assert "\n" not in message, name
        if name not in ("missing", "folder", "empty", "truncated", "text", "random_pickle"):
            assert "supported" in message or "not a generator" in message, f"{name}: {message}"


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    torch.save({"payload": _Evil(str(target))}, tmp_path / "evil.pt")
    assert not target.exists()
    with pytest.raises(CheckpointError, match="refused to load"):
        load_generator(tmp_path / "evil.pt")
    assert not target.exists()


def test_weight_shape_mismatch_is_clear(tmp_path: Path) -> None:
    model = create_model("mobile_w0125")
    save_generator(model, tmp_path / "g.pt")
    payload = torch.load(tmp_path / "g.pt", weights_only=True)
    payload["config"]["width"] = 0.25
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="weights do not match the config"):
        load_generator(tmp_path / "edited.pt")


def test_discriminator_round_trip(tmp_path: Path) -> None:
    d = create_model("patchgan_70", ndf=8).eval()
    save_discriminator(d, tmp_path / "D.pt")
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(load_discriminator(tmp_path / "D.pt")(x), d(x))
    with pytest.raises(CheckpointError):
        load_discriminator(tmp_path / "nope.pt")
