"""Small shared helpers (atomic files, hashing, logging set-up)."""
