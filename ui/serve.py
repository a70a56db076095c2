"""Serve the app warm: ``python -m ui.serve [streamlit run options]``.

Streamlit has no start-up hook, and the app warms itself (``ui.compute.warm_up``: every method once, tiny, and
the default race figure) on the first script run, so without this the first visitor waits for it. This starts
``streamlit run app.py <options>`` (options passed through as they are), waits for ``/_stcore/health``, opens one
headless session on the default page (``ui.session_client``; no run) so that warm_up() runs before anyone
visits, then a second one with the default run (``?target=gaussian&run=1``: a cache hit after warm_up) so the
results page's first-use imports happen too (``st.table`` imports pandas; when two visitors' first results pages
did that at once, one of them got plotly's "partially initialized module 'pandas'" AttributeError). It logs how
long that took, then waits on the server: SIGTERM and SIGINT are forwarded to it and this process exits with the
server's code. A failed warm-up is logged and the server keeps serving. Then, in the background, it opens every
lesson's link once, all at once (``ui.lessons.LESSONS``; listed by a short-lived subprocess, so this launcher
never holds the engine): a class opening a lesson together finds its runs computed (a lesson's first visitor
otherwise waits for them: ~6.5 s for the flow's). ``UI_SERVE_LESSONS=0`` in the environment skips that.

Ready: once the warm-up is done (the lessons' too, whether or not each succeeded) it writes ``ready_file(args)``
(one per port, in the temporary directory; removed on exit), and ``python -m ui.serve --check <options>`` exits 0
only when that file is there and the server answers its health check: the Docker image's HEALTHCHECK, so an
orchestrator sends visitors to a new container only once a lesson link opens as fast as the default link.

    python -m ui.serve --server.port 8501 --server.address 0.0.0.0     # the Docker image's command
    python -m ui.serve --check --server.port 8501                      # its health check

``start_server``, ``wait_healthy``, ``free_port`` and ``stop`` are reused by the benchmarks and tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ui.session_client import SessionResult, open_session, run_sync

__all__ = [
    "APP",
    "REPO_ROOT",
    "base_url",
    "check",
    "free_port",
    "lesson_queries",
    "main",
    "ready_file",
    "start_server",
    "stop",
    "wait_healthy",
    "warm",
    "warm_lessons",
    "warmed",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = "app.py"
HEALTH_TIMEOUT_S = 120.0
WARM_TIMEOUT_S = 300.0
# the default page (runs warm_up), then the default run: ui.spec.from_query gives ui.spec.DEFAULT for a bare target
WARM_QUERIES = ("", "target=gaussian&run=1")
PREFIX = "ui.serve:"


def log(text: str) -> None:
    print(f"{PREFIX} {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A port the OS considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _option(args: Sequence[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` among streamlit's options (the last one wins)."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return value


def base_url(args: Sequence[str]) -> str:
    """Where this machine reaches the server started with ``args``: the port, address and base path they set
    (else the environment's STREAMLIT_SERVER_*, else Streamlit's defaults); a wildcard address -> 127.0.0.1."""
    port = _option(args, "--server.port") or os.environ.get("STREAMLIT_SERVER_PORT") or "8501"
    address = _option(args, "--server.address") or os.environ.get("STREAMLIT_SERVER_ADDRESS") or "127.0.0.1"
    if address in ("0.0.0.0", "::", ""):
        address = "127.0.0.1"
    if ":" in address:
        address = f"[{address}]"
    path = (_option(args, "--server.baseUrlPath") or os.environ.get("STREAMLIT_SERVER_BASE_URL_PATH") or "").strip("/")
    return f"http://{address}:{port}" + (f"/{path}" if path else "")


def ready_file(args: Sequence[str]) -> Path:
    """The file ui.serve writes once the server started with ``args`` is warm (one per port)."""
    port = _option(args, "--server.port") or os.environ.get("STREAMLIT_SERVER_PORT") or "8501"
    return Path(tempfile.gettempdir()) / f"ui-serve-{port}.ready"


def check(args: Sequence[str], quiet: bool = False) -> int:
    """0 when the server started with ``args`` answers its health check and ui.serve has marked it ready, else 1
    (with the reason on stderr unless ``quiet``)."""
    say = (lambda _text: None) if quiet else log
    if not ready_file(args).exists():
        say(f"not ready: warming up (no {ready_file(args).name})")
        return 1
    try:
        with urllib.request.urlopen(f"{base_url(args)}/_stcore/health", timeout=4) as r:
            ok = r.read().decode().strip() == "ok"
    except OSError as exc:
        say(f"not healthy: {exc}")
        return 1
    return 0 if ok else 1


def start_server(args: Sequence[str], output: IO[bytes] | None = None, **popen) -> subprocess.Popen:
    """``python -m streamlit run app.py *args`` in the repository root; output to ``output`` (None: inherit).
    Use a file, not a pipe nobody reads: a full pipe blocks the server."""
    cmd = [sys.executable, "-m", "streamlit", "run", APP, *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT if output else None, env=env, **popen
    )


def stop(proc: subprocess.Popen, timeout_s: float = 20.0) -> int:
    """Terminate ``proc`` (if it still runs), kill it if it lingers past ``timeout_s``; its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = HEALTH_TIMEOUT_S) -> float:
    """Poll ``url``/_stcore/health until it answers ok; the seconds it took. RuntimeError if the server exits or
    stays unhealthy."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return time.monotonic() - t0
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise RuntimeError(f"streamlit not healthy after {timeout_s:.0f} s")


def warm(url: str, timeout_s: float = WARM_TIMEOUT_S) -> list[SessionResult]:
    """The warm-up sessions, one after the other (``WARM_QUERIES``); stops at the first that fails."""
    results = []
    for query in WARM_QUERIES:
        results.append(run_sync(open_session(url, query, until="finished", timeout_s=timeout_s)))
        if not warmed(results[-1:]):
            break
    return results


def lesson_queries() -> list[str]:
    """Every lesson's link (its query string), from a subprocess that imports ui.lessons and exits."""
    code = "import json, urllib.parse; from ui.lessons import LESSONS; " \
        "print(json.dumps([urllib.parse.urlencode(x.query) for x in LESSONS]))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def warm_lessons(url: str, timeout_s: float = WARM_TIMEOUT_S) -> None:
    """Open every lesson's link at once (the queue runs them on both workers: the flow lesson's ~6 s beside all the
    others, ~13 s one after the other) and log how long that took (never raises)."""
    t0 = time.monotonic()
    try:
        queries = lesson_queries()

        async def all_of_them() -> list[SessionResult]:
            return list(await asyncio.gather(*(open_session(url, q, until="finished", timeout_s=timeout_s)
                                               for q in queries)))  # fmt: skip

        results = run_sync(all_of_them())
        bad = [q for q, r in zip(queries, results, strict=True) if not (r.ok and r.finished_s is not None)]
        log(f"lessons warm in {time.monotonic() - t0:.1f} s ({len(queries) - len(bad)} of {len(queries)} links)")
    except Exception as exc:  # a background courtesy: the server serves whatever happens here
        log(f"lesson warm-up stopped: {exc}")


