"""ui.serve: the server is healthy and warm (the warm-up sessions finished without an exception) before any
visitor; SIGTERM reaches the server and ui.serve exits with its code."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request

from ui.serve import REPO_ROOT, base_url, free_port

WAIT_S = 60.0  # generous for a loaded CI machine; on an idle 2-core machine it is warm in ~4 s


def test_base_url_follows_the_options():
    assert base_url(["--server.port", "9000"]) == "http://127.0.0.1:9000"
    assert base_url(["--server.port=9001", "--server.address", "0.0.0.0"]) == "http://127.0.0.1:9001"
    assert base_url(["--server.port", "1", "--server.baseUrlPath", "/demo/"]) == "http://127.0.0.1:1/demo"


def test_serve_warms_before_the_first_visitor(tmp_path):
    port = free_port()
    log_path = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "ui.serve", "--server.port", str(port), "--server.headless", "true",
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + WAIT_S
            text = ""
            while "ui.serve: warm" not in text and "did not complete" not in text:
                assert proc.poll() is None, f"ui.serve exited with {proc.returncode}:\n{log_path.read_text()}"
                assert time.monotonic() < deadline, f"not warm after {WAIT_S:.0f} s:\n{text}"
                time.sleep(0.2)
                text = log_path.read_text(errors="replace")
            line = next(ln for ln in text.splitlines() if ln.startswith("ui.serve: warm"))
            assert "without an exception" in line, text
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
                assert r.read().decode().strip() == "ok"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0, log_path.read_text()
        finally:
            if proc.poll() is None:  # SIGTERM first: ui.serve passes it on (its server runs in its own session)
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
