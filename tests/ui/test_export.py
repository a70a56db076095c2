"""Animation export (ui.export, ui.figures.raster): GIF, MP4 and PNG of the race, drawn without a browser."""

import io
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ui import animation, export
from ui.figures import canvas, raster
from ui.figures.frames import frame_plan
from ui.figures.shared import FRAME_MS, N_FRAMES, VI_COLOUR
from vi_core import budget

ROOT = Path(__file__).resolve().parents[2]
SMALL = "vi_steps=50&mcmc_steps=200&walkers=16&grid=100"
WIDTH = 480  # small pictures keep the file fast; the layout scales with the width


@pytest.fixture(scope="module")
def small():
    spec, clock, notes = export.parse_link(SMALL)
    assert notes == []
    return (*export.compute(spec), clock)


@pytest.fixture(scope="module")
def small_gif(small):
    return animation.render_gif(*small, width=WIDTH)


def _frames(gif: bytes) -> list[Image.Image]:
    im = Image.open(io.BytesIO(gif))
    out = []
    for k in range(im.n_frames):
        im.seek(k)
        out.append(im.convert("RGB"))
    return out


def test_gif_is_an_animated_loop_of_the_race_under_3_mb(small_gif):
    im = Image.open(io.BytesIO(small_gif))
    assert im.format == "GIF" and im.is_animated and im.n_frames == N_FRAMES >= 20
    assert im.size == (WIDTH, canvas.height_for(WIDTH)) == (480, 270)
    assert im.info["loop"] == 0 and len(small_gif) <= 3 << 20
    durations = []
    for k in range(im.n_frames):
        im.seek(k)
        durations.append(im.info["duration"])
    assert durations[:-1] == [FRAME_MS] * (N_FRAMES - 1) and durations[-1] == animation.HOLD_MS
    frames = _frames(small_gif)
    first, last = np.asarray(frames[0], dtype=int), np.asarray(frames[-1], dtype=int)
    assert (np.abs(first - last).sum(axis=-1) > 0).mean() > 0.01  # draws accumulated, q moved, the gauge filled


def test_png_frame_is_clean_and_the_expected_size(small):
    png = animation.render_png(*small, frame=-1, width=WIDTH)
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.mode == "RGB" and im.size == (480, 270)
    a = np.asarray(im, dtype=int)
    # no Play/Pause or slider: under the gauge's tick labels the picture is blank to its edge
    assert (a[-8:] == 255).all()
    # the race is there: VI's colour in the left density panel, the walkers' orange in the right one
    u = WIDTH / canvas.BASE[0]
    left, right = (
        a[round(60 * u) : round(400 * u), : round(330 * u)],
        a[round(60 * u) : round(400 * u), round(338 * u) : round(660 * u)],
    )
    assert _near(left, VI_COLOUR).sum() > 50 and _near(right, "#E69F00").sum() > 20
    # the default frame is the last; frame 0 differs from it; a frame out of range is refused
    assert animation.render_png(*small, frame=N_FRAMES - 1, width=WIDTH) == png
    assert animation.render_png(*small, frame=0, width=WIDTH) != png
    with pytest.raises(IndexError, match="out of range"):
        animation.render_png(*small, frame=N_FRAMES, width=WIDTH)


def _near(a: np.ndarray, colour: str, tol: float = 40.0) -> np.ndarray:
    c = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return np.sqrt(((a - c) ** 2).sum(axis=-1)) < tol


def test_density_panels_keep_equal_scales():
    """A circle stays a circle: on rho = 0 in a box twice as wide as tall, q (exact here: CAVI on independent
    coordinates) spans as many pixels across as up and down -- filling the panel would stretch it 2x."""
    spec, clock, _ = export.parse_link("target=gaussian&p_rho=0&box=-9,9,-4.5,4.5&grid=100&walkers=8&mcmc_steps=20")
    grid, vi, mc = export.compute(spec)
    width = 1280
    a = np.asarray(raster.race_frame(grid, vi, mc, clock, -1, width), dtype=int)
    u = width / canvas.BASE[0]
    panel = a[round(56 * u) : round(410 * u), : round(330 * u)]  # the VI plot, below its title, above its legend
    ys, xs = np.nonzero(_near(panel, VI_COLOUR, 60))
    across, up = xs.max() - xs.min(), ys.max() - ys.min()
    assert across > 60 and abs(across - up) <= 3, (across, up)


