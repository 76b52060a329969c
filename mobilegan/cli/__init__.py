"""Command-line interface: one module per command, each a thin shell over a library function."""
