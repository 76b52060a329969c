"""Structural checks (tree-sitter) for the app defects of issue 15, each shown to catch the bad pattern.

The iOS and Android apps build only in Xcode / Gradle (see .github/workflows/); what can run here
is a look at their syntax trees: the pattern a defect had must not come back. Each checker is
first run on a snippet with the defect, which it must flag, then on the app sources.
"""

from __future__ import annotations

import re
import xml.dom.minidom
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IOS = REPO / "apps" / "ios" / "MobileGAN"
ANDROID_SRC = REPO / "apps" / "android" / "app" / "src" / "main"
KOTLIN = ANDROID_SRC / "java" / "dev" / "mobilegan" / "sample"
WEB = REPO / "apps" / "web"


class Source:
    """A parsed file: its bytes and syntax tree, with the few queries the checks need."""

    def __init__(self, language: str, text: bytes) -> None:
        ts = pytest.importorskip("tree_sitter")
        grammar = pytest.importorskip(f"tree_sitter_{language}")
        self.src = text
        self.root = ts.Parser(ts.Language(grammar.language())).parse(text).root_node

    @classmethod
    def file(cls, language: str, path: Path) -> "Source":
        return cls(language, path.read_bytes())

    def text(self, node) -> str:
        return self.src[node.start_byte:node.end_byte].decode()

    def nodes(self, kind: str, under=None) -> Iterator:
        stack = [under or self.root]
        while stack:
            node = stack.pop()
            if node.type == kind:
                yield node
            stack.extend(reversed(node.children))

    def callee(self, call) -> str:
        """Last name of what a call_expression calls: `a.b.load(x)` -> "load", `withContext(x) {}` -> "withContext"."""
        head = call.children[0]
        while head.type == "call_expression":
            head = head.children[0]
        names = [n for n in self._names(head)]
        return names[-1] if names else self.text(head)

    def _names(self, node) -> Iterator[str]:
        if node.type in ("identifier", "simple_identifier", "type_identifier"):
            yield self.text(node)
        for child in node.children:
            if child.type not in ("value_arguments", "call_suffix", "lambda_literal", "annotated_lambda"):
                yield from self._names(child)

    def calls(self, name: str, under=None) -> list:
        return [c for c in self.nodes("call_expression", under) if self.callee(c) == name]

    @staticmethod
    def ancestors(node) -> Iterator:
        node = node.parent
        while node is not None:
            yield node
            node = node.parent

    def enclosing(self, node, kind: str):
        return next((a for a in self.ancestors(node) if a.type == kind), None)


def swift(text: str) -> Source:
    return Source("swift", text.encode())


def kotlin(text: str) -> Source:
    return Source("kotlin", text.encode())


# --- iOS ------------------------------------------------------------------------------------------


def tasks_capturing_outer_weak_self(s: Source) -> list[str]:
    """`Task { ... self ... }` without its own capture list, inside a `[weak self]` closure."""
    found = []
    for outer in s.nodes("lambda_literal"):
        capture = next((c for c in outer.children if c.type == "capture_list"), None)
        if capture is None or "weak self" not in s.text(capture):
            continue
        for task in s.calls("Task", outer):
            for body in s.nodes("lambda_literal", task):
                uses_self = any(True for _ in s.nodes("self_expression", body))
                own_capture = any(c.type == "capture_list" for c in body.children)
                if uses_self and not own_capture:
                    found.append(s.text(task)[:60])
    return found


def synchronous_model_loads(s: Source) -> list[str]:
    """`MLModel(contentsOf:...)`: loads (and may compile) on the calling thread."""
    return [s.text(c)[:60] for c in s.calls("MLModel") if s.text(c.children[0]) == "MLModel"]


def int_format_specifiers(s: Source) -> list[str]:
    """`String(format:)` literals with %d / %i / %u / %x: 32-bit, but Swift's Int is 64-bit."""
    found = []
    for call in s.calls("String"):
        for literal in s.nodes("line_string_literal", call):
            if re.search(r"%[-+ 0#']*\d*(?:\.\d+)?[diuxXo]", s.text(literal)):
                found.append(s.text(literal))
    return found


