"""Demo defaults the CLI shows in ``--help`` without importing torch (the pipeline uses them too)."""

# Student vs teacher PSNR still rises at this many steps (BENCHMARKS.md, "Distillation recipe").
DISTILL_STEPS = 4000
