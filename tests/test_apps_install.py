"""install_to_app: the right artifacts land where each app project looks for them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers_apps import write_fake_artifacts
from mobilegan.errors import MobileganError
from mobilegan.export.app_install import APP_TARGETS, app_model_dir, default_apps_root, install_to_app

REPO = Path(__file__).resolve().parent.parent
APPS = REPO / "apps"

ALL_TARGETS = {
    "executorch": ["m_fp32.pte", "m_int8.pte"],
    "onnx": ["m.onnx"],
    "coreml": ["m.mlpackage/"],
}


@pytest.fixture
def apps_root(tmp_path: Path) -> Path:
    root = tmp_path / "apps"
    for app in APP_TARGETS:
        (root / app).mkdir(parents=True)
    return root


def _names(paths: list[Path], base: Path) -> list[str]:
    return [p.relative_to(base).as_posix() for p in paths]


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        ("ios", ["m.mlpackage", "model.json"]),
        ("android", ["m_fp32.pte", "m_int8.pte", "model.json"]),
        ("web", ["m.onnx", "model.json"]),
    ],
)
def test_each_app_gets_its_artifacts_card_and_vectors(tmp_path: Path, apps_root: Path, app: str, expected: list[str]) -> None:
    export = write_fake_artifacts(tmp_path / "export", ALL_TARGETS)
    installed = install_to_app(export, app, apps_root=apps_root)
    dest = app_model_dir(app, apps_root=apps_root)
    vectors = ["selftest/input_0.f32", "selftest/expected_0.f32"]
    assert _names(installed, dest) == expected + vectors
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == sorted(
        [n for n in expected if not n.endswith(".mlpackage")] + vectors + ["m.mlpackage/Manifest.json"] * (app == "ios")
    )
    assert json.loads((dest / "model.json").read_text()) == json.loads((export / "model.json").read_text())
    assert (dest / "m.mlpackage" / "Data").is_dir() == (app == "ios")


def test_android_also_gets_bundled_programs(tmp_path: Path, apps_root: Path) -> None:
    export = write_fake_artifacts(tmp_path / "export", {"executorch": ["m_fp32.pte"]})
    card = json.loads((export / "model.json").read_text())
    card["artifacts"][0]["bundled"] = {"file": "m_fp32.bpte", "test_cases": 2}
    (export / "model.json").write_text(json.dumps(card))
    (export / "m_fp32.bpte").write_bytes(b"bundle")
    (export / "extra.bpte").write_bytes(b"loose bundle")
    installed = install_to_app(export, "android", apps_root=apps_root)
    assert {p.name for p in installed} >= {"m_fp32.pte", "m_fp32.bpte", "extra.bpte"}
    (export / "m_fp32.bpte").unlink()
    with pytest.raises(MobileganError, match="m_fp32.bpte is listed in model.json but missing"):
        install_to_app(export, "android", apps_root=apps_root)


def test_ios_gets_only_the_package_it_loads(tmp_path: Path, apps_root: Path) -> None:
    """The iOS app runs one Core ML package: the uncompressed one, not its palettized sibling."""
    export = write_fake_artifacts(tmp_path / "export", {"coreml": ["m_fp16_palettize6.mlpackage/", "m_fp16.mlpackage/"]})
    _edit_card(export, lambda c: [a.update(coreml={"weight_compression": "palettize6" if "palettize" in a["file"] else None})
                                  for a in c["artifacts"]])
    installed = install_to_app(export, "ios", apps_root=apps_root)
    dest = app_model_dir("ios", apps_root=apps_root)
    assert [p.name for p in installed if p.suffix == ".mlpackage"] == ["m_fp16.mlpackage"]
    assert sorted(p.name for p in dest.iterdir()) == ["m_fp16.mlpackage", "model.json", "selftest"]


def test_apps_folder_from_the_environment(tmp_path: Path, apps_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-editable install has no apps/ beside it: MOBILEGAN_APPS_DIR names a checkout's."""
    monkeypatch.setenv("MOBILEGAN_APPS_DIR", str(apps_root))
    assert default_apps_root() == apps_root
    export = write_fake_artifacts(tmp_path / "export", {"onnx": ["m.onnx"]})
    installed = install_to_app(export, "web")
    assert installed[0] == apps_root / "web" / "model" / "m.onnx"
    monkeypatch.setenv("MOBILEGAN_APPS_DIR", str(tmp_path / "missing"))
    with pytest.raises(MobileganError, match="MOBILEGAN_APPS_DIR"):
        install_to_app(export, "web")