def nan_unsafe_byte_conversions(s: Source) -> list[str]:
    """`UInt8(<float>)` traps on NaN: every conversion must sit in a function that checks for it."""
    found = []
    for call in s.calls("UInt8"):
        function = s.enclosing(call, "function_declaration")
        body = s.text(function) if function is not None else ""
        if "isNaN" not in body and "isFinite" not in body:
            found.append(s.text(call)[:60])
    return found


BAD_SWIFT = """
final class A {
    func start() {
        camera.onFrame = { [weak self] frame in
            Task { @MainActor in
                await self?.stylize(frame: frame)
            }
        }
        let model = try MLModel(contentsOf: url, configuration: configuration)
        text = String(format: "%.1f ms median of last %d", median, count)
    }

    private static func toByte(_ value: Float) -> UInt8 {
        UInt8(max(0, min(255, (value * 255).rounded())))
    }
}
"""


def test_swift_checkers_flag_the_defects() -> None:
    bad = swift(BAD_SWIFT)
    assert tasks_capturing_outer_weak_self(bad)
    assert synchronous_model_loads(bad)
    assert int_format_specifiers(bad) == ['"%.1f ms median of last %d"']
    assert nan_unsafe_byte_conversions(bad)
    good = swift('Task { @MainActor [weak self] in await self?.f() }\nlet s = String(format: "%.1f %ld", a, b)\n')
    assert tasks_capturing_outer_weak_self(good) == [] and int_format_specifiers(good) == []


SWIFT_FILES = sorted(IOS.glob("*.swift"))


@pytest.mark.parametrize("path", SWIFT_FILES, ids=lambda p: p.name)
def test_swift_sources_are_free_of_the_defects(path: Path) -> None:
    s = Source.file("swift", path)
    assert tasks_capturing_outer_weak_self(s) == []
    assert synchronous_model_loads(s) == []
    assert int_format_specifiers(s) == []
    assert nan_unsafe_byte_conversions(s) == []


def test_ios_loads_the_model_asynchronously() -> None:
    s = Source.file("swift", IOS / "StyleModel.swift")
    loads = [c for c in s.calls("load") if s.text(c).startswith("MLModel.load(contentsOf:")]
    assert loads and all(c.parent.type == "await_expression" for c in loads)
    app = Source.file("swift", IOS / "AppModel.swift")
    load = next(f for f in app.nodes("function_declaration") if s_name(app, f) == "load")
    assert "async" in app.text(load).split("{")[0]


def s_name(s: Source, function) -> str:
    return next(s.text(c) for c in function.children if c.type == "simple_identifier")


def test_ios_input_pane_and_benchmark_show_what_the_model_saw() -> None:
    """The input pane and the benchmark frame are the model-size input, never the output."""
    s = Source.file("swift", IOS / "AppModel.swift")
    targets = {"inputImage": [], "lastInput": []}
    for assignment in s.nodes("assignment"):
        lhs = s.text(assignment.children[0])
        if lhs in targets:
            targets[lhs].append(s.text(assignment.children[-1]))
    assert targets["inputImage"] and targets["lastInput"], targets
    for rhs in targets["inputImage"] + targets["lastInput"]:
        assert ".input" in rhs and "output" not in rhs, rhs
    benchmark = next(f for f in s.nodes("function_declaration") if s_name(s, f) == "runBenchmark")
    assert "lastInput" in s.text(benchmark)


def test_ios_orientations_fit_the_device_family() -> None:
    """An app that lists the iPad must support every iPad orientation (App Store validation)."""
    import plistlib

    yaml = pytest.importorskip("yaml")
    info = plistlib.loads((IOS / "Info.plist").read_bytes())
    target = yaml.safe_load((IOS.parent / "project.yml").read_text())["targets"]["MobileGAN"]
    if "2" in str(target["settings"]["base"]["TARGETED_DEVICE_FAMILY"]).split(","):
        ipad = set(info.get("UISupportedInterfaceOrientations~ipad", info["UISupportedInterfaceOrientations"]))
        assert info.get("UIRequiresFullScreen") or ipad == {
            "UIInterfaceOrientationPortrait", "UIInterfaceOrientationPortraitUpsideDown",
            "UIInterfaceOrientationLandscapeLeft", "UIInterfaceOrientationLandscapeRight"}