def warmed(results: Sequence[SessionResult]) -> bool:
    """Every session's page finished, with no exception, error or failure."""
    return bool(results) and all(r.ok and r.finished_s is not None for r in results)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--check"]:
        return check(args[1:])
    url = base_url(args)
    ready_file(args).unlink(missing_ok=True)  # a previous server's, on this port
    t0 = time.monotonic()
    started: list[subprocess.Popen] = []
    pending: list[int] = []  # a signal that came before the server existed

    def forward(signum, _frame) -> None:
        if not started:
            pending.append(signum)
        elif started[0].poll() is None:
            started[0].send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    proc = start_server(args, start_new_session=True)  # its own group: a terminal's Ctrl-C reaches it through us
    started.append(proc)
    for signum in pending:
        proc.send_signal(signum)

    try:
        healthy_s = wait_healthy(url, proc)
    except RuntimeError as exc:
        log(str(exc))
        if proc.poll() is None:
            proc.terminate()
        code = proc.wait()
        return code if code > 0 else 1
    log(f"healthy at {url} after {healthy_s:.1f} s; warming up")
    results = warm(url)
    if warmed(results) and len(results) == len(WARM_QUERIES):
        page, default = results
        log(
            f"warm in {page.finished_s + default.finished_s:.1f} s (default page {page.finished_s:.1f} s, default "
            f"run {default.finished_s:.1f} s; both finished without an exception; {time.monotonic() - t0:.1f} s "
            "since start)"
        )
    elif proc.poll() is None:
        bad = next(r for r in results if not (r.ok and r.finished_s is not None))
        what = bad.failure or "; ".join(bad.exceptions + bad.errors) or "the page did not finish"
        log(f"warm-up did not complete (?{bad.query}: {what[:300]}); serving anyway")
    ready = ready_file(args)

    def then_ready() -> None:
        if warmed(results) and os.environ.get("UI_SERVE_LESSONS", "1") != "0":
            warm_lessons(url)
        if proc.poll() is None:
            ready.write_text(f"{os.getpid()}\n")
            log(f"ready ({time.monotonic() - t0:.1f} s since start)")

    threading.Thread(target=then_ready, daemon=True).start()
    try:
        code = proc.wait()
    finally:
        ready.unlink(missing_ok=True)
    return code if code >= 0 else 128 - code  # killed by signal N: the shell's 128 + N


if __name__ == "__main__":
    sys.exit(main())
