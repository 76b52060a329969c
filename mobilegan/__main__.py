"""``python -m mobilegan`` (and ``torchrun -m mobilegan``)."""

from mobilegan.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
