"""Smoke test of the engine benchmark: it runs and prints its table (no timing assertions)."""

import math
import re

from benchmarks import engine


def test_engine_benchmark_prints_rows_and_a_finite_ratio(capsys):
    assert engine.main(["--repeats", "1", "--targets", "gaussian", "--methods", "gauss-mf,emcee"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "emcee" in out and "CPUs" in out
    rows = {m: re.search(rf"^gaussian\s+{re.escape(m)}\s+(.*)$", out, re.MULTILINE) for m in ("gauss-mf", "emcee")}
    assert all(rows.values()), out
    ratio = re.match(r"\d+\s+\S+\s+\S+\s+\S+\s+(\S+) \[", rows["emcee"].group(1))
    assert ratio and math.isfinite(float(ratio.group(1))) and float(ratio.group(1)) > 0, out
    assert rows["emcee"].group(1).rstrip().endswith("yes")  # raw emcee reproduced our chain


def test_samplers_benchmark_prints_one_row_per_sampler(capsys):
    from benchmarks import samplers

    assert samplers.main(["--repeats", "1", "--targets", "gaussian", "--methods", "rwm,gibbs"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^gaussian\s+(rwm|gibbs)\s+([\d.]+)\s+(\d+)", out, re.MULTILINE)
    assert [r[0] for r in rows] == ["rwm", "gibbs"] and all(float(r[2]) > 0 for r in rows), out
