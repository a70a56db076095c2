"""Smoke test of the load benchmark's machinery: the websocket session client against a real server, and the
benchmark's printed figures coming from real measurements. Runs everywhere (no browser); ~15 s."""

from __future__ import annotations

import asyncio
import re

import pytest

from benchmarks import load
from ui.serve import free_port, start_server, wait_healthy, warm, warmed
from ui.session_client import open_session, run_sync


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("load") / "streamlit.log"
    args = ["--server.headless", "true", "--server.port", str(port), "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false"]  # fmt: skip
    with log_path.open("wb") as log:
        proc = start_server(args, log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc, timeout_s=60)
            # warm as deployed (python -m ui.serve): on a cold server two first results pages at once can hit
            # plotly reading a half-imported pandas (see ui/serve.py); that is the app's, not the client's, concern
            assert warmed(warm(url, timeout_s=90))
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_two_sessions_each_get_the_race_chart(server_url):
    async def both():
        return await asyncio.gather(
            *(open_session(server_url, load.default_link(seed), chart_key=load.CHART_KEY, timeout_s=90)
              for seed in (7001, 7002))
        )  # fmt: skip

    for r in run_sync(both()):
        assert r.failure is None, r
        assert r.exceptions == [] and r.errors == [], r
        assert any(c.endswith("-race") for c in r.charts), r.charts
        assert 0 < r.connect_s < r.chart_s <= r.finished_s, r
        assert r.finish_status == "FINISHED_SUCCESSFULLY"


def test_the_client_sees_an_error_element(server_url):
    # a typed target that cannot be normalised: the page refuses it with st.error (never a traceback)
    r = run_sync(open_session(server_url, "target=custom&expr=x&box=-4,4,-4,4&run=1", timeout_s=90))
    assert r.finished_s is not None and r.exceptions == []
    assert r.errors or r.charts  # whichever the page does, the client read real elements


def test_the_benchmark_prints_measured_figures(capsys):
    assert load.main(["--sessions", "2", "--waves", "1"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("wave 1"))
    n, charts, ttc_med, ttc_max, _end_med, end_max, errors, refused, timeouts, wall, rss, peak = row.split()[2:]
    assert (int(n), int(charts), int(errors), int(refused), int(timeouts)) == (2, 2, 0, 0, 0), out
    assert 0 < float(ttc_med) <= float(ttc_max) <= float(end_max) <= float(wall) + 0.5, out
    assert 50 < float(rss) <= float(peak), out
    assert re.search(r"peak RSS \(VmHWM\) since it started: \d+ MB", out), out
