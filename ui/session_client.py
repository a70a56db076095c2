"""A headless Streamlit session over the websocket: what a browser tab does, without the browser.

Used by ``ui.serve`` (one warm-up session before the first visitor) and ``benchmarks.load`` (many concurrent
sessions). The handshake, as Streamlit 1.67's starlette server expects it
(streamlit/web/server/starlette/starlette_websocket.py, runtime/app_session.py):

1. Open ``ws://host:port/_stcore/stream`` with the subprotocol ``streamlit``. The server reads the
   Sec-WebSocket-Protocol entries as (subprotocol, XSRF token, existing session id); a new session needs neither
   token nor id, and with no ``Origin`` header there is no XSRF check. The server accepts and creates an AppSession
   at once, but runs nothing yet.
2. Send one binary ``BackMsg`` with ``rerun_script`` = a ``ClientState`` carrying the page's query string (without
   ``?``), ``page_script_hash`` "" (the default page) and no widget states: the browser sends the same on connect.
3. Receive binary ``ForwardMsg``s: ``new_session`` (the run starts), ``session_status_changed``, ``delta``s (the
   elements: ``delta.new_element.plotly_chart`` or ``.bidi_component`` (ui.plot's charts) / ``.exception`` /
   ``.alert``), ``page_info_changed`` (the script set the query string), then ``script_finished``. We never send
   ``cached_message_hashes``, so every message arrives in full (no ``ref_hash`` references to resolve).

Frames can be several MB (the race figure), so the client lifts ``websockets``' 1 MiB default frame limit.

    result = asyncio.run(open_session("http://127.0.0.1:8501", "target=gaussian&run=1", chart_key="race"))
    result.chart_s, result.exceptions, result.errors
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import time
from urllib.parse import urlsplit

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

__all__ = ["SessionResult", "open_session", "stream_url"]

SUBPROTOCOL = "streamlit"
MAX_FRAME = 64 * 2**20  # bytes; Streamlit's own server.maxMessageSize default is 200 MB
# words in an st.error body that mean "the server would not take this run now" rather than "this run failed"
REFUSAL_WORDS = ("queue", "busy", "try again", "cancelled")
FINISH_NAMES = {v: k for k, v in ForwardMsg.ScriptFinishedStatus.items()}


@dataclasses.dataclass
class SessionResult:
    """What one session saw. Times are seconds from just before the websocket was opened."""

    query: str
    connect_s: float | None = None  # websocket open
    first_delta_s: float | None = None  # the first element arrived
    chart_s: float | None = None  # the first wanted plotly chart arrived
    finished_s: float | None = None  # script_finished (a full run, not a rerun's early stop)
    finish_status: str | None = None
    charts: list[str] = dataclasses.field(default_factory=list)  # element ids of every plotly chart
    exceptions: list[str] = dataclasses.field(default_factory=list)  # st.exception / uncaught tracebacks
    errors: list[str] = dataclasses.field(default_factory=list)  # st.error bodies
    messages: int = 0
    bytes: int = 0
    failure: str | None = None  # timed out / closed / could not connect, in words

    @property
    def refused(self) -> bool:
        """The page said the server is busy (queue full, cancelled), not that the run itself failed."""
        return any(w in e.lower() for e in self.errors for w in REFUSAL_WORDS)

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.exceptions and not self.errors


def stream_url(base_url: str) -> str:
    """``http://host:port[/base]`` -> ``ws://host:port[/base]/_stcore/stream``."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"


def rerun_message(query: str, page_script_hash: str = "") -> bytes:
    """The BackMsg a browser sends when it connects: run the page with this query string."""
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query.lstrip("?")
    state.page_script_hash = page_script_hash
    state.widget_states.SetInParent()
    state.context_info.timezone = "UTC"
    state.context_info.timezone_offset = 0
    state.context_info.locale = "en-US"
    return msg.SerializeToString()


def _observe(result: SessionResult, msg: ForwardMsg, now: float, chart_key: str | None) -> None:
    kind = msg.WhichOneof("type")
    if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        el = msg.delta.new_element
        if result.first_delta_s is None:
            result.first_delta_s = now
        which = el.WhichOneof("type")
        # a chart: st.plotly_chart's, or ui.plot's component (the Playground's race and the charts under it)
        eid = el.plotly_chart.id if which == "plotly_chart" else None
        if which == "bidi_component" and el.bidi_component.component_name == "plot_once":
            eid = el.bidi_component.id
        if eid is not None:
            result.charts.append(eid)
            if result.chart_s is None and (chart_key is None or eid.endswith(f"-{chart_key}")):
                result.chart_s = now
        elif which == "exception":
            result.exceptions.append(f"{el.exception.type}: {el.exception.message}".strip())
        elif which == "alert" and el.alert.format == Alert.ERROR:
            result.errors.append(el.alert.body)
    elif kind == "script_finished":
        status = msg.script_finished
        if status in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
            result.finished_s = now
            result.finish_status = FINISH_NAMES.get(status, str(status))


async def open_session(
    base_url: str,
    query: str = "",
    *,
    chart_key: str | None = None,
    until: str = "finished",
    timeout_s: float = 120.0,
    linger_s: float = 0.0,
) -> SessionResult:
    """Open one session on ``base_url`` with ``query`` and read its ForwardMsgs.

    ``until``: "chart" (stop at the first plotly chart whose key is ``chart_key``; any chart when None),
    "finished" (stop when the script run finishes). ``linger_s``: keep the connection open this much longer
    (a visitor who stays; the server cancels a run nobody waits for). Never raises for what the server does:
    a timeout, a refused or dropped connection lands in ``result.failure``.
    """
    if until not in ("chart", "finished"):
        raise ValueError(f"until must be 'chart' or 'finished', not {until!r}")
    result = SessionResult(query=query)
    t0 = time.perf_counter()
    deadline = t0 + timeout_s

    def done() -> bool:
        if result.finished_s is not None:
            return True  # nothing more will come for this run
        return until == "chart" and result.chart_s is not None

    try:
        async with websockets.connect(
            stream_url(base_url),
            subprotocols=[SUBPROTOCOL],
            max_size=MAX_FRAME,
            open_timeout=min(timeout_s, 30.0),
            ping_interval=None,  # the server pings; websockets answers its pings on its own
            compression=None,  # as the server: server.enableWebsocketCompression is off by default
        ) as ws:
            result.connect_s = time.perf_counter() - t0
            await ws.send(rerun_message(query))
            while not done():
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError
                frame = await asyncio.wait_for(ws.recv(), timeout=left)
                now = time.perf_counter() - t0
                if isinstance(frame, str):
                    continue  # the protocol is binary; nothing to read in a text frame
                result.messages += 1
                result.bytes += len(frame)
                msg = ForwardMsg()
                msg.ParseFromString(frame)
                _observe(result, msg, now, chart_key)
            if linger_s > 0:
                await asyncio.sleep(linger_s)
    except TimeoutError:
        result.failure = f"timed out after {timeout_s:g} s"
    except websockets.ConnectionClosed as exc:
        result.failure = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
    except (OSError, websockets.InvalidHandshake) as exc:
        result.failure = f"could not connect: {exc}"
    return result


def run_sync(coro):
    """asyncio.run(coro) on a thread of its own: safe where the calling thread already runs an event loop
    (a test process that also drives Playwright's sync API, say)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