def test_ios_signing_survives_xcodegen() -> None:
    """Team and bundle id come from an xcconfig that `xcodegen generate` does not rewrite."""
    yaml = pytest.importorskip("yaml")
    target = yaml.safe_load((IOS.parent / "project.yml").read_text())["targets"]["MobileGAN"]
    settings = target["settings"]["base"]
    assert "DEVELOPMENT_TEAM" not in settings and "PRODUCT_BUNDLE_IDENTIFIER" not in settings
    for config in ("Debug", "Release"):
        xcconfig = (IOS.parent / target["configFiles"][config]).read_text()
        assert re.search(r"^DEVELOPMENT_TEAM =", xcconfig, flags=re.MULTILINE)
        assert re.search(r"^PRODUCT_BUNDLE_IDENTIFIER = \S+", xcconfig, flags=re.MULTILINE)
        assert '#include? "Local.xcconfig"' in xcconfig  # optional: absent on a fresh clone
    assert "ios/Config/Local.xcconfig" in (REPO / "apps" / ".gitignore").read_text()


# --- Android ----------------------------------------------------------------------------------------


def camera_frames_without_try(s: Source) -> list[str]:
    """`stylize` calls reached from the CameraFeed callback that no try/catch guards."""
    found = []
    for feed in s.calls("CameraFeed"):
        # the callback: a trailing lambda, else the last argument (a lambda or a ::function reference)
        trailing = [c for c in feed.children if c.type == "annotated_lambda"]
        arguments = [a for c in feed.children if c.type == "value_arguments" for a in c.children
                     if a.type == "value_argument"]
        if not trailing and not arguments:
            continue
        handler = trailing[-1] if trailing else arguments[-1]
        bodies = [handler]
        for ref in s.nodes("callable_reference", handler):
            name = s.text(ref).lstrip(":")
            bodies += [f for f in s.nodes("function_declaration") if k_name(s, f) == name]
        for body in bodies:
            for call in s.calls("stylize", body):
                if s.enclosing(call, "try_expression") is None:
                    found.append(s.text(call))
    return found


def k_name(s: Source, function) -> str:
    return next(s.text(c) for c in function.children if c.type == "identifier")


def view_rotations(s: Source) -> list[str]:
    return [s.text(a) for a in s.nodes("assignment") if s.text(a.children[0]).endswith(".rotation")]


INFERENCE_SCOPES = ("withModel", "withContext", "execute")
INFERENCE_FUNCTIONS = ("onCameraFrame",)


def model_reads_off_the_inference_thread(s: Source) -> list[str]:
    """Uses of the activity's `model` outside the inference thread (withModel / withContext(inference) /
    inferenceExecutor.execute blocks, or the camera analyzer that runs on that executor)."""
    found = []
    for ident in s.nodes("identifier"):
        parent = ident.parent
        if s.text(ident) != "model" or parent.type == "variable_declaration":  # not it, or its declaration
            continue
        if parent.type == "navigation_expression" and parent.children[0] is not ident:  # `x.model`
            continue
        scoped = False
        for anc in s.ancestors(ident):
            if anc.type == "call_expression" and s.callee(anc) in INFERENCE_SCOPES:
                text = s.text(anc)
                scoped = not text.startswith("withContext") or text.startswith("withContext(inference)")
            if anc.type == "function_declaration" and k_name(s, anc) in INFERENCE_FUNCTIONS:
                scoped = True
            if scoped:
                break
        if not scoped:
            found.append(f"line {ident.start_point[0] + 1}")
    return found


BAD_KOTLIN = """
class MainActivity {
    private var model: StyleModel? = null

    private fun startCamera() {
        camera = CameraFeed(this, this, binding.preview, inferenceExecutor) { frame, rotation ->
            model?.let { current ->
                val (output, ms) = current.stylize(frame, rotation)
                runOnUiThread { showOutput(output, ms) }
            }
        }.also { it.start() }
    }

    private suspend fun stylizePhoto(uri: Uri) {
        val current = model ?: return
        val (output, ms) = withContext(inference) { current.stylize(bitmap, rotation) }
        binding.inputImage.rotation = rotation.toFloat()
    }
}
"""


