"""Latency / size / MAC benchmarks. Installed as ``mobilegan.bench``."""
