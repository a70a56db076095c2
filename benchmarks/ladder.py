"""The VI family ladder on every built-in target at its defaults: exact KL, mmtv, seconds, evaluations.

    python -m benchmarks.ladder [--targets u1,ring] [--seed S] [--write PATH]

Runs vi_core.ladder.ladder on each target (every rung, then NUTS and emcee given the costliest rung's wall time) and
prints a table per target and its generated sentence. --write PATH saves them as JSON for the Ladder page
(vi_core/data/ladder_recorded.json is where it looks), so no visit has to run sixteen ladders; with --targets it
updates those targets in an existing file and keeps the others. About 30 s a target
on a 2-core machine (the many-mode mixture about a minute). Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import numpy as np

from vi_core import ladder as ladder_mod
from vi_core.targets import make_target, target_names

__all__ = ["main"]


def _table(lad: ladder_mod.Ladder) -> str:
    rows = [f"{'rung':<30} {'KL':>7} {'mmtv':>6} {'seconds':>8} {'density ev.':>12} {'gradient ev.':>12}"]
    for s in lad.rungs + lad.samplers:
        kl = "—" if s.kl is None else f"{s.kl:.3f}"
        rows.append(f"{s.label:<30} {kl:>7} {s.mmtv:>6.3f} {s.seconds:>8.2f} {s.evals[0]:>12,} {s.evals[1]:>12,}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ladder", description=__doc__.split("\n")[0])
    p.add_argument("--targets", help="comma-separated target names (default: every built-in target)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", metavar="PATH", help="also write the ladders as JSON")
    args = p.parse_args(argv)
    names = target_names() if not args.targets else [n.strip() for n in args.targets.split(",")]
    machine = (
        f"vm: {platform.machine()}, {platform.system()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    print(machine, flush=True)
    out = []
    for name in names:
        t0 = time.perf_counter()
        lad = ladder_mod.ladder(make_target(name), args.seed)
        out.append(lad)
        print(f"\n{name}: ln p(X) = {lad.log_z:.4f}; samplers given {lad.budget_s:.2f} s; "
              f"{time.perf_counter() - t0:.0f} s in all")  # fmt: skip
        print(_table(lad))
        print(ladder_mod.sentence(lad), flush=True)
    if args.write:
        if args.targets and os.path.exists(args.write):  # some targets: update them in the recorded file, keep the rest
            kept = ladder_mod.read_recorded(args.write)["ladders"]
            kept.update({lad.target: lad for lad in out})
            out = [kept[n] for n in target_names() if n in kept]
        ladder_mod.write_recorded(args.write, out, machine=machine, date=datetime.date.today().isoformat())
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
