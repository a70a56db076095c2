"""Smoke test of the engine benchmark: it runs and prints its table (no timing assertions)."""

import math
import re

from benchmarks import engine


def test_engine_benchmark_prints_rows_and_a_finite_ratio(capsys):
    assert engine.main(["--repeats", "1", "--targets", "gaussian", "--methods", "gauss-mf,rwm"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "emcee" in out and "CPUs" in out
    rows = {m: re.search(rf"^gaussian\s+{re.escape(m)}\s+(.*)$", out, re.MULTILINE) for m in ("gauss-mf", "rwm")}
    assert all(rows.values()), out
    ratio = re.match(r"\d+\s+\S+\s+\S+\s+\S+\s+(\S+) \[", rows["rwm"].group(1))
    assert ratio and math.isfinite(float(ratio.group(1))) and float(ratio.group(1)) > 0, out
    assert rows["rwm"].group(1).rstrip().endswith("yes")  # raw emcee reproduced our chain
