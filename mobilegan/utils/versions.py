"""Installed versions of packages, for model cards, reports and benchmark files."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_versions(*packages: str) -> dict[str, str]:
    """``{package: version}`` for each installed package; missing ones are left out."""
    found: dict[str, str] = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
