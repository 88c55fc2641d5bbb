"""The reliability suite: crashes, restarts, edited code, bad input, secrets (issue 6)."""
