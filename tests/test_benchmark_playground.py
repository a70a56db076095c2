"""Smoke test of the Playground benchmark's in-process part: it runs and prints the page payload (no timings
asserted, no browser)."""

import math
import re

from benchmarks import playground


def test_server_side_prints_a_finite_page_payload(capsys):
    res = playground.server_side(repeats=1, methods=("cavi",), clocks=("iteration",), warmup=False)
    out = capsys.readouterr().out
    line = re.search(r"^\s*payload page total \(race\+accuracy\+2 marginals\) MB\s+([0-9.eE+-]+)", out, re.MULTILINE)
    assert line, out
    mb = float(line.group(1))
    assert math.isfinite(mb) and mb > 0, out
    assert "engine compute" in out and "Plotly validation" in out and "to_json" in out, out
    # printed with 3 decimals: equal to half a unit of the last (a relative 1e-3 fails on ~0.4 MB when it rounds)
    assert abs(res["cavi", "iteration"]["page_mb"][0] - mb) <= 0.0005 + 1e-9, out
