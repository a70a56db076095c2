"""Many visitors at once on one server: time to the race chart, refusals, the server's memory.

    python -m benchmarks.load --sessions 20 [--waves 3] [--port P] [--worst] [--distinct-max N] [--cold]

Starts its own ``streamlit run app.py`` (headless, a free port unless --port, output to a log file), warms it the
way ``python -m ui.serve`` does (the default page, then the default run; --cold skips this, so the first wave
also pays for ``ui.compute.warm_up`` and the results page's first imports), then drives sessions over the
websocket with ``ui.session_client`` (no browser):

* waves: ``--sessions`` sessions at once, each a link with DISTINCT default-sized settings
  (``/?target=gaussian&vi=cavi&mcmc=emcee&seed=K&run=1``, a new seed K per session and wave, so every one is a
  cache miss); the next wave starts when the last session of this one has finished. Per wave: time to chart
  (opening the session -> the first ForwardMsg carrying the race figure, ``st.plotly_chart(key="race")``) median
  and max, time to the script's end, sessions with an error (a traceback, an ``st.error`` or a timeout) and
  refusals among them (the page said the queue is full or the run was cancelled), the server's RSS after the
  wave and its peak during the wave (VmHWM from /proc/<pid>/status, reset per phase through clear_refs), and the
  CPU seconds per session of the server process and of its worker processes (/proc/<pid>/stat).
* ``--worst``: one session asks for the worst link (a 500-character typed target, gauss-fr with 3000 steps x 256
  samples, emcee with 256 walkers x 5000 steps, a 600 x 600 grid); 1 s later a second session asks for a new
  default-sized run. Prints the second session's time to chart and the server's RSS peak above idle.
* ``--distinct-max N``: N sessions with DISTINCT maximum-settings runs (built-in targets in turn, a new seed
  each; ``--parallel`` at a time), then the server's RSS (the goal: 200 such runs leave it under 1.5 GB).

Prints figures only; asserts nothing. Times include the client's own parsing on the same machine, and other load
on the machine shows in them: the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlencode

from ui.serve import free_port, start_server, stop, wait_healthy, warm, warmed
from ui.session_client import SessionResult, open_session, run_sync

CHART_KEY = "race"  # st.plotly_chart(..., key="race") in ui/playground.py
DEFAULT_LINK = {"target": "gaussian", "vi": "cavi", "mcmc": "emcee"}
WORST_EXPR_BASE = "-(x**2 + y**2)/2 + log(1 + x**2)"
MAX_ROW = 20  # --distinct-max: one table row per this many runs
MAX_TARGETS = ("gaussian", "banana", "donut", "mixture", "funnel", "squiggle")  # in turn; unknown names skipped


# ------------------------------------------------------------------------------------------ links


def default_link(seed: int) -> str:
    """A default-sized run that no other session asks for: only the seed differs."""
    return urlencode({**DEFAULT_LINK, "seed": str(seed), "run": "1"})


def worst_expr(max_length: int) -> str:
    """The longest typed target of harmless terms that fits in ``max_length`` characters."""
    expr, k = WORST_EXPR_BASE, 1
    while len(longer := f"{expr} + 0.01*sin({k}*x)*cos({k}*y)") <= max_length:
        expr, k = longer, k + 1
    return expr


def _link(spec) -> str:
    from ui.spec import from_query, to_query

    query = to_query(spec)
    _, _, notices = from_query(query)
    if notices:  # a link the page would "correct" is not the run we mean to measure
        raise ValueError(f"the benchmark's link is not taken as it is: {notices}")
    return urlencode({**query, "run": "1"})


def _max_settings():
    """Every whole-number knob a link carries at the Playground's top (grid 600, 3000 VI steps, 256 walkers, …)."""
    from ui.spec import FORM
    from vi_core.settings import Settings

    return Settings(**{s.field: s.kind(s.ui_hi) for s in FORM if s.kind is int})


def worst_link() -> str:
    """target=custom with a long expression, gauss-fr 3000 x 256, emcee 256 walkers x 5000 steps, grid 600."""
    from ui.spec import RunSpec
    from vi_core.settings import Settings
    from vi_core.targets.expr import MAX_LENGTH, make_expr_target

    settings = Settings(n_grid=600, vi_steps=3000, vi_samples=256, walkers=256, mcmc_steps=5000)
    target = make_expr_target(worst_expr(MAX_LENGTH), "-4, 4, -4, 4")
    return _link(RunSpec(target, vi="gauss-fr", mcmc="emcee", seed=1, settings=settings))


