"""Latency / size / MAC benchmarks. Installed as ``mobilegan.bench``.

- :mod:`.core` — ``run_bench`` (what ``mobilegan bench`` runs), ``sweep_presets``
- :mod:`.runtimes` — load-once callables for eager PyTorch, ExecuTorch, onnxruntime
- :mod:`.timing` — interleaved timing, peak RSS
- :mod:`.machine` — host CPU description and theoretical peak
- :mod:`.roofline` — phone-class latency *estimates*
- :mod:`.results` — rows, the ``mobilegan.bench/1`` JSON, import, table
- :mod:`.front` — the latency-fidelity front (``bench --sweep --fidelity``): distill, lower, score, time
- :mod:`.plot` — bars, the latency-vs-MACs scatter and the latency-fidelity front
- ``test_bench_*.py`` — pytest-benchmark suites (``make bench``), ``device/`` — phone scripts
"""
