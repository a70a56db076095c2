"""The race as a file a teacher can put on a slide: an animated GIF, an MP4, or one clean PNG frame.

Rendered on the server without a browser (Pillow: ui.figures.raster), from the same frames as the Playground's
animation (ui.figures.race.frame_plan), with every panel of the race, a time stamp per frame and no controls.

The renderers are ui.animation's (render_gif, render_mp4, render_png: the app calls them in a worker process
under a visitor's run budget). This module is their command line, from the query string of a Playground share
link (or the whole link):

    python -m ui.export --gif race.gif ""                          # the default run
    python -m ui.export --mp4 race.mp4 --png last.png "target=banana&vi=gauss-fr&mcmc=nuts&clock=time"
    python -m ui.export --png frame.png --frame 10 "https://…/?target=donut&seed=3"

A link the app would only half honour (an unknown target, a refused expression, a value out of bounds) is refused
with one line on stderr and exit status 2; an engine refusal or an unwritable file exits with 1.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
import urllib.parse
from typing import TYPE_CHECKING

from ui import animation

if TYPE_CHECKING:
    from ui.compute import Grid, McmcResult, ViResult
    from ui.spec import RunSpec

__all__ = ["LinkError", "compute", "main", "parse_link"]


class LinkError(ValueError):
    """A share link the export refuses: its message is one plain line."""


def parse_link(text: str) -> tuple[RunSpec, str, list[str]]:
    """A share link's query string (or the whole link) -> (spec, clock, notes). Refuses (LinkError) what the app
    would replace by a default -- a value it cannot read, an unknown target, a refused expression -- since an
    export should show the run that was linked, not another one. Notes: what was changed but kept (an odd number of
    walkers rounded) and keys no link carries."""
    from ui.compute import OLD_QUERY_KEYS
    from ui.spec import FORM_SETTINGS, from_query

    q = text.strip()
    if "?" in q:
        q = q.split("?", 1)[1]
    q = q.split("#", 1)[0]
    fields = [f for f in q.replace(";", "&").split("&") if f]
    bad = next((f for f in fields if "=" not in f), None)
    if bad is not None:
        raise LinkError(f"cannot read the link: “{bad[:40]}” is not key=value (give the share link's query string)")
    try:
        pairs = urllib.parse.parse_qsl("&".join(fields), keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise LinkError(f"cannot read the link: {exc}") from None
    query = dict(pairs)
    spec, clock, notices = from_query(query)
    refused = [n for n in notices if n.startswith("Ignored")]
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        first = re.sub(r"; using the default[^.]*\.$", "", refused[0]).replace("Ignored", "Refused", 1)
        raise LinkError(f"{first}{more}: an export draws the run that was linked, not a default")
    known = {"target", "expr", "box", "vi", "mcmc", "seed", "clock", "run", *FORM_SETTINGS, *OLD_QUERY_KEYS}
    unknown = sorted(k for k in query if k not in known and not k.startswith("p_"))
    notes = [n for n in notices if n not in refused]
    if unknown:
        notes.append(f"ignored keys no share link carries: {', '.join(unknown)}")
    return spec, clock, notes


def compute(spec: RunSpec) -> tuple[Grid, ViResult, McmcResult]:
    """The spec's run in this process (ui.compute.run_here)."""
    from ui.compute import run_here

    return run_here(spec)


# ---------------------------------------------------------------------------------------------- command line


def compute_door():
    """ui.compute, imported when called: --help and a refused link need no engine."""
    from ui import compute as door

    return door


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ui.export",
        description="Render the Playground's race (VI vs MCMC) to a GIF, an MP4 or a PNG, without a browser. "
        "The run is the one a share link describes, computed here with its seed.",
        epilog='Example: python -m ui.export --gif race.gif "target=banana&vi=gauss-fr&mcmc=nuts&clock=time". '
        'An empty query ("") is the default run.',
    )
    p.add_argument("query", nargs="?", default="", help="the share link's query string, or the whole link")
    p.add_argument(
        "--gif", metavar="PATH", help=f"write the animation as a looping GIF ({animation.GIF_WIDTH} px wide)"
    )
    p.add_argument("--mp4", metavar="PATH", help=f"write the animation as an H.264 MP4 ({animation.MP4_WIDTH} px wide)")
    p.add_argument("--png", metavar="PATH", help=f"write one frame as a PNG ({animation.PNG_WIDTH} px wide)")
    p.add_argument("--frame", type=int, default=-1, metavar="K",
                   help="the PNG's frame: 0 to 39, negative from the end (default -1, the last)")  # fmt: skip
    p.add_argument("--width", type=int, metavar="PX", help="width of every file written (16:9; default per format)")
    return p


def _fail(message: str, code: int) -> int:
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    # the engine's door (ui.compute) is a Streamlit module: outside a server Streamlit logs that it has no
    # runtime; the command line's stderr is for its own one-line messages
    import streamlit.logger

    streamlit.logger.set_log_level(logging.ERROR)
    args = _parser().parse_args(argv)
    if not (args.gif or args.mp4 or args.png):
        _parser().error("nothing to write: give --gif PATH, --mp4 PATH and/or --png PATH")
    if args.width is not None and not 320 <= args.width <= 3840:
        return _fail(f"--width must be between 320 and 3840 pixels, got {args.width}", 2)
    if args.mp4 and not animation.mp4_available():
        return _fail("MP4 needs ffmpeg: pip install imageio-ffmpeg (or put ffmpeg on PATH); --gif needs nothing", 1)
    try:
        spec, clock, notes = parse_link(args.query)
    except LinkError as exc:
        return _fail(str(exc), 2)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        grid, vi, mc = compute(spec)
    except (ValueError, compute_door().OutOfTime) as exc:
        return _fail(f"the engine refused this run: {exc}", 1)
    t_run = time.perf_counter() - t0
    check = compute_door().checkpoint
    jobs = [
        (args.gif, lambda w: animation.render_gif(grid, vi, mc, clock, w or animation.GIF_WIDTH, check)),
        (args.mp4, lambda w: animation.render_mp4(grid, vi, mc, clock, w or animation.MP4_WIDTH, check)),
        (args.png, lambda w: animation.render_png(grid, vi, mc, clock, args.frame, w or animation.PNG_WIDTH, check)),
    ]
    for path, render in jobs:
        if not path:
            continue
        t1 = time.perf_counter()
        try:
            data = render(args.width)
        except IndexError as exc:
            return _fail(str(exc), 2)
        except RuntimeError as exc:
            return _fail(str(exc), 1)
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as exc:
            return _fail(f"cannot write {path}: {exc.strerror or exc}", 1)
        print(f"wrote {path}: {len(data) / 1e6:.2f} MB in {time.perf_counter() - t1:.2f} s (run {t_run:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