def max_links(n: int, first_seed: int) -> list[str]:
    """n DISTINCT maximum-settings runs on built-in targets: every int knob at the Playground's top, VI gauss-fr."""
    from ui.spec import RunSpec
    from vi_core.targets import REGISTRY, make_target

    names = [t for t in MAX_TARGETS if t in REGISTRY] or list(REGISTRY)[:1]
    settings = _max_settings()
    return [
        _link(RunSpec(make_target(names[i % len(names)]), vi="gauss-fr", mcmc="emcee", seed=first_seed + i,
                      settings=settings))
        for i in range(n)
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------ memory


class Memory:
    """The server's resident memory from /proc/<pid>/status, in MB; its peak can be reset per phase."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.resettable = self.reset_peak()

    def _field(self, name: str) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) / 1024  # kB -> MB
        raise KeyError(name)

    def rss(self) -> float:
        return self._field("VmRSS")

    def peak(self) -> float:
        return self._field("VmHWM")

    def reset_peak(self) -> bool:
        """Start VmHWM again from the current RSS (Linux >= 4.0, our own child); False if not allowed."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False


# ------------------------------------------------------------------------------------------ runs


def _descendants(pid: int) -> list[int]:
    """Every process below pid (Linux /proc children lists), depth first."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        for k in kids:
            out += [k, *_descendants(k)]
    return out


async def _many(url: str, links: Sequence[str], timeout_s: float, parallel: int | None = None) -> list[SessionResult]:
    gate = asyncio.Semaphore(parallel or len(links))

    async def one(link: str) -> SessionResult:
        async with gate:
            return await open_session(url, link, chart_key=CHART_KEY, until="finished", timeout_s=timeout_s)

    return list(await asyncio.gather(*(one(link) for link in links)))


async def _worst_pair(url: str, worst: str, second: str, delay_s: float, timeout_s: float):
    big = asyncio.create_task(open_session(url, worst, chart_key=CHART_KEY, until="finished", timeout_s=timeout_s))
    await asyncio.sleep(delay_s)
    small = await open_session(url, second, chart_key=CHART_KEY, until="finished", timeout_s=timeout_s)
    return await big, small


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc/<pid>/stat; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15


def _cpu(pid: int) -> tuple[float, float]:
    """(the server process's CPU seconds, its worker processes' summed)."""
    return cpu_s(pid), sum(cpu_s(p) for p in _descendants(pid))


@dataclasses.dataclass
class Row:
    label: str
    results: list[SessionResult]
    wall_s: float
    rss_mb: float
    peak_mb: float
    server_cpu_s: float = 0.0
    worker_cpu_s: float = 0.0

    def times(self, field: str) -> list[float]:
        return [getattr(r, field) for r in self.results if getattr(r, field) is not None]


def _fmt(values: Iterable[float], how) -> str:
    values = list(values)
    return f"{how(values):6.2f}" if values else "     —"


def _print_table(rows: Sequence[Row], idle_mb: float) -> None:
    head = (
        f"{'phase':<10} {'n':>3} {'chart':>5} {'ttc med':>7} {'ttc max':>7} {'end med':>7} {'end max':>7} "
        f"{'errors':>6} {'refused':>7} {'t/o':>3} {'wall s':>6} {'RSS MB':>7} {'peak MB':>7} {'cpu/s srv':>9} "
        f"{'wrk':>5}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        charts, ends = row.times("chart_s"), row.times("finished_s")
        errors = sum(not r.ok for r in row.results)
        refused = sum(r.refused for r in row.results)
        timeouts = sum(r.failure is not None for r in row.results)
        print(
            f"{row.label:<10} {len(row.results):>3} {len(charts):>5} {_fmt(charts, statistics.median):>7} "
            f"{_fmt(charts, max):>7} {_fmt(ends, statistics.median):>7} {_fmt(ends, max):>7} {errors:>6} {refused:>7} "
            f"{timeouts:>3} {row.wall_s:>6.1f} {row.rss_mb:>7.0f} {row.peak_mb:>7.0f} "
            f"{row.server_cpu_s / len(row.results):>9.3f} {row.worker_cpu_s / len(row.results):>5.3f}"
        )
    print(f"ttc / end: seconds from opening a session to the race chart / the script's end; idle RSS {idle_mb:.0f} MB")
    print("errors: sessions with a traceback, an st.error or a failure; refused and t/o (timeouts) are among them")
    print("cpu/s: CPU seconds per session in the phase, the server process (srv) and its worker processes (wrk)")


def _print_problems(rows: Sequence[Row]) -> None:
    seen = 0
    for row in rows:
        for r in row.results:
            if r.ok:
                continue
            what = r.failure or "; ".join(r.exceptions + r.errors)
            print(f"  {row.label}: {r.query[:80]}… -> {what[:200]}")
            seen += 1
            if seen >= 10:
                print("  (more left out)")
                return


def _phase(memory: Memory, label: str, run) -> Row:
    memory.reset_peak()
    cpu0 = _cpu(memory.pid)
    t0 = time.perf_counter()
    results = run()
    wall = time.perf_counter() - t0
    cpu1 = _cpu(memory.pid)
    return Row(label, results, wall, memory.rss(), memory.peak(), cpu1[0] - cpu0[0], cpu1[1] - cpu0[1])


def run(args: argparse.Namespace) -> int:
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    log_dir = Path(tempfile.mkdtemp(prefix="load-"))
    log_path = log_dir / "streamlit.log"
    server_args = [
        "--server.headless", "true",
        "--server.port", str(port),
        # the file watcher as the repository's config sets it (as a deployment runs), not overridden here
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    print(f"server: streamlit run app.py on {url}; log {log_path}")
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with log_path.open("wb") as log:
        proc = start_server(server_args, log)
        try:
            wait_healthy(url, proc)
            memory = Memory(proc.pid)
            idle = memory.rss()
            peaks = [memory.peak()]
            rows: list[Row] = []
            if not args.cold:
                t0 = time.perf_counter()
                w = warm(url)
                state = "ok" if warmed(w) else next(r.failure or "errors on the page" for r in w if not r.ok)
                print(f"warm-up sessions: {time.perf_counter() - t0:.2f} s ({state}); RSS {memory.rss():.0f} MB")
                idle = memory.rss()
                peaks.append(memory.peak())
            seed = 1000  # seeds above the default's (0) and any a person is likely to have cached
            for wave in range(args.waves):
                links = [default_link(0 if args.same else seed + i) for i in range(args.sessions)]
                seed += args.sessions
                rows.append(
                    _phase(memory, f"wave {wave + 1}", lambda links=links: run_sync(_many(url, links, args.timeout)))
                )
            worst_info = None
            if args.worst:
                before = memory.rss()
                second = default_link(seed)
                seed += 1
                row = _phase(
                    memory,
                    "worst+1",
                    lambda: list(run_sync(_worst_pair(url, worst_link(), second, 1.0, args.timeout))),
                )
                rows.append(row)
                worst_info = (row, before)
            if args.distinct_max:
                links = max_links(args.distinct_max, seed)
                seed += args.distinct_max
                for start in range(0, len(links), MAX_ROW):  # a row (RSS after it) per MAX_ROW runs
                    chunk = links[start : start + MAX_ROW]
                    rows.append(
                        _phase(memory, f"max {start + len(chunk)}",
                               lambda chunk=chunk: run_sync(_many(url, chunk, args.timeout, args.parallel)))
                    )  # fmt: skip
                    print(f"  {rows[-1].label} runs done: RSS {rows[-1].rss_mb:.0f} MB", flush=True)
            print()
            _print_table(rows, idle)
            if worst_info is not None:
                row, before = worst_info
                big, small = row.results
                print(
                    f"worst link: chart {_s(big.chart_s)}, end {_s(big.finished_s)}, "
                    f"{'ok' if big.ok else (big.failure or '; '.join(big.exceptions + big.errors))[:160]}"
                )
                print(
                    f"default run started 1 s later: time to chart {_s(small.chart_s)}, end {_s(small.finished_s)}"
                    f"{'' if small.ok else ' — ' + (small.failure or '; '.join(small.exceptions + small.errors))[:160]}"
                )
                print(
                    f"server RSS peak during the pair: {row.peak_mb:.0f} MB = {row.peak_mb - before:+.0f} MB above "
                    f"the RSS before it ({before:.0f} MB), {row.peak_mb - idle:+.0f} MB above idle"
                )
            if args.distinct_max:
                print(f"after {args.distinct_max} distinct maximum-settings runs: RSS {memory.rss():.0f} MB")
            peak = max([*peaks, *(row.peak_mb for row in rows)])
            print(
                f"server peak RSS (VmHWM) since it started: {peak:.0f} MB; RSS now {memory.rss():.0f} MB"
                f"{'' if memory.resettable else ' (clear_refs not allowed: every peak MB is since the start)'}"
            )
            workers = _descendants(memory.pid)
            if workers:  # the heavy-run worker and its fork server: memory outside the server's own
                rss = sum(Memory(p).rss() for p in workers)
                hwm = sum(Memory(p).peak() for p in workers)
                print(
                    f"{len(workers)} worker processes (the runs, with their fork server): "
                    f"RSS {rss:.0f} MB, peaks summed {hwm:.0f} MB"
                )
            print(f"load average now {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
            if any(not r.ok for row in rows for r in row.results):
                print("problems:")
                _print_problems(rows)
        finally:
            stop(proc, timeout_s=15)
    return 0


def _s(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f} s"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=20, help="concurrent sessions per wave (default 20)")
    p.add_argument("--waves", type=int, default=1, help="waves, one after the other (default 1)")
    p.add_argument("--port", type=int, default=None, help="the server's port (default: a free one)")
    p.add_argument("--worst", action="store_true", help="also: the worst link, and a default run 1 s after it")
    p.add_argument("--distinct-max", type=int, default=0, metavar="N", help="also: N distinct maximum-settings runs")
    p.add_argument("--parallel", type=int, default=2, help="--distinct-max sessions at a time (default 2)")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds one session may take (default 180)")
    p.add_argument("--cold", action="store_true", help="no warm-up session before the first wave")
    p.add_argument("--same", action="store_true", help="every session opens the default link (a class on one link)")
    args = p.parse_args(argv)
    if args.sessions < 0 or args.waves < 0 or args.parallel < 1:
        p.error("--sessions and --waves must be >= 0, --parallel >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
