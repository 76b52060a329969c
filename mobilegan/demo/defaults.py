"""Demo defaults the CLI shows in ``--help`` without importing torch (the pipeline uses them too)."""

# The default student (mobile_s2d4_w025) reaches about 29.6 dB against the demo teacher here, and the
# demo stays within 10 minutes on a 2-core CPU (BENCHMARKS.md, "Distillation recipe for the demo").
DISTILL_STEPS = 5000