def test_kotlin_checkers_flag_the_defects() -> None:
    bad = kotlin(BAD_KOTLIN)
    assert camera_frames_without_try(bad) == ["current.stylize(frame, rotation)"]
    assert view_rotations(bad) == ["binding.inputImage.rotation = rotation.toFloat()"]
    assert model_reads_off_the_inference_thread(bad) == ["line 15"]  # `val current = model` on the main thread


def test_android_activity_is_free_of_the_defects() -> None:
    s = Source.file("kotlin", KOTLIN / "MainActivity.kt")
    assert camera_frames_without_try(s) == []
    assert view_rotations(s) == []
    assert model_reads_off_the_inference_thread(s) == []
    assert s.calls("CameraFeed"), "the camera check found no CameraFeed to look at"


def test_android_takes_launch_extras_on_a_running_app() -> None:
    s = Source.file("kotlin", KOTLIN / "MainActivity.kt")
    listeners = s.calls("addOnNewIntentListener")
    overrides = [f for f in s.nodes("function_declaration") if k_name(s, f) == "onNewIntent"]
    assert listeners or overrides
    assert any("handleLaunchExtras" in s.text(n) for n in listeners + overrides)
    doc = xml.dom.minidom.parse(str(ANDROID_SRC / "AndroidManifest.xml"))
    activity = doc.getElementsByTagName("activity")[0]
    assert activity.getAttribute("android:launchMode") in ("singleTop", "singleTask")


def test_android_handles_edge_to_edge_insets() -> None:
    s = Source.file("kotlin", KOTLIN / "MainActivity.kt")
    assert s.calls("enableEdgeToEdge") and s.calls("setOnApplyWindowInsetsListener")
    listener = s.calls("setOnApplyWindowInsetsListener")[0]
    assert "systemBars()" in s.text(listener) and s.calls("updatePadding", listener)


def test_android_camera_does_not_bind_after_stop() -> None:
    s = Source.file("kotlin", KOTLIN / "CameraFeed.kt")
    start = next(f for f in s.nodes("function_declaration") if k_name(s, f) == "start")
    binds = s.calls("bind", start)
    assert binds
    for call in binds:
        guard = s.enclosing(call, "if_expression")
        assert guard is not None and "stopped" in s.text(guard).split("{")[0]
    stop = next(f for f in s.nodes("function_declaration") if k_name(s, f) == "stop")
    assert re.search(r"\bstopped = true\b", s.text(stop))


def test_android_module_is_checked_before_loading_and_freed_on_failure() -> None:
    s = Source.file("kotlin", KOTLIN / "StyleModel.kt")
    loads = [c for c in s.calls("load") if s.text(c).startswith("Module.load(")]
    assert len(loads) == 1
    load = loads[0]
    assert s.enclosing(load, "property_declaration") is None or s.enclosing(load, "function_declaration") is not None
    function = s.enclosing(load, "function_declaration")
    assert function is not None, "Module.load in a property initializer runs before any check"
    checks = s.calls("checkRunnable", function)
    assert checks and checks[0].start_byte < load.start_byte
    tries = [t for t in s.nodes("try_expression", function) if s.calls("loadMethod", t)]
    assert tries and any(s.calls("destroy", c) for t in tries for c in s.nodes("catch_block", t))
    for call in s.calls("loadMethod", function):  # its int result is an error code: it must be read
        assert call.parent.type not in ("statements", "block"), s.text(call)


# --- web ------------------------------------------------------------------------------------------


def test_web_tools_pause_the_camera_loop() -> None:
    main = (WEB / "src" / "main.js").read_text()
    for tool in ("runSelfTest", "runBenchmark"):
        calls = re.findall(rf"[^\n]*\b{tool}\(runner", main)
        assert calls and all("gate.exclusive(() =>" in line for line in calls), calls
    stylize_calls = [line for line in re.findall(r"[^\n]*\bstylize\([^)]*\)", main) if "function stylize" not in line]
    assert stylize_calls and all(re.search(r"gate\.(frame|exclusive)\(", line) for line in stylize_calls), stylize_calls


def test_web_offers_only_exported_precisions() -> None:
    readme = (WEB / "README.md").read_text()
    main = (WEB / "src" / "main.js").read_text()
    assert "?precision=fp32|int8" not in readme and "fp32|int8" not in main
