"""The built-in demo: real photos, a known style transform, a shipped teacher, the full pipeline."""
