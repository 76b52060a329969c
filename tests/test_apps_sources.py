"""What can be checked here of apps that build only in Xcode / Android Studio / a browser:
syntax of every source file, well-formed project files, the model.json contract, the bench
result schema, and the BundledProgram field numbers the Android reader relies on."""

from __future__ import annotations

import configparser
import importlib.metadata
import json
import plistlib
import re
import shutil
import subprocess
import tomllib
import xml.dom.minidom
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
APPS = REPO / "apps"
ANDROID = APPS / "android"
IOS = APPS / "ios"
WEB = APPS / "web"
SKIP_DIRS = {"node_modules", "build", ".gradle", "model", "Model"}


def app_files(*patterns: str) -> list[Path]:
    found = {p for pattern in patterns for p in APPS.rglob(pattern)}
    return sorted(p for p in found if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(APPS).parts))


# --- syntax -----------------------------------------------------------------------------------


def _parser(language: str):
    ts = pytest.importorskip("tree_sitter")
    grammar = pytest.importorskip(f"tree_sitter_{language}")
    return ts.Parser(ts.Language(grammar.language()))


def syntax_errors(parser, source: bytes) -> list[str]:
    """Line:column and text of every ERROR or MISSING node."""
    errors: list[str] = []
    stack = [parser.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            errors.append(f"{row + 1}:{col + 1} {source[node.start_byte:node.end_byte][:60]!r}")
        stack.extend(node.children)
    return errors


SWIFT = app_files("*.swift")
KOTLIN = app_files("*.kt", "*.kts")


def test_app_sources_exist() -> None:
    assert len(SWIFT) >= 8 and len(KOTLIN) >= 10
    assert {p.name for p in KOTLIN} >= {"settings.gradle.kts", "build.gradle.kts", "MainActivity.kt"}


@pytest.mark.parametrize("path", SWIFT, ids=lambda p: p.name)
def test_swift_parses(path: Path) -> None:
    assert syntax_errors(_parser("swift"), path.read_bytes()) == []


@pytest.mark.parametrize("path", KOTLIN, ids=lambda p: p.name)
def test_kotlin_parses(path: Path) -> None:
    assert syntax_errors(_parser("kotlin"), path.read_bytes()) == []


def test_syntax_check_catches_broken_code() -> None:
    assert syntax_errors(_parser("kotlin"), b"class A {\n    fun f( {\n}\n")
    assert syntax_errors(_parser("swift"), b"struct A {\n    func f( -> Int {\n}\n")


def test_web_modules_parse_in_node() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node (run `make web-deps`)")
    files = app_files("*.js", "*.mjs")
    assert any(p.name == "main.js" for p in files)
    for path in files:
        proc = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{path}: {proc.stderr}"


# --- project files ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", app_files("*.xml"), ids=lambda p: p.name)
def test_xml_is_well_formed(path: Path) -> None:
    xml.dom.minidom.parse(str(path))


def test_android_manifest_declares_what_the_code_uses() -> None:
    doc = xml.dom.minidom.parse(str(ANDROID / "app" / "src" / "main" / "AndroidManifest.xml"))
    perms = {e.getAttribute("android:name") for e in doc.getElementsByTagName("uses-permission")}
    assert "android.permission.CAMERA" in perms
    activities = {e.getAttribute("android:name") for e in doc.getElementsByTagName("activity")}
    assert activities == {".MainActivity"}
    provider = doc.getElementsByTagName("provider")[0].getAttribute("android:authorities")
    main = (ANDROID / "app" / "src" / "main" / "java" / "dev" / "mobilegan" / "sample" / "MainActivity.kt").read_text()
    assert provider == "${applicationId}.files" and '"$packageName.files"' in main


def test_version_catalog_matches_the_exporter() -> None:
    catalog = tomllib.loads((ANDROID / "gradle" / "libs.versions.toml").read_text())
    assert catalog["versions"]["executorch"] == importlib.metadata.version("executorch")
    assert catalog["libraries"]["executorch-android"]["module"] == "org.pytorch:executorch-android"
    gradle = (ANDROID / "app" / "build.gradle.kts").read_text()
    assert re.search(r"minSdk = (\d+)", gradle).group(1) == "26"
    # every library the app build uses is declared in the catalog
    used = set(re.findall(r"[iI]mplementation\(libs\.([\w.]+)\)", gradle))  # implementation + testImplementation
    declared = {name.replace("-", ".") for name in catalog["libraries"]}
    assert used and used <= declared
    kotlin_app = (ANDROID / "gradle" / "libs.versions.toml").read_text()
    assert f'executorch = "{importlib.metadata.version("executorch")}"' in kotlin_app
    assert f'EXECUTORCH_VERSION = "{catalog["versions"]["executorch"]}"' in (
        ANDROID / "app" / "src" / "main" / "java" / "dev" / "mobilegan" / "sample" / "Benchmark.kt").read_text()


def test_gradle_wrapper_properties() -> None:
    parser = configparser.ConfigParser()
    parser.read_string("[w]\n" + (ANDROID / "gradle" / "wrapper" / "gradle-wrapper.properties").read_text())
    url = parser["w"]["distributionUrl"].replace("\\:", ":")
    assert re.fullmatch(r"https://services\.gradle\.org/distributions/gradle-8\.\d+(\.\d+)?-bin\.zip", url)


def test_ios_plist_and_project() -> None:
    yaml = pytest.importorskip("yaml")
    info = plistlib.loads((IOS / "MobileGAN" / "Info.plist").read_bytes())
    assert info["NSCameraUsageDescription"]
    project = yaml.safe_load((IOS / "project.yml").read_text())
    assert project["options"]["deploymentTarget"]["iOS"] == "16.0"
    target = project["targets"]["MobileGAN"]
    assert target["settings"]["base"]["INFOPLIST_FILE"] == "MobileGAN/Info.plist"
    assert (IOS / target["settings"]["base"]["INFOPLIST_FILE"]).is_file()


@pytest.mark.parametrize("path", app_files("*.json"), ids=lambda p: str(p.relative_to(APPS)))
def test_json_is_well_formed(path: Path) -> None:
    json.loads(path.read_text())


# --- bench result schema ----------------------------------------------------------------------


def _bench_schema() -> dict[str, Any]:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((APPS / "bench-result.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.mark.parametrize("app", ["android", "ios", "web"])
def test_example_bench_results_validate(app: str) -> None:
    import jsonschema

    schema = _bench_schema()
    example = json.loads((APPS / app / "examples" / "bench-result.example.json").read_text())
    jsonschema.validate(example, schema)
    assert all(row["example"] is True for row in example["rows"])  # never mistaken for a measurement


def test_bench_schema_rejects_incomplete_rows() -> None:
    import jsonschema

    schema = _bench_schema()
    example = json.loads((APPS / "web" / "examples" / "bench-result.example.json").read_text())
    for key in ("median_ms", "runtime", "source"):
        broken = json.loads(json.dumps(example))
        del broken["rows"][0][key]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    broken = json.loads(json.dumps(example))
    broken["rows"][0]["precision"] = "fp64"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_apps_write_every_required_row_key() -> None:
    """The row keys the schema requires appear in each app's benchmark writer."""
    required = _bench_schema()["$defs"]["row"]["required"] + ["schema", "machine", "rows", "device", "os"]
    writers = {
        "android": ANDROID / "app" / "src" / "main" / "java" / "dev" / "mobilegan" / "sample" / "Benchmark.kt",
        "ios": IOS / "MobileGAN" / "Benchmark.swift",
        "web": WEB / "src" / "bench.js",
    }
    for app, path in writers.items():
        text = path.read_text()
        missing = [k for k in required if not re.search(rf"""["']?\b{k}\b["']?\s*[:,)]""", text)]
        assert missing == [], f"{app} benchmark writer lacks {missing}"


# --- model.json contract: what the apps read is what the exporter writes -----------------------


def exporter_card_keys(tmp_path: Path) -> set[str]:
    """Every key of a model.json built with the exporter's own model-card code."""
    import torch

    model_card = pytest.importorskip("mobilegan.export.model_card")
    selftest = pytest.importorskip("mobilegan.export.selftest")
    io = model_card.io_spec("image", [1, 3, 8, 8])
    try:
        artifact = model_card.make_artifact(
            target="onnx", file="m.onnx", precision="fp32", sha256="0" * 64, size_bytes=1,
            input_spec=io, output_spec=io, exporter={"torch": torch.__version__}, delegation={}, parity={})
        int8_io = model_card.io_spec("args_0", [1, 8, 8, 3], layout="NHWC", dtype="int8", quantization=(1 / 255, -128))
        litert = model_card.make_artifact(  # LiteRT int8: integer I/O with its scale and zero point
            target="litert", file="m_int8.tflite", precision="int8", sha256="0" * 64, size_bytes=1,
            input_spec=int8_io, output_spec=int8_io, exporter={"torch": torch.__version__}, delegation={}, parity={})
        section = selftest.write_selftest(tmp_path, torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
        card = model_card.ModelCard(name="m", source={"checkpoint": "c", "sha256": "0"}, config={}, params=1, macs=1,
                                    macs_compat=1, size=(8, 8), artifacts=(artifact, litert), selftest=section).to_dict()
    except TypeError as exc:  # the exporter's API moved: this test must follow it
        pytest.fail(f"mobilegan.export.model_card API changed, update exporter_card_keys: {exc}")
    keys: set[str] = set()

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            keys.update(obj)
            for value in obj.values():
                walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(card)
    return keys


def kotlin_card_keys(source: str) -> set[str]:
    """Keys read with org.json getters (the Android app reads model.json only in ModelCard.kt)."""
    return set(re.findall(r"\b(?:get|opt)(?:String|Int|Long|Double|Boolean|JSONObject|JSONArray)\(\"(\w+)\"", source))


def swift_card_keys(source: str) -> set[str]:
    """JSON keys of the Decodable model in ModelCard.swift: property names, renamed by CodingKeys."""
    renames = dict(re.findall(r'case (\w+) = "(\w+)"', source))
    properties = set(re.findall(r"^ {4}let (\w+):", source, flags=re.MULTILINE))  # stored properties, not locals
    return {renames.get(name, name) for name in properties}


def js_card_keys(source: str) -> set[str]:
    """Properties read from the raw card objects in model-card.js / selftest.js."""
    return set(re.findall(r"\b(?:card|artifact|spec|selftest|a)\??\.([a-z_]+)\b", source))


def test_key_extractors_see_a_wrong_key() -> None:
    assert kotlin_card_keys('root.getJSONArray("artefacts")') == {"artefacts"}
    assert swift_card_keys('struct A: Decodable {\n    let minPsnr: Int\n    enum CodingKeys: String, CodingKey {\n'
                           '        case minPsnr = "min_psnr"\n    }\n}\n') == {"min_psnr"}
    assert js_card_keys("const t = spec.min_psnr?.[p]; card.artifact_list;") == {"min_psnr", "artifact_list"}


def test_apps_read_only_keys_the_exporter_writes(tmp_path: Path) -> None:
    written = exporter_card_keys(tmp_path)
    android = ANDROID / "app" / "src" / "main" / "java" / "dev" / "mobilegan" / "sample"
    readers = {
        "android": kotlin_card_keys((android / "ModelCard.kt").read_text()),
        "ios": swift_card_keys((IOS / "MobileGAN" / "ModelCard.swift").read_text()),
        "web": js_card_keys((WEB / "src" / "model-card.js").read_text() + (WEB / "src" / "selftest.js").read_text()),
    }
    for app, keys in readers.items():
        assert len(keys) >= 12, f"{app}: extractor found too few keys: {sorted(keys)}"
        assert keys - written == set(), f"{app} reads keys the exporter never writes: {sorted(keys - written)}"
    # the Android app parses model.json nowhere else
    parsers = [p.name for p in android.glob("*.kt") if "JSONObject(text)" in p.read_text()]
    assert parsers == ["ModelCard.kt"]


# --- Android BundledProgram reader vs executorch's schema -------------------------------------


def _fbs(name: str) -> str:
    import executorch

    root = Path(next(iter(executorch.__path__)))
    found = sorted(root.rglob(name))
    if not found:
        pytest.skip(f"{name} not in the installed executorch")
    return found[0].read_text()


def _fbs_fields(schema: str, table: str) -> list[str]:
    """Field names of `table`, in declaration order, a union field expanding to <name>_type, <name>."""
    body = re.search(rf"\btable {table} \{{(.*?)\}}", schema, flags=re.DOTALL).group(1)
    unions = set(re.findall(r"\bunion (\w+)", schema))
    fields: list[str] = []
    for line in body.splitlines():
        m = re.match(r"\s*(\w+)\s*:\s*\[?([\w.]+)", line.split("//")[0])
        if m:
            name, kind = m.groups()
            fields += [f"{name}_type", name] if kind in unions else [name]
    return fields


def test_bundled_program_reader_matches_executorch_schema() -> None:
    schema = _fbs("bundled_program_schema.fbs")
    scalar = _fbs("scalar_type.fbs")
    kotlin = (ANDROID / "app" / "src" / "main" / "java" / "dev" / "mobilegan" / "sample" / "BundledProgram.kt").read_text()
    const = {k: v for k, v in re.findall(r'const val (\w+) = "?(\w+)"?', kotlin)}
    expected = {
        ("BundledProgram", "program"): "FIELD_PROGRAM",
        ("BundledProgram", "method_test_suites"): "FIELD_METHOD_TEST_SUITES",
        ("BundledMethodTestSuite", "method_name"): "FIELD_SUITE_METHOD_NAME",
        ("BundledMethodTestSuite", "test_cases"): "FIELD_SUITE_TEST_CASES",
        ("BundledMethodTestCase", "inputs"): "FIELD_CASE_INPUTS",
        ("BundledMethodTestCase", "expected_outputs"): "FIELD_CASE_EXPECTED_OUTPUTS",
        ("Value", "val_type"): "FIELD_VALUE_TYPE",
        ("Value", "val"): "FIELD_VALUE_VAL",
        ("Tensor", "scalar_type"): "FIELD_TENSOR_SCALAR_TYPE",
        ("Tensor", "sizes"): "FIELD_TENSOR_SIZES",
        ("Tensor", "data"): "FIELD_TENSOR_DATA",
    }
    for (table, field), name in expected.items():
        assert int(const[name]) == _fbs_fields(schema, table).index(field), f"{name} ({table}.{field})"
    assert const["FILE_IDENTIFIER"] == re.search(r'file_identifier "(\w+)"', schema).group(1)
    union = re.search(r"union ValueUnion \{(.*?)\}", schema, flags=re.DOTALL).group(1)
    members = [m.strip() for m in union.replace("\n", "").split(",") if m.strip()]
    assert int(const["UNION_TENSOR"]) == members.index("Tensor") + 1  # 0 is NONE
    enum = re.search(r"enum ScalarType\s*:\s*\w+\s*\{(.*?)\}", scalar, flags=re.DOTALL).group(1)
    values = dict(re.findall(r"(\w+)\s*=\s*(\d+)", enum))
    names = [m.strip().split("=")[0].strip() for m in re.sub(r"//[^\n]*", "", enum).split(",") if m.strip()]
    float_value = int(values["FLOAT"]) if "FLOAT" in values else names.index("FLOAT")
    assert int(const["SCALAR_TYPE_FLOAT"]) == float_value
