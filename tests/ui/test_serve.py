"""ui.serve, as deployed (``python -m ui.serve``), and ui.session_client against it: the server is healthy and warm
(the warm-up sessions finished without an exception) before any visitor; two sessions at once each get the race;
the client reads an error element; SIGTERM reaches the server and ui.serve exits with its code (checked as the
module's server stops). One server for the module (starting one costs ~10 s of CPU on a loaded 2-core machine)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from benchmarks import load
from ui.serve import REPO_ROOT, base_url, free_port, ready_file, stop
from ui.session_client import open_session, run_sync

WAIT_S = 90.0  # generous for a loaded CI machine; on an idle 2-core machine it is warm in ~4 s


class Served(NamedTuple):
    url: str
    proc: subprocess.Popen
    log: Path


def test_base_url_follows_the_options():
    assert base_url(["--server.port", "9000"]) == "http://127.0.0.1:9000"
    assert base_url(["--server.port=9001", "--server.address", "0.0.0.0"]) == "http://127.0.0.1:9001"
    assert base_url(["--server.port", "1", "--server.baseUrlPath", "/demo/"]) == "http://127.0.0.1:1/demo"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """``python -m ui.serve`` on a free port, once it has logged its warm-up (or failed to). Afterwards, whatever
    order the tests ran in: SIGTERM reaches the server and ui.serve exits with its code, 0."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    cmd = [sys.executable, "-m", "ui.serve", "--server.port", str(port), "--server.headless", "true",
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    with log_path.open("wb") as log:
        # no background lesson warm-up here: its runs would load the machine under the other tests
        env = {**os.environ, "UI_SERVE_LESSONS": "0"}
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + WAIT_S
            text = ""
            while "ui.serve: warm" not in text and "did not complete" not in text:
                assert proc.poll() is None, f"ui.serve exited with {proc.returncode}:\n{log_path.read_text()}"
                assert time.monotonic() < deadline, f"not warm after {WAIT_S:.0f} s:\n{text}"
                time.sleep(0.2)
                text = log_path.read_text(errors="replace")
            yield Served(f"http://127.0.0.1:{port}", proc, log_path)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0, log_path.read_text()
            assert not ready_file(["--server.port", str(port)]).exists()  # a stopped server is not ready
        finally:
            stop(proc)  # SIGTERM first: ui.serve passes it on (its server runs in its own session)


def test_serve_warms_before_the_first_visitor(served):
    text = served.log.read_text(errors="replace")
    line = next(ln for ln in text.splitlines() if ln.startswith("ui.serve: warm"))
    assert "without an exception" in line, text
    with urllib.request.urlopen(f"{served.url}/_stcore/health", timeout=5) as r:
        assert r.read().decode().strip() == "ok"


def test_two_sessions_each_get_the_race_chart(served):
    async def both():
        return await asyncio.gather(
            *(open_session(served.url, load.default_link(seed), chart_key=load.CHART_KEY, timeout_s=90)
              for seed in (7001, 7002))
        )  # fmt: skip

    for r in run_sync(both()):
        assert r.failure is None, r
        assert r.exceptions == [] and r.errors == [], r
        assert any(c.endswith("-race") for c in r.charts), r.charts
        assert 0 < r.connect_s < r.chart_s <= r.finished_s, r
        assert r.finish_status == "FINISHED_SUCCESSFULLY"


def test_the_client_sees_an_error_element(served):
    # a typed target that cannot be normalised: the page refuses it with st.error (never a traceback)
    r = run_sync(open_session(served.url, "target=custom&expr=x&box=-4,4,-4,4&run=1", timeout_s=90))
    assert r.finished_s is not None and r.exceptions == []
    assert r.errors or r.charts  # whichever the page does, the client read real elements


def test_every_lesson_link_is_listed_and_a_lesson_warms_in_the_background(served, monkeypatch, capsys):
    from urllib.parse import parse_qsl

    from ui import serve
    from ui.lessons import LESSONS
    from ui.spec import from_query

    queries = serve.lesson_queries()
    assert [from_query(dict(parse_qsl(q)))[0] for q in queries] == [x.spec for x in LESSONS]
    monkeypatch.setattr(serve, "lesson_queries", lambda: queries[:1])
    serve.warm_lessons(served.url)
    assert "lessons warm in" in (last := capsys.readouterr().err.splitlines()[-1]) and "(1 of 1 links)" in last
    # the lesson's runs are now cached: its link opens without computing them
    r = run_sync(open_session(served.url, queries[0], chart_key=load.CHART_KEY, timeout_s=90))
    assert r.failure is None and any(c.endswith("-race") for c in r.charts), r


def test_the_health_check_passes_only_once_the_server_is_warm_and_answering(served, tmp_path, monkeypatch):
    from ui import serve

    port = served.url.rsplit(":", 1)[1]
    args = ["--server.port", port]
    deadline = time.monotonic() + WAIT_S
    while not serve.ready_file(args).exists():  # written once the warm-up (here without lessons) is done
        assert time.monotonic() < deadline, served.log.read_text(errors="replace")
        time.sleep(0.2)
    assert "ui.serve: ready" in served.log.read_text(errors="replace")
    cmd = [sys.executable, "-m", "ui.serve", "--check", "--server.port"]
    assert subprocess.run([*cmd, port], cwd=REPO_ROOT, capture_output=True, timeout=60).returncode == 0

    # not ready: no file for that port (a server still warming), or a file but nobody answering
    monkeypatch.setattr(serve.tempfile, "gettempdir", lambda: str(tmp_path))
    other = ["--server.port", str(free_port())]
    assert serve.check(other) == 1
    serve.ready_file(other).write_text("1\n")
    assert serve.check(other) == 1
