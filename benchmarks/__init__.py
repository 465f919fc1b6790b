"""smstate's performance harness: `python -m benchmarks` (or `make bench`)."""
