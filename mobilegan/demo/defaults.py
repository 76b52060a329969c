"""Demo defaults the CLI shows in ``--help`` without importing torch (the pipeline uses them too)."""

# The default student (mobile_s2d4_w025) reaches about 31 dB against the demo teacher with 1250
# steps of 16 crops, and the demo stays within 10 minutes on a 2-core CPU. At the same pixels,
# batch 4 x 5000 steps gave 29.6-30.0 dB, 8 x 2500 30.2, 32 x 625 30.8 (BENCHMARKS.md,
# "Distillation recipe for the demo").
DISTILL_STEPS = 1250
DISTILL_BATCH = 16
