"""Untrusted files: nothing a user downloads can run code, and every bad file is one clear error.

- A source scan (AST, not grep, so comments and docstrings do not count) proves every
  ``torch.load`` passes ``weights_only=True`` and nothing unpickles user files directly.
- A crafted pickle whose unpickling would create a file is refused by every command that
  takes a checkpoint, and the file is never created.
- ``.safetensors`` generators work through the CLI and give the same pixels as ``.pt``.
- Image decoding: decompression bombs, truncated and corrupt files are per-file errors.
"""

from __future__ import annotations

import ast
import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import helpers_badinputs as bad
from mobilegan.checkpoints import load_generator
from mobilegan.cli.main import main
from mobilegan.data.decode import ImageDecodeError, load_image_rgb
from mobilegan.errors import CheckpointError

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("mobilegan", "export", "bench", "apps")


# --- source scan ---------------------------------------------------------------------------------

def _dotted(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _keyword_true(call: ast.Call, name: str) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)


def unsafe_loads(source: str, filename: str = "<src>") -> list[str]:
    """Calls in ``source`` that could unpickle untrusted bytes as code."""
    found: list[str] = []
    tree = ast.parse(source, filename)
    # `from torch import load` / `from pickle import load as x` style aliases
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("torch", "pickle", "dill", "joblib", "cloudpickle"):
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        name = aliases.get(name, name)
        where = f"{filename}:{node.lineno}: {name}"
        if name in ("torch.load", "torch.serialization.load"):
            if not _keyword_true(node, "weights_only"):
                found.append(where + " without weights_only=True")
        elif name.split(".")[0] in ("pickle", "dill", "joblib", "cloudpickle", "marshal", "shelve") and \
                name.rsplit(".", 1)[-1] in ("load", "loads", "Unpickler", "open"):
            found.append(where)
        elif name in ("torch.jit.load", "torch.package.PackageImporter"):
            found.append(where)
        elif name.endswith("np.load") or name.endswith("numpy.load"):
            if _keyword_true(node, "allow_pickle"):
                found.append(where + " with allow_pickle=True")
    return found


def test_scanner_flags_unsafe_calls() -> None:
    snippet = (
        "import torch, pickle\nfrom torch import load as tl\n"
        "torch.load(p)\ntorch.load(p, weights_only=False)\ntl(p)\npickle.load(f)\n"
        "torch.load(p, weights_only=True)\nnp.load(p, allow_pickle=True)\n"
    )
    hits = unsafe_loads(snippet)
    assert len(hits) == 5, hits  # everything but the weights_only=True call
    assert not any(":7:" in h for h in hits)


def test_no_unsafe_deserialisation_in_the_source_tree() -> None:
    files = [p for d in SOURCE_DIRS for p in (REPO / d).rglob("*.py") if ".venv" not in p.parts
             and "node_modules" not in p.parts]
    assert len(files) > 50  # the scan really covers the package
    problems = [hit for p in files for hit in unsafe_loads(p.read_text(encoding="utf-8"), str(p.relative_to(REPO)))]
    assert problems == [], "\n".join(problems)
    # and the one reader exists and uses weights_only=True
    reader = (REPO / "mobilegan/checkpoints/safe_load.py").read_text()
    assert "weights_only=True" in reader


# --- crafted pickles through every command that takes a checkpoint --------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("untrusted")
    return {"root": root, "gen": bad.tiny_generator(root), "gen_st": bad.tiny_generator(root, safetensors=True),
            "images": bad.image_folder(root / "images", 2), "rgb": bad.rgb_png(root)}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


COMMANDS_TAKING_CHECKPOINTS = {
    "profile": "profile {ckpt} --size 32",
    "distill --teacher": "distill --teacher {ckpt} --data-a {images} --size 32 --steps 1 --batch-size 1 --holdout 0 "
                         "--no-progress --out {out}",
    "export": "export {ckpt} --target executorch --size 32 --out {out}",
    "translate --model": "translate {rgb} --model {ckpt} --out {out}",
    "bench": "bench {ckpt} --size 32 --runs 1 --warmup 0 --threads 1",
    "bench --teacher": "bench {gen} --teacher {ckpt} --size 32 --runs 1 --warmup 0 --threads 1",
    "eval --teacher": "eval --teacher {ckpt} --student {gen} --data {images} --size 32 --out {out}",
    "eval --student": "eval --teacher {gen} --student {ckpt} --data {images} --size 32 --out {out}",
}


