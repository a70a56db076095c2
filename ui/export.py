"""The race as a file a teacher can put on a slide: an animated GIF, an MP4, or one clean PNG frame.

Rendered on the server without a browser (Pillow: ui.figures.raster), from the same frames as the Playground's
animation (ui.figures.race.frame_plan), with every panel of the race, a time stamp per frame and no controls.

Library (the app calls these, e.g. in a worker process under a visitor's run budget; each calls
the run budget's checkpoint (ui.compute.checkpoint) between frames, and the same inputs give the same bytes):

    render_gif(grid, vi, mc, clock="iteration", width=1280) -> bytes
    render_mp4(grid, vi, mc, clock="iteration", width=1280) -> bytes     (needs an ffmpeg: mp4_available())
    render_png(grid, vi, mc, clock="iteration", frame=-1, width=1280) -> bytes

Command line, from the query string of a Playground share link (or the whole link):

    python -m ui.export --gif race.gif ""                          # the default run
    python -m ui.export --mp4 race.mp4 --png last.png "target=banana&vi=gauss-fr&mcmc=nuts&clock=time"
    python -m ui.export --png frame.png --frame 10 "https://…/?target=donut&seed=3"

A link the app would only half honour (an unknown target, a refused expression, a value out of bounds) is refused
with one line on stderr and exit status 2; an engine refusal or an unwritable file exits with 1.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from typing import TYPE_CHECKING

from ui.figures import raster
from ui.figures.shared import FRAME_MS

if TYPE_CHECKING:
    from ui.compute import Grid, McmcResult, ViResult
    from ui.spec import RunSpec

__all__ = [
    "GIF_WIDTH",
    "HOLD_MS",
    "MP4_WIDTH",
    "PNG_WIDTH",
    "LinkError",
    "compute",
    "main",
    "mp4_available",
    "mp4_frame_count",
    "parse_link",
    "render_gif",
    "render_mp4",
    "render_png",
]


def _checkpoint() -> None:
    """The run budget's checkpoint (ui.compute.checkpoint; imported when called: the command line's --help needs
    no engine)."""
    from ui.compute import checkpoint

    checkpoint()


def _out_of_time() -> type[Exception]:
    from ui.compute import OutOfTime

    return OutOfTime


GIF_WIDTH = 1280  # 1280 × 720: sharp on a projector, and the default run's GIF is ~0.4 MB (budget: 3 MB)
MP4_WIDTH = 1280  # 1280 × 720: H.264 keeps it small at any size
PNG_WIDTH = 1280
HOLD_MS = 2500  # the last frame stays up this long before the loop starts again
MP4_CRF = 20  # x264 quality (lower: better); lines and text stay sharp at 20


# ---------------------------------------------------------------------------------------------- rendering


def render_gif(grid: Grid, vi: ViResult, mc: McmcResult, clock: str = "iteration", width: int = GIF_WIDTH) -> bytes:
    """The race as a looping animated GIF: the app's frames at its pace (FRAME_MS a frame), the last held for
    HOLD_MS, every frame on one fixed palette (no dithering: small, and no flicker between frames)."""
    frames = [raster.quantize(f) for f in raster.race_frames(grid, vi, mc, clock, width, _checkpoint)]
    _checkpoint()
    buf = io.BytesIO()
    durations = [FRAME_MS] * (len(frames) - 1) + [HOLD_MS]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return buf.getvalue()


def render_png(
    grid: Grid, vi: ViResult, mc: McmcResult, clock: str = "iteration", frame: int = -1, width: int = PNG_WIDTH
) -> bytes:
    """One frame of the race (negative counts from the end; -1, the last, is the run's outcome) as a PNG."""
    buf = io.BytesIO()
    raster.race_frame(grid, vi, mc, clock, frame, width, _checkpoint).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _ffmpeg() -> str | None:
    """An ffmpeg executable: imageio-ffmpeg's own binary when installed, else one on PATH."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def mp4_available() -> bool:
    """Whether render_mp4 can run here (it needs an ffmpeg with libx264)."""
    return _ffmpeg() is not None


def mp4_frame_count(n_frames: int) -> int:
    """Frames in the MP4 of a race of n_frames: the last is repeated to stay up for about HOLD_MS."""
    return n_frames - 1 + max(1, round(HOLD_MS / FRAME_MS))


def render_mp4(grid: Grid, vi: ViResult, mc: McmcResult, clock: str = "iteration", width: int = MP4_WIDTH) -> bytes:
    """The race as an H.264 MP4 (yuv420p, +faststart: plays in PowerPoint, Keynote, browsers), 1000/FRAME_MS frames
    a second, the last frame held for about HOLD_MS. Raises RuntimeError when no ffmpeg is to be had."""
    exe = _ffmpeg()
    if exe is None:
        raise RuntimeError("MP4 needs ffmpeg: pip install imageio-ffmpeg (or put ffmpeg on PATH); the GIF does not")
    height = raster.height_for(width)
    with tempfile.TemporaryDirectory(prefix="race-mp4-") as tmp:
        out, log = os.path.join(tmp, "race.mp4"), os.path.join(tmp, "ffmpeg.log")
        cmd = [
            exe, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", f"1000/{FRAME_MS}",
            "-i", "-",
            "-vf", f"tpad=stop_mode=clone:stop={mp4_frame_count(1) - 1}",  # ffmpeg holds the last frame itself
            "-c:v", "libx264", "-preset", "medium", "-crf", str(MP4_CRF), "-tune", "animation",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
            out,
        ]  # fmt: skip
        with open(log, "wb") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
            try:
                with contextlib.suppress(BrokenPipeError):  # ffmpeg stopped: its exit status and log say why
                    for frame in raster.race_frames(grid, vi, mc, clock, width, _checkpoint):
                        proc.stdin.write(frame.tobytes())
                    proc.stdin.close()
                code = proc.wait()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                if proc.stdin and not proc.stdin.closed:
                    with contextlib.suppress(OSError):
                        proc.stdin.close()
        if code != 0:
            with open(log, "rb") as f:
                tail = f.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise RuntimeError(f"ffmpeg failed (exit {code}): {tail[0]}")
        with open(out, "rb") as f:
            return f.read()


# ---------------------------------------------------------------------------------------------- a link -> a run


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ui.export",
        description="Render the Playground's race (VI vs MCMC) to a GIF, an MP4 or a PNG, without a browser. "
        "The run is the one a share link describes, computed here with its seed.",
        epilog='Example: python -m ui.export --gif race.gif "target=banana&vi=gauss-fr&mcmc=nuts&clock=time". '
        'An empty query ("") is the default run.',
    )
    p.add_argument("query", nargs="?", default="", help="the share link's query string, or the whole link")
    p.add_argument("--gif", metavar="PATH", help=f"write the animation as a looping GIF ({GIF_WIDTH} px wide)")
    p.add_argument("--mp4", metavar="PATH", help=f"write the animation as an H.264 MP4 ({MP4_WIDTH} px wide)")
    p.add_argument("--png", metavar="PATH", help=f"write one frame as a PNG ({PNG_WIDTH} px wide)")
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
    if args.mp4 and not mp4_available():
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
    except (ValueError, _out_of_time()) as exc:
        return _fail(f"the engine refused this run: {exc}", 1)
    t_run = time.perf_counter() - t0
    jobs = [
        (args.gif, lambda w: render_gif(grid, vi, mc, clock, w or GIF_WIDTH)),
        (args.mp4, lambda w: render_mp4(grid, vi, mc, clock, w or MP4_WIDTH)),
        (args.png, lambda w: render_png(grid, vi, mc, clock, args.frame, w or PNG_WIDTH)),
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
