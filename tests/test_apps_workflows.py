"""The GitHub Actions workflows that build the apps where Xcode and the Android SDK exist.

They cannot run here; what is checked: the YAML parses into jobs with steps, every action is one
we looked up, pinned to a major version and given only inputs its action.yml declares, and the
commands match the projects they build (Gradle version, SDK platform, JDK, Xcode scheme, CLI
arguments, the registry preset the Core ML job exports).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
ANDROID = REPO / "apps" / "android"
IOS = REPO / "apps" / "ios"

# Inputs declared in each action's action.yml (the subset of inputs we may use is what matters).
ACTION_INPUTS: dict[str, set[str]] = {
    "actions/checkout@v4": {"repository", "ref", "token", "path", "fetch-depth", "lfs", "submodules"},
    "actions/setup-java@v4": {"distribution", "java-version", "java-package", "cache", "check-latest"},
    "actions/setup-python@v5": {"python-version", "cache", "architecture", "check-latest"},
    "actions/upload-artifact@v4": {"name", "path", "if-no-files-found", "retention-days", "compression-level",
                                   "overwrite", "include-hidden-files"},
    "android-actions/setup-android@v3": {"cmdline-tools-version", "accept-android-sdk-licenses",
                                         "log-accepted-android-sdk-licenses", "packages"},
    "gradle/actions/setup-gradle@v4": {"gradle-version", "cache-disabled", "cache-read-only", "validate-wrappers"},
    "maxim-lobanov/setup-xcode@v1": {"xcode-version"},
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict) and data.get("jobs"), f"{name}: no jobs"
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def runs(workflow: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(workflow))


def uses(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    found = [s for s in steps(workflow) if s.get("uses") == action]
    assert found, f"no step uses {action}"
    return found[0].get("with", {})


WORKFLOW_FILES = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_the_three_workflows_exist() -> None:
    assert set(WORKFLOW_FILES) >= {"android.yml", "ios.yml", "coreml.yml"}


@pytest.mark.parametrize("name", WORKFLOW_FILES)
def test_workflow_structure_and_actions(name: str) -> None:
    workflow = load(name)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers and "workflow_dispatch" in triggers
    assert workflow.get("permissions") == {"contents": "read"}
    for job_name, job in workflow["jobs"].items():
        assert job.get("runs-on") and job.get("timeout-minutes"), job_name
        assert job["steps"] and job["steps"][0].get("uses") == "actions/checkout@v4", job_name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
            if "uses" in step:
                action = step["uses"]
                assert action in ACTION_INPUTS, f"{name}: {action} is not an action we looked up"
                unknown = set(step.get("with", {})) - ACTION_INPUTS[action]
                assert not unknown, f"{name}: {action} has no input(s) {sorted(unknown)}"


def test_checker_rejects_an_unknown_input() -> None:
    assert "gradle-versions" not in ACTION_INPUTS["gradle/actions/setup-gradle@v4"]
    assert "xcode" not in ACTION_INPUTS["maxim-lobanov/setup-xcode@v1"]


def test_android_workflow_matches_the_gradle_project() -> None:
    workflow = load("android.yml")
    (job,) = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu") and job["defaults"]["run"]["working-directory"] == "apps/android"
    wrapper = (ANDROID / "gradle" / "wrapper" / "gradle-wrapper.properties").read_text()
    pinned = re.search(r"gradle-([\d.]+)-bin\.zip", wrapper).group(1)
    assert uses(workflow, "gradle/actions/setup-gradle@v4")["gradle-version"] == pinned
    gradle = (ANDROID / "app" / "build.gradle.kts").read_text()
    compile_sdk = re.search(r"compileSdk = (\d+)", gradle).group(1)
    assert f"platforms;android-{compile_sdk}" in uses(workflow, "android-actions/setup-android@v3")["packages"]
    assert uses(workflow, "actions/setup-java@v4")["java-version"] == re.search(r'jvmTarget = "(\d+)"', gradle).group(1)
    commands = runs(workflow)
    assert re.search(r"\bgradle .*\bassembleDebug\b", commands) and re.search(r"\bgradle .*\btestDebugUnitTest\b", commands)
    assert list((ANDROID / "app" / "src" / "test").rglob("*Test.kt")), "the JVM test task would find no tests"
    assert "testImplementation(libs.junit)" in gradle


def _xcodebuild(workflow: dict[str, Any]) -> list[str]:
    chunks = [chunk for s in steps(workflow) for chunk in str(s.get("run", "")).split("&&")]
    return shlex.split(next(c for c in chunks if "xcodebuild" in c).replace("\n", " "))


def test_ios_workflow_builds_the_xcodegen_scheme_for_the_simulator() -> None:
    project = yaml.safe_load((IOS / "project.yml").read_text())
    for name in ("ios.yml", "coreml.yml"):
        workflow = load(name)
        commands = runs(workflow)
        assert "brew install xcodegen" in commands and "xcodegen generate" in commands
        args = _xcodebuild(workflow)
        assert args[:2] == ["xcodebuild", "build"]
        scheme = args[args.index("-scheme") + 1]
        assert scheme in project["schemes"] and project["schemes"][scheme]["build"]["targets"] == {"MobileGAN": "all"}
        assert args[args.index("-project") + 1] == f"{project['name']}.xcodeproj"
        assert args[args.index("-destination") + 1] == "generic/platform=iOS Simulator"
        assert "CODE_SIGNING_ALLOWED=NO" in args
        assert all(job["runs-on"].startswith("macos") for job in workflow["jobs"].values())


@pytest.mark.slow
def test_coreml_workflow_exports_and_verifies_on_macos(tmp_path: Path) -> None:
    from mobilegan.cli.main import build_parser

    workflow = load("coreml.yml")
    commands = [str(s["run"]) for s in steps(workflow) if "run" in s]
    export = next(c for c in commands if c.startswith("mobilegan export"))
    verify = next(c for c in commands if c.startswith("mobilegan verify"))
    parser = build_parser()
    export_args = parser.parse_args(shlex.split(export)[1:])
    verify_args = parser.parse_args(shlex.split(verify)[1:])
    assert export_args.target == ["coreml"] and export_args.app == "ios"
    assert verify_args.folder == export_args.out
    python = uses(workflow, "actions/setup-python@v5")["python-version"]
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert tuple(map(int, python.split("."))) >= tuple(map(int, requires.lstrip(">=").split(".")))
    assert any(c.startswith("python -m pip install -e .") for c in commands)  # editable: --app finds apps/
    # the checkpoint step runs as written and writes what `mobilegan export` reads
    make = next(c for c in commands if c.startswith("python -c"))
    code = shlex.split(make.replace("\n", " "))[2]
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / export_args.checkpoint).is_file()