@pytest.mark.parametrize("flavour", ["torch_zip", "plain_pickle"])
@pytest.mark.parametrize("command", list(COMMANDS_TAKING_CHECKPOINTS))
def test_crafted_pickle_is_refused_and_creates_nothing(command: str, flavour: str, files: dict[str, Path],
                                                       tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "created_by_unpickling.txt"
    make = bad.evil_pickle if flavour == "torch_zip" else bad.evil_plain_pickle
    evil = make(tmp_path, target)
    out = tmp_path / "out"
    line = COMMANDS_TAKING_CHECKPOINTS[command]
    argv = [p.format(ckpt=evil, out=out, **files) for p in shlex.split(line)]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert not target.exists(), "unpickling ran code"
    error_lines = [x for x in err.splitlines() if ": error:" in x]
    assert len(error_lines) == 1 and "refused to load" in error_lines[0] and str(evil) in error_lines[0], err
    assert "Traceback" not in err and "Warning" not in err
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


def test_library_refuses_crafted_pickle_inside_a_mobilegan_payload(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    payload = {"format": "mobilegan", "format_version": 1, "kind": "generator", "config": {},
               "state_dict": {}, "meta": {"note": bad.FileCreatingPayload(str(target))}}
    torch.save(payload, tmp_path / "g.pt")
    with pytest.raises(CheckpointError, match="refused to load"):
        load_generator(tmp_path / "g.pt")
    assert not target.exists()


# --- safetensors ----------------------------------------------------------------------------------

def test_safetensors_generator_gives_the_same_pixels_as_pt_through_the_cli(files: dict[str, Path], tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    outs = {}
    for key in ("gen", "gen_st"):
        out = tmp_path / key
        assert main(["translate", str(files["rgb"]), "--model", str(files[key]), "--out", str(out)]) == 0
        outs[key] = np.asarray(Image.open(out / files["rgb"].name))
    capsys.readouterr()
    assert outs["gen"].shape == (36, bad.SIDE, 3)
    assert np.array_equal(outs["gen"], outs["gen_st"])
    assert main(["profile", str(files["gen_st"]), "--size", "32", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["params"] == sum(p.numel() for p in load_generator(files["gen"]).parameters())


def test_corrupt_safetensors_is_one_clear_error(tmp_path: Path, files: dict[str, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = files["gen_st"].read_bytes()
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(data[: len(data) // 2])
    header_junk = tmp_path / "junk.safetensors"
    header_junk.write_bytes(b"\xff" * 64)
    for path in (broken, header_junk):
        assert main(["profile", str(path), "--size", "32"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(path) in err[0] and "safetensors" in err[0], err


# --- images ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("maker, reason", [
    (bad.bomb_png, "decompression bomb"),
    (bad.truncated_png, "truncated"),
    (bad.corrupt_jpeg, "corrupt"),
    (bad.text_as_image, "not an image"),
])
def test_bad_image_is_a_per_file_error_naming_the_file(maker, reason: str, tmp_path: Path) -> None:  # noqa: ANN001
    path = maker(tmp_path)
    with pytest.raises(ImageDecodeError) as info:
        load_image_rgb(path)
    assert info.value.path == path and reason in str(info.value) and "\n" not in str(info.value)


def test_bomb_is_refused_from_its_header_without_allocating(tmp_path: Path) -> None:
    import resource

    path = bad.bomb_png(tmp_path)
    assert path.stat().st_size < 1000  # claims 10 G pixels in under a KB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageDecodeError, match="too many pixels"):
        load_image_rgb(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, f"peak memory grew by {grown_mb:.0f} MB"


@pytest.mark.parametrize("maker", [bad.rgba_png, bad.grayscale_png, bad.png_16bit, bad.cmyk_jpeg, bad.one_pixel_png])
def test_convertible_images_decode_to_8bit_rgb_with_their_content(maker, tmp_path: Path) -> None:  # noqa: ANN001
    path = maker(tmp_path)
    img = load_image_rgb(path)
    assert img.mode == "RGB"
    with Image.open(path) as raw:
        assert img.size == raw.size
    arr = np.asarray(img).astype(int)
    if maker is not bad.one_pixel_png:
        assert arr.std() > 5  # the content survived the conversion (not a flat image)
    if maker in (bad.grayscale_png, bad.png_16bit):
        assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    if maker is bad.png_16bit:  # top byte of the 16-bit samples (value * 257 >> 8 == value)
        gray = np.asarray(Image.open(bad.grayscale_png(tmp_path)))
        assert np.array_equal(arr[..., 0], gray)