def test_same_inputs_give_the_same_bytes(small, small_gif):
    assert animation.render_gif(*small, width=WIDTH) == small_gif
    assert animation.render_png(*small, frame=7, width=WIDTH) == animation.render_png(*small, frame=7, width=WIDTH)


def test_frames_follow_the_animation_and_obey_the_budget(small, monkeypatch):
    grid, vi, mc, clock = small
    calls = []
    frames = list(raster.race_frames(grid, vi, mc, clock, WIDTH, lambda: calls.append(1)))
    assert len(frames) == len(frame_plan(vi, mc, clock)[0]) and len(calls) > len(frames)  # one before each frame
    cancel = threading.Event()
    cancel.set()
    with budget.within(60.0, cancel=cancel), pytest.raises(budget.Cancelled):
        animation.render_gif(grid, vi, mc, clock, width=WIDTH, checkpoint=budget.checkpoint)


def test_time_stamp_says_where_each_method_is(small):
    _, vi, mc, _ = small
    n = vi.times.size - 1
    assert raster.stamp(vi, mc, "iteration", 10, 99, 0.0123) == f"VI step 10/{n} · MCMC step 100/200 · 12.3 ms"
    assert raster.stamp(vi, mc, "time", 3, 9, 0.0021).startswith("t = 2.1 ms · VI step 3")


def test_cli_writes_the_gif_and_exits_0(tmp_path):
    out = tmp_path / "race.gif"
    proc = subprocess.run(
        [sys.executable, "-m", "ui.export", "--gif", str(out), "--width", str(WIDTH), SMALL],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).n_frames == N_FRAMES and f"wrote {out}" in proc.stdout


def test_cli_help_works(capsys):
    with pytest.raises(SystemExit) as exc:
        export.main(["--help"])
    assert exc.value.code == 0 and "--gif" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("target=unicorn", "target=unicorn"),
        ("target=custom&expr=__import__('os')&box=-1,1,-1,1", "typed target"),
        ("this is not a link", "not key=value"),
        ("target=gaussian&p_rho=2", "p_rho=2"),
        ("walkers=lots", "walkers=lots"),
        ("target=%zz", "target=%zz"),
    ],
)
def test_a_bad_link_exits_nonzero_with_one_plain_line(query, needle, capsys, tmp_path):
    code = export.main(["--png", str(tmp_path / "x.png"), query])
    err = capsys.readouterr().err
    assert code != 0 and not (tmp_path / "x.png").exists()
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_a_bad_link_on_the_command_line_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ui.export", "--gif", str(tmp_path / "x.gif"), "target=unicorn"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.gif").exists()


def test_a_whole_share_link_is_read_and_kept_changes_are_noted():
    spec, clock, notes = export.parse_link("https://host/?target=donut&walkers=9&clock=time&run=1&utm_source=x#top")
    assert spec.target.name == "donut" and spec.settings.walkers == 10 and clock == "time"
    assert len(notes) == 2 and "walkers=9" in notes[0] and "utm_source" in notes[1]
    assert export.parse_link("")[0] == export.parse_link("?")[0]  # the default run


@pytest.mark.skipif(not animation.mp4_available(), reason="no ffmpeg here (pip install imageio-ffmpeg)")
def test_mp4_is_an_h264_file_with_every_frame(small, tmp_path):
    import imageio_ffmpeg

    mp4 = animation.render_mp4(*small, width=WIDTH)
    assert mp4[4:8] == b"ftyp" and b"avc1" in mp4[:100_000]
    path = tmp_path / "race.mp4"
    path.write_bytes(mp4)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == animation.mp4_frame_count(N_FRAMES) == N_FRAMES - 1 + round(animation.HOLD_MS / FRAME_MS)
    assert seconds == pytest.approx(frames * FRAME_MS / 1000, abs=0.1)


def test_particles_are_drawn_as_dots_not_joined_by_lines():
    link = "vi=svgd&particles=12&vi_steps=20&mcmc_steps=50&walkers=8&grid=60&target=mixture"
    spec, clock, _ = export.parse_link(link)
    grid, vi, mc = export.compute(spec)
    a = np.asarray(Image.open(io.BytesIO(animation.render_png(grid, vi, mc, clock, width=WIDTH))), dtype=int)
    u = WIDTH / canvas.BASE[0]
    left = a[round(60 * u) : round(400 * u), : round(330 * u)]
    # twelve dots of radius 2 units: a few hundred pixels at most; lines joining them would paint far more
    assert 12 <= _near(left, VI_COLOUR).sum() < 12 * 40
