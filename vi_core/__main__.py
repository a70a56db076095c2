"""Command line: ``python -m vi_core targets|run|scale|ladder ...`` for scripting and reproducible figures.

Every error -- bad arguments, unknown names, out-of-bounds values -- is one line on
stderr and a non-zero exit; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from vi_core import ladder as ladder_mod
from vi_core import methods
from vi_core.api import Settings, run_method
from vi_core.settings import TABLE
from vi_core.targets import REGISTRY, make_target
from vi_core.targets.expr import make_expr_target, parse_box


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage over two lines; we promise one
        self.exit(2, f"{self.prog}: error: {message}\n")


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _parse_params(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param expects key=value, got {item!r}")
        try:
            out[key] = float(value)
        except ValueError:
            raise ValueError(f"--param {key}: {value!r} is not a number") from None
        if not math.isfinite(out[key]):
            raise ValueError(f"--param {key}: must be finite, got {value!r}")
    return out


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m vi_core", description="Mean-field VI and MCMC on 2D targets.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("targets", help="list targets with parameters, bounds and boxes")
    t.add_argument("--json", action="store_true", help="machine-readable output")
    r = sub.add_parser("run", help="run one method on one target")
    r.add_argument("--target", help="target name (see `targets`)")
    r.add_argument("--expr", help='a typed target: ln p(x, y) as an expression, e.g. "-(x**2 + y**2)/2"')
    r.add_argument("--box", help="xmin,xmax,ymin,ymax: the plotting box (required with --expr)")
    r.add_argument("--param", action="append", default=[], metavar="K=V", help="target parameter")
    r.add_argument("--method", required=True, choices=tuple(methods.REGISTRY))
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--steps", type=int, help="the method's steps (VI steps / CAVI sweeps / MCMC steps)")
    for s in TABLE:  # one flag per setting with a query key: --grid, --vi-steps, --walkers, ...
        if s.flag is not None:
            r.add_argument(s.flag, dest=f"set_{s.field}", type=s.kind, help=f"{s.label}: {s.help}")
    r.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sc = sub.add_parser("scale", help="time to accuracy of VI and MCMC on logistic regression at several data sizes")
    sc.add_argument("--n", required=True, help="comma-separated data sizes, e.g. 1e2,1e3,1e4")
    sc.add_argument("--methods", help="comma-separated, default all: " + ",".join(_scale_methods()))
    sc.add_argument("--data", default="synthetic", help="synthetic | arsenic")
    sc.add_argument("--budget", type=float, default=10.0, help="seconds per (N, method)")
    sc.add_argument(
        "--batch", type=int, default=100,
        help="minibatch size of the plain minibatch methods (the control-variate ones use their own, 100)",
    )  # fmt: skip
    sc.add_argument("--uncentred", action="store_true", help="do not centre the covariate")
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument("--json", action="store_true", help="a JSON list of per-run summaries on stdout")
    la = sub.add_parser("ladder", help="every VI family on one target, exactly scored, beside NUTS and emcee")
    la.add_argument("--target", required=True, help="target name (see `targets`)")
    la.add_argument("--param", action="append", default=[], metavar="K=V", help="target parameter")
    la.add_argument("--seed", type=int, default=0)
    rungs, samplers = ",".join(r.key for r in ladder_mod.RUNGS), ",".join(ladder_mod.SAMPLERS)
    la.add_argument("--rungs", help=f"comma-separated rungs, default all: {rungs}")
    la.add_argument("--samplers", help=f"comma-separated, default {samplers}; 'none' for none")
    la.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return p


def _keys(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(k.strip() for k in text.split(",") if k.strip() and k.strip() != "none")


def cmd_ladder(args) -> int:
    target = make_target(args.target, **_parse_params(args.param))
    _check_seed_arg(args.seed)

    def progress(label: str, k: int, n: int) -> None:
        if not args.json:
            print(f"[{k + 1}/{n}] {label}…", file=sys.stderr, flush=True)

    rungs, samplers = _keys(args.rungs), _keys(args.samplers)
    lad = ladder_mod.ladder(target, args.seed, on_progress=progress, rungs=rungs, samplers=samplers)
    out = _jsonable(lad.to_dict())
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{target.name}: ln p(X) = {lad.log_z:.4f}; samplers given {lad.budget_s:.2f} s")
    print(f"{'rung':<30} {'KL':>7} {'mmtv':>6} {'W1 sd':>6} {'seconds':>8} {'density ev.':>12} {'gradient ev.':>12}")
    for s in lad.rungs + lad.samplers:
        kl = "—" if s.kl is None else f"{s.kl:.3f}"
        ev = f"{s.evals[0]:>12,} {s.evals[1]:>12,}"
        print(f"{s.label:<30} {kl:>7} {s.mmtv:>6.3f} {s.w1:>6.3f} {s.seconds:>8.2f} {ev}")
    print(out["sentence"])
    return 0


def _check_seed_arg(seed: int) -> None:
    if not 0 <= seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32), got {seed}")


def _scale_methods() -> tuple[str, ...]:
    from vi_core.scaling import METHODS

    return tuple(METHODS)


def _parse_ns(text: str) -> list[int]:
    out = []
    for item in text.split(","):
        try:
            v = float(item)
        except ValueError:
            raise ValueError(f"--n: {item!r} is not a number") from None
        if not math.isfinite(v) or v < 1 or not v.is_integer():
            raise ValueError(f"--n: {item!r} is not a positive whole number")
        out.append(int(v))
    return out


def cmd_scale(args) -> int:
    from vi_core import scaling

    ns = _parse_ns(args.n)
    names = list(scaling.METHODS) if not args.methods else [m.strip() for m in args.methods.split(",")]
    for m in names:
        if m not in scaling.METHODS:
            raise ValueError(f"unknown scaling method {m!r}; choose from {', '.join(scaling.METHODS)}")
    if not (math.isfinite(args.budget) and args.budget > 0):
        raise ValueError(f"--budget must be a positive number of seconds, got {args.budget:g}")
    if args.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {args.batch}")
    for n in ns:  # refuse bad sizes before any run starts
        scaling.dataset(args.data, n)
    records = scaling.sweep(
        ns, names, name=args.data, budget_s=args.budget, seed=args.seed, centred=not args.uncentred, batch=args.batch
    )
    rows = [r.summary() for r in records]
    if args.json:
        print(json.dumps(rows))
        return 0
    rule = scaling.ACCURACY
    print(f"accurate: mean within {rule.mean_sd:g} posterior sd and sd within {rule.sd_rel:.0%}, on both coordinates "
          "(MCMC on its draws after warm-up)")  # fmt: skip
    print(
        f"{'N':>9} {'method':<14} {'time to acc. s':>14} {'rows to acc.':>12} {'mean err':>8} {'sd err':>7} "
        f"{'rows':>9} {'grad var ÷':>10} stopped"
    )

    def cell(v, width: int, spec: str, none: str = "—") -> str:
        return format(v, f"{width}{spec}") if v is not None else format(none, f">{width}")

    for r, row in zip(records, rows, strict=True):
        print(
            f"{row['n']:9d} {row['method']:<14} {cell(row['time_to_accuracy_s'], 14, '.3g', 'not reached')} "
            f"{cell(row['rows_to_accuracy'], 12, '.3g')} {cell(row['mean_error'], 8, '.3f')} "
            f"{cell(row['sd_error'], 7, '.3f')} {row['rows_touched']:9.3g} "
            f"{cell(row['grad_var_reduction'], 10, '.3g')} {r.stopped}"
        )
    for m in names:
        sl, sr = scaling.slope(records, m), scaling.slope(records, m, "rows")
        print(
            f"slope of log cost to accuracy against log N, {m}: {'—' if sl is None else f'{sl:.2f}'} in seconds, "
            f"{'—' if sr is None else f'{sr:.2f}'} in rows"
        )
    return 0


def cmd_targets(args) -> int:
    rows = [make_target(name).to_dict() for name in REGISTRY]
    if args.json:
        print(json.dumps(_jsonable(rows), indent=1))
        return 0
    for row in rows:
        params = ", ".join(f"{p['name']}={p['default']:g} [{p['lo']:g}, {p['hi']:g}]" for p in row["params"])
        print(f"{row['name']:14s} {params or '-':50s} {row['description']}")
    return 0


def _settings(args) -> Settings:
    kw = {s.field: getattr(args, f"set_{s.field}") for s in TABLE if getattr(args, f"set_{s.field}", None) is not None}
    if args.steps is not None:
        kw[methods.get(args.method).steps] = args.steps
    return Settings(**kw)


def cmd_run(args) -> int:
    if args.expr is not None:
        if args.target or args.param:
            raise ValueError("--expr replaces --target and --param; give one or the other")
        if args.box is None:
            raise ValueError("--box xmin,xmax,ymin,ymax is required with --expr")
        target = make_expr_target(args.expr, args.box)
    elif not args.target:
        raise ValueError("--target (or --expr with --box) is required")
    else:
        target = make_target(args.target, **_parse_params(args.param))
    # a built-in target on another box: the same target, seen through another window
    box = parse_box(args.box) if args.box is not None and args.expr is None else None
    settings = _settings(args)
    grid, res, _ = run_method(target, args.method, seed=args.seed, settings=settings, box=box)
    ref = grid.reference
    out = {
        "target": target.name,
        "params": target.param_values(),
        **({"expr": target.expr} if args.expr is not None else {}),
        "labels": list(target.labels),
        "box": list(grid.box),
        "method": args.method,
        "seed": args.seed,
        "log_evidence": grid.log_z,
        "log_evidence_exact": getattr(target, "log_z_exact", None),
        "reference": {
            "log_evidence": ref.log_evidence,
            "log_evidence_error": ref.log_evidence_error,
            "mean": ref.mean,
            "cov": ref.cov,
            "mass_outside_box": ref.mass_outside_box,
            "method": ref.method,
            "truncated": grid.reference_truncated,
        },
        "grid_warnings": grid.warnings(),
        "grid_notes": grid.notes(),
    }
    summary = res.summary()
    if methods.get(args.method).kind == "mcmc":
        out.update(elbo=None, kl=None)
    out.update(summary)
    modes = ladder_mod.result_modes(target, grid, res)
    if modes is not None:  # a target with declared modes: the mass nearest each, against the exact
        out["mode_masses"] = {"method": list(modes[0]), "exact": list(modes[1])}
    out = {
        k: ({kk: _jsonable(vv) for kk, vv in v.items()} if isinstance(v, dict) else _jsonable(v))
        for k, v in out.items()
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            if isinstance(v, float):
                v = f"{v:.6g}"
            print(f"{k:20s} {v}")
    return 0


def _glue_values(argv: list[str]) -> list[str]:
    """'--box -4,4,-4,4' and '--expr "-(x**2)/2"' start with '-', which argparse takes for an
    option; glue such values to their flag ('--box=-4,4,-4,4') before parsing."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in ("--box", "--expr") and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_glue_values(sys.argv[1:] if argv is None else argv))
    try:
        if args.command == "scale":
            return cmd_scale(args)
        if args.command == "ladder":
            return cmd_ladder(args)
        return cmd_targets(args) if args.command == "targets" else cmd_run(args)
    except ValueError as exc:
        msg = " ".join(str(exc).split())  # one line, whatever the message held
        print(f"python -m vi_core: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
