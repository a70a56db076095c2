"""Peak memory of one run at the largest settings a link can ask for.

    python -m benchmarks.memory [--scenarios a,b] [--methods m1,m2] [--targets t1,t2]

Each scenario (a method on a target, every setting at its Playground maximum, n_grid 600)
runs in a fresh subprocess: the process imports the engine and builds the target, reads its
resident set (VmRSS), resets its high-water mark where the kernel allows it, runs
``vi_core.api.run_method`` and reads VmHWM. The table shows the peak above that baseline in
MB and the seconds of the whole run (grid, algorithm, scoring). The algorithm still stops
at ``time_budget_s`` (20 s) as in the app.

Targets: gaussian, banana, funnel, and "expr": a typed expression near MAX_LENGTH that nests
deeply (a Gaussian plus a right-nested sum of small bounded terms), the kind of text that
keeps one temporary per nesting level.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

__all__ = ["SCENARIO_TARGETS", "long_expression", "main", "max_settings"]

SCENARIO_TARGETS = ("gaussian", "banana", "funnel", "expr")


def long_expression(max_length: int | None = None) -> str:
    """A normalisable ln p(x, y) near ``max_length`` characters, right-nested (one open bracket per term)."""
    from vi_core.targets.expr import MAX_DEPTH, MAX_LENGTH

    limit = MAX_LENGTH if max_length is None else max_length
    terms = ["0.1*sin(x)", "0.1*cos(y)", "0.1*tanh(x*y)", "0.1*sin(x-y)"]
    head, best = "-(x*x+y*y)/2+", None
    for k in range(1, MAX_DEPTH - 4):
        body = "0"
        for i in reversed(range(k)):
            body = "(" + terms[i % len(terms)] + "+" + body + ")"
        text = head + body
        if len(text) > limit:
            break
        best = text
    return best


def max_settings():
    """Every setting at its Playground maximum (ui_hi), the time budget at its default."""
    from vi_core.settings import TABLE, Settings

    return Settings(**{s.field: s.kind(s.ui_hi) for s in TABLE if s.ui_hi is not None})


def _target(name: str):
    from vi_core.targets import make_target
    from vi_core.targets.expr import make_expr_target

    if name == "expr":
        return make_expr_target(long_expression(), (-4, 4, -4, 4))
    return make_target(name)


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                out[key] = int(value.split()[0])  # kB
    return out


def _one(target_name: str, method: str) -> dict:
    """Run one scenario in this process: {peak_mb, seconds}."""
    from vi_core import api

    settings = max_settings()
    target = _target(target_name)
    try:  # reset the high-water mark to the current resident set (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    base = _status()["VmRSS"]
    t0 = time.perf_counter()
    api.run_method(target, method, 0, settings)
    seconds = time.perf_counter() - t0
    peak = _status()["VmHWM"]
    return {"peak_mb": (peak - base) / 1024.0, "seconds": seconds}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", default=",".join(SCENARIO_TARGETS))
    p.add_argument("--methods", default="")
    p.add_argument("--one", default="", help=argparse.SUPPRESS)  # target:method, run here
    args = p.parse_args(argv)
    if args.one:
        target, method = args.one.split(":")
        print(json.dumps(_one(target, method)))
        return
    from vi_core import methods

    names = [m for m in args.methods.split(",") if m] or list(methods.REGISTRY)
    print(f"{'scenario':<22} {'peak MB':>9} {'seconds':>8}")
    for t in args.targets.split(","):
        for m in names:
            cmd = [sys.executable, "-m", "benchmarks.memory", "--one", f"{t}:{m}"]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode:
                err = (res.stderr.strip().splitlines() or ["?"])[-1]
                print(f"{t + ' ' + m:<22} failed: {err}")
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"{t + ' ' + m:<22} {r['peak_mb']:>9.1f} {r['seconds']:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
