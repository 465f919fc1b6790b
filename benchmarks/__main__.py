"""Run the benchmarks and print their tables: `python -m benchmarks [plan|apply|datapath|startup|endpoint]...`."""

import os
import platform
import sys
import time

from benchmarks import apply_parallel, datapath, endpoint_start, plan_refresh, startup

# Measured as smstate runs on a user's machine: with the compiled bytecode of its modules cached
# (an environment that turns the cache off would time Python compiling smstate on every start).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

SUITES = {"plan": plan_refresh.main, "apply": apply_parallel.main, "datapath": datapath.main, "startup": startup.main,
          "endpoint": endpoint_start.main}

print(f"smstate benchmarks, {time.strftime('%Y-%m-%d')}, {platform.node()}, {platform.processor() or platform.machine()}")
for name in sys.argv[1:] or list(SUITES):
    if name not in SUITES:
        sys.exit(f"unknown benchmark {name!r}: choose from {', '.join(SUITES)}")
    SUITES[name]()
