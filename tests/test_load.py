"""Smoke test of the load benchmark: its printed figures come from real measurements (its own server, two sessions
over the websocket; no browser). The session client's own tests run against ``python -m ui.serve``
(tests/ui/test_serve.py)."""

from __future__ import annotations

import re

from benchmarks import load


def test_the_benchmark_prints_measured_figures(capsys):
    assert load.main(["--sessions", "2", "--waves", "1"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("wave 1"))
    n, charts, ttc_med, ttc_max, _end_med, end_max, errors, refused, timeouts, wall, rss, peak, srv, wrk = row.split()[
        2:
    ]
    assert (int(n), int(charts), int(errors), int(refused), int(timeouts)) == (2, 2, 0, 0, 0), out
    assert 0 < float(ttc_med) <= float(ttc_max) <= float(end_max) <= float(wall) + 0.5, out
    assert 50 < float(rss) <= float(peak), out
    # CPU per session: the server renders each page, a worker runs each (distinct) run -- both do measurable work
    assert 0 < float(srv) < float(wall) and 0 < float(wrk) < 2 * float(wall), out
    assert re.search(r"peak RSS \(VmHWM\) since it started: \d+ MB", out), out
