"""``mobilegan`` entry point: parse, dispatch, and turn user errors into one line + exit 2."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator

from mobilegan.cli.common import OneLineParser
from mobilegan.cli.quiet import OwnRecordsOnly, StderrHandler, quiet_third_parties
from mobilegan.version import __version__

# Command modules, in help order. Each exposes register(subparsers) and sets `func`.
COMMANDS: tuple[str, ...] = ("profile", "translate", "train", "distill", "eval", "bench", "export", "verify", "report", "demo")

DESCRIPTION = """\
Distill CycleGAN generators into mobile students and ship them to phones.

typical flow:
  mobilegan train --data-a photos/ --data-b paintings/ --out runs/teacher
  mobilegan distill --teacher runs/teacher/G_AB.pt --data-a photos/
  mobilegan export --target all --out export/
  mobilegan bench export/
"""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mobilegan", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"mobilegan {__version__}")
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(f"mobilegan.cli.{name.replace('-', '_')}").register(sub)
    for command in sub.choices.values():  # also after the command: `mobilegan export ... --debug`
        _add_global_options(command, after_command=True)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, *, after_command: bool = False) -> None:
    # After the command they default to SUPPRESS, so an option given before it is not reset.
    kw = {"default": argparse.SUPPRESS} if after_command else {}
    group = parser.add_argument_group("output and diagnostics") if after_command else parser
    group.add_argument("--debug", action="store_true", help="show full tracebacks and the libraries' own output", **kw)
    group.add_argument("-v", "--verbose", action="store_true", help="debug-level logging", **kw)
    group.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only", **kw)


# Commands that print their results themselves: their library loggers stay at WARNING (no second
# copy of each result), except the progress lines listed in RESULT_PRINTING_PROGRESS.
RESULT_PRINTING = {"export": ("mobilegan.export",), "verify": ("mobilegan.export",), "bench": ("mobilegan.bench",)}
RESULT_PRINTING_PROGRESS = ("mobilegan.export.pipeline", "mobilegan.export.images")
# Commands that load ExecuTorch's native runtime, which logs its cpuinfo probes through sys.stderr.
NATIVE_NOISE = ("export", "verify", "bench", "translate", "demo")


def _loud(args: argparse.Namespace) -> bool:
    return bool(args.verbose or args.debug)


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    rank = os.environ.get("RANK", "0")
    if rank != "0":  # under torchrun only rank 0 talks
        level = logging.WARNING
    handler = StderrHandler()
    if not _loud(args):
        handler.addFilter(OwnRecordsOnly())
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    for noisy in ("torch", "coremltools", "executorch", "onnxscript", "PIL"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@contextlib.contextmanager
def _results_printed_once(args: argparse.Namespace) -> Iterator[None]:
    """For RESULT_PRINTING commands, their library loggers at WARNING (restored afterwards)."""
    names = [*RESULT_PRINTING.get(args.command, ()), *RESULT_PRINTING_PROGRESS]
    saved = {name: logging.getLogger(name).level for name in names}
    if not _loud(args) and args.command in RESULT_PRINTING:
        level = logging.getLogger().level
        for name in RESULT_PRINTING[args.command]:
            logging.getLogger(name).setLevel(max(level, logging.WARNING))
        for name in RESULT_PRINTING_PROGRESS:
            logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        stack.enter_context(_results_printed_once(args))
        if not _loud(args):
            stack.enter_context(quiet_third_parties(native=args.command in NATIVE_NOISE))
        return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    from mobilegan.errors import MobileganError, is_disk_full

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    _setup_logging(args)
    try:
        return _run(args)
    except MobileganError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"mobilegan {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"mobilegan {args.command}: interrupted\n")
        return 130
    except MemoryError:
        sys.stderr.write(f"mobilegan {args.command}: error: out of memory (try a smaller --size or batch)\n")
        return 1
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line unless --debug
        if args.debug:
            raise
        if is_disk_full(exc):
            sys.stderr.write(f"mobilegan {args.command}: error: no space left on device ({exc}); "
                             "free some space and rerun (train/distill: with --resume)\n")
            return 2
        sys.stderr.write(f"mobilegan {args.command}: internal error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback and report it)\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
