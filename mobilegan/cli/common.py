"""Argument types and helpers shared by the command modules."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mobilegan.utils.sizes import image_size_problem


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are a single line (and exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def image_size(text: str) -> int:
    """An image side the generators accept (the rule: :func:`mobilegan.utils.sizes.image_size_problem`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be an integer, got {text!r}") from None
    problem = image_size_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a number > 0")
    return value


def print_json(obj: Any) -> None:
    """Results go to stdout (logs go to stderr), so ``--json`` output pipes cleanly."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")
