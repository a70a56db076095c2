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
    assert "engine compute" in out and "race payload (ui.plot" in out and "race sent per view" in out, out
    # printed with 3 decimals: equal to half a unit of the last (a relative 1e-3 fails on ~0.4 MB when it rounds)
    assert abs(res["cavi", "iteration"]["page_mb"][0] - mb) <= 0.0005 + 1e-9, out


def _event(name, ts, dur, tid=1, pid=7):
    return {"ph": "X", "name": name, "ts": ts, "dur": dur, "pid": pid, "tid": tid}


def test_trace_breakdown_counts_outermost_work_once_and_script_by_file():
    import json

    events = [
        {"ph": "M", "name": "thread_name", "pid": 7, "tid": 1, "args": {"name": "CrRendererMain"}},
        {"ph": "M", "name": "thread_name", "pid": 7, "tid": 2, "args": {"name": "Compositor"}},
        _event("RunTask", 0, 500_000),
        _event("FunctionCall", 0, 300_000),
        _event("FunctionCall", 10_000, 100_000),  # nested in the first: not counted again
        _event("Layout", 320_000, 50_000),
        _event("RunTask", 600_000, 100_000),
        _event("Paint", 600_000, 20_000),
        _event("Layout", 0, 999_000, tid=2),  # another thread: not the main one
        {"ph": "P", "name": "ProfileChunk", "pid": 7, "tid": 1, "args": {"data": {
            "cpuProfile": {"nodes": [
                {"id": 1, "callFrame": {"url": "http://h/static/js/PlotlyChart.abc.js"}},
                {"id": 2, "callFrame": {"url": "http://h/static/js/react-dom.x.js?v=1"}},
                {"id": 3, "callFrame": {"url": ""}},
            ], "samples": [1, 1, 2, 3]},
            "timeDeltas": [1000, 2000, 500, 9000]}}},
    ]  # fmt: skip
    out = playground.trace_breakdown(json.dumps({"traceEvents": events}).encode())
    assert out["kinds"] == {"script": 0.3, "layout": 0.05, "paint": 0.02}
    assert out["busy_s"] == 0.6 and math.isclose(out["window_s"], 0.7)
    assert out["files"] == {"PlotlyChart.abc.js": 0.003, "react-dom.x.js": 0.0005}


def test_floor_flags_parse():
    args = playground._parse(["--floor", "--pairs", "5", "--no-trace"])
    assert args.floor and args.pairs == 5 and args.no_trace