def test_reinstall_replaces_the_previous_model(tmp_path: Path, apps_root: Path) -> None:
    first = write_fake_artifacts(tmp_path / "a", {"onnx": ["old.onnx"]})
    second = write_fake_artifacts(tmp_path / "b", {"onnx": ["new.onnx"]}, selftest=False)
    install_to_app(first, "web", apps_root=apps_root)
    install_to_app(second, "web", apps_root=apps_root)
    dest = app_model_dir("web", apps_root=apps_root)
    assert sorted(p.name for p in dest.rglob("*")) == ["model.json", "new.onnx"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "model.json").unlink(), "model.json not found"),
        (lambda d: (d / "model.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "model.json").write_text("[]"), "no 'artifacts' list"),
        (lambda d: (d / "m.onnx").unlink(), "m.onnx is listed in model.json but missing"),
        (lambda d: (d / "selftest" / "expected_0.f32").unlink(), "self-test vector"),
        (lambda d: _edit_card(d, lambda c: c["artifacts"][0].update(file="../../etc/passwd")), "outside the export folder"),
        (lambda d: _edit_card(d, lambda c: c["artifacts"][0].update(target="executorch")), "no ONNX Runtime Web"),
        (lambda d: _edit_card(d, lambda c: c["selftest"].update(expected=[])), "equally long"),
    ],
)
def test_bad_export_folders_fail_cleanly_and_keep_the_old_install(tmp_path: Path, apps_root: Path, mutate, message: str) -> None:
    good = write_fake_artifacts(tmp_path / "good", {"onnx": ["m.onnx"]})
    install_to_app(good, "web", apps_root=apps_root)
    dest = app_model_dir("web", apps_root=apps_root)
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))
    bad = write_fake_artifacts(tmp_path / "bad", {"onnx": ["m.onnx"]})
    mutate(bad)
    with pytest.raises(MobileganError, match=message):
        install_to_app(bad, "web", apps_root=apps_root)
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before
    assert not [p for p in dest.parent.iterdir() if p.name.endswith(".tmp")]


def _edit_card(folder: Path, change) -> None:
    card = json.loads((folder / "model.json").read_text())
    change(card)
    (folder / "model.json").write_text(json.dumps(card))


def test_unknown_app_and_missing_folders(tmp_path: Path, apps_root: Path) -> None:
    export = write_fake_artifacts(tmp_path / "export", ALL_TARGETS)
    with pytest.raises(MobileganError, match="unknown app 'windows'"):
        install_to_app(export, "windows", apps_root=apps_root)
    with pytest.raises(MobileganError, match="does not exist"):
        install_to_app(tmp_path / "nowhere", "web", apps_root=apps_root)
    with pytest.raises(MobileganError, match="app folder"):
        install_to_app(export, "web", apps_root=tmp_path / "no-apps")


# --- the app projects look exactly where install_to_app writes -------------------------------


def test_default_apps_root_is_this_repository() -> None:
    assert default_apps_root() == APPS
    for app in APP_TARGETS:
        assert (APPS / app).is_dir()


def test_android_reads_the_asset_folder_install_writes() -> None:
    dest = app_model_dir("android", apps_root=APPS)
    assert dest.parent == APPS / "android" / "app" / "src" / "main" / "assets"
    source = (APPS / "android" / "app" / "src" / "main" / "java" / "dev" / "mobilegan" / "sample" / "ModelFiles.kt").read_text()
    asset_dir = re.search(r'ASSET_DIR = "([^"]+)"', source).group(1)
    card = re.search(r'CARD = "([^"]+)"', source).group(1)
    assert (asset_dir, card) == (dest.name, "model.json")


def test_ios_project_bundles_the_model_folder() -> None:
    yaml = pytest.importorskip("yaml")
    dest = app_model_dir("ios", apps_root=APPS).relative_to(APPS / "ios").as_posix()
    spec = yaml.safe_load((APPS / "ios" / "project.yml").read_text())
    sources = spec["targets"]["MobileGAN"]["sources"]
    paths = [s["path"] for s in sources]
    assert any(dest.startswith(p + "/") for p in paths), "model folder not inside a source folder"
    folder_refs = [s for s in sources if s.get("type") == "folder"]
    assert [s["path"] for s in folder_refs] == [f"{dest}/selftest"]  # keeps model.json's relative paths
    swift = (APPS / "ios" / "MobileGAN" / "AppModel.swift").read_text()
    assert 'appendingPathComponent("model.json")' in swift


def test_web_page_and_server_read_the_folder_install_writes() -> None:
    dest = app_model_dir("web", apps_root=APPS)
    main_js = (APPS / "web" / "src" / "main.js").read_text()
    server = (APPS / "web" / "server.mjs").read_text()
    assert f"params.get('model') ?? '{dest.name}/'" in main_js
    assert f"path.join(APP_ROOT, '{dest.name}')" in server
    assert "new URL('model.json', baseUrl)" in (APPS / "web" / "src" / "model-card.js").read_text()


def test_android_gets_litert_files_beside_executorch_or_alone(tmp_path: Path, apps_root: Path) -> None:
    both = write_fake_artifacts(tmp_path / "both", {"executorch": ["m_fp32.pte"], "litert": ["m_fp32.tflite"],
                                                    "onnx": ["m.onnx"]})
    installed = {p.name for p in install_to_app(both, "android", apps_root=apps_root)}
    assert {"m_fp32.pte", "m_fp32.tflite"} <= installed and "m.onnx" not in installed
    alone = write_fake_artifacts(tmp_path / "alone", {"litert": ["m_int8.tflite"]})
    assert "m_int8.tflite" in {p.name for p in install_to_app(alone, "android", apps_root=apps_root)}
    with pytest.raises(MobileganError, match="LiteRT"):
        install_to_app(write_fake_artifacts(tmp_path / "web", {"onnx": ["m.onnx"]}), "android", apps_root=apps_root)
