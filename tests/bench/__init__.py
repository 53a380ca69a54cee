"""The benchmark's method and its command, run at a tiny size."""
