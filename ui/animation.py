"""The race as a file a teacher can put on a slide: an animated GIF, an MP4, or one clean PNG frame.

Rendered without a browser (Pillow: ui.figures.raster), from the same frames as the Playground's animation
(ui.figures.race.frame_plan), with every panel of the race, a time stamp per frame and no controls. Each renderer
calls ``checkpoint`` between frames (the app passes its run budget's, so a deadline and cancellation apply; this
module imports no engine and no ui.compute), and the same inputs give the same bytes. The command line is
ui.export.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from ui.figures import canvas, raster
from ui.figures.shared import FRAME_MS

if TYPE_CHECKING:
    from ui.compute import Grid, McmcResult, ViResult

__all__ = [
    "GIF_WIDTH",
    "HOLD_MS",
    "MP4_WIDTH",
    "PNG_WIDTH",
    "mp4_available",
    "mp4_frame_count",
    "render_gif",
    "render_mp4",
    "render_png",
]

Check = Callable[[], None]


def _none() -> None:
    pass


GIF_WIDTH = 1280  # 1280 × 720: sharp on a projector, and the default run's GIF is ~0.4 MB (budget: 3 MB)
MP4_WIDTH = 1280  # 1280 × 720: H.264 keeps it small at any size
PNG_WIDTH = 1280
HOLD_MS = 2500  # the last frame stays up this long before the loop starts again
MP4_CRF = 20  # x264 quality (lower: better); lines and text stay sharp at 20


# ---------------------------------------------------------------------------------------------- rendering


def render_gif(
    grid: Grid,
    vi: ViResult,
    mc: McmcResult,
    clock: str = "iteration",
    width: int = GIF_WIDTH,
    checkpoint: Check = _none,
) -> bytes:
    """The race as a looping animated GIF: the app's frames at its pace (FRAME_MS a frame), the last held for
    HOLD_MS, every frame on one fixed palette (no dithering: small, and no flicker between frames)."""
    frames = [canvas.quantize(f) for f in raster.race_frames(grid, vi, mc, clock, width, checkpoint)]
    checkpoint()
    buf = io.BytesIO()
    durations = [FRAME_MS] * (len(frames) - 1) + [HOLD_MS]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return buf.getvalue()


def render_png(
    grid: Grid,
    vi: ViResult,
    mc: McmcResult,
    clock: str = "iteration",
    frame: int = -1,
    width: int = PNG_WIDTH,
    checkpoint: Check = _none,
) -> bytes:
    """One frame of the race (negative counts from the end; -1, the last, is the run's outcome) as a PNG."""
    buf = io.BytesIO()
    raster.race_frame(grid, vi, mc, clock, frame, width, checkpoint).save(buf, format="PNG", optimize=False)
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


def render_mp4(
    grid: Grid,
    vi: ViResult,
    mc: McmcResult,
    clock: str = "iteration",
    width: int = MP4_WIDTH,
    checkpoint: Check = _none,
) -> bytes:
    """The race as an H.264 MP4 (yuv420p, +faststart: plays in PowerPoint, Keynote, browsers), 1000/FRAME_MS frames
    a second, the last frame held for about HOLD_MS. Raises RuntimeError when no ffmpeg is to be had."""
    exe = _ffmpeg()
    if exe is None:
        raise RuntimeError("MP4 needs ffmpeg: pip install imageio-ffmpeg (or put ffmpeg on PATH); the GIF does not")
    height = canvas.height_for(width)
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
                    for frame in raster.race_frames(grid, vi, mc, clock, width, checkpoint):
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
