"""Exporters (ExecuTorch, ONNX, Core ML), graph rewrites and parity checks.

Installed as ``mobilegan.export`` (see pyproject's package-dir): ``from mobilegan.export import ...``.
"""
