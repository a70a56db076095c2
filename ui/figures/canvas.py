"""Drawing on still pictures with Pillow, for the race's raster export (ui.figures.raster): fonts and text,
axes with ticks on linear or log scales, anti-aliased polylines, dashes, dots and crosses, and one fixed palette
for GIF frames. The layout is in units of a 960 × 540 picture (``BASE``), scaled to the width asked for."""

from __future__ import annotations

import functools
import glob
import importlib.util
import math
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ui.figures.frames import DIVERGENT_COLOUR, PATH_COLOUR
from ui.figures.shared import (
    BEST_COLOUR,
    DRAW_OPACITY,
    KL_COLOUR,
    MCMC_COLOUR,
    TARGET_COLOUR,
    TRUTH_COLOUR,
    VI_COLOUR,
    WALKER_COLOUR,
)

__all__ = [
    "AXIS_GREY",
    "BASE",
    "DENSITY_CELLS",
    "DENSITY_MARGIN",
    "ELBO_RECT",
    "FALLBACK",
    "GAUGE_BAR",
    "GRID_GREY",
    "KL_EDGE",
    "LEVELS",
    "MC_LIGHT",
    "MMD_RECT",
    "MUTED",
    "PALETTE_COLOURS",
    "SS",
    "TEXT",
    "Axes",
    "cross",
    "dashes",
    "dots",
    "equal_rect",
    "fit",
    "font",
    "font_file",
    "height_for",
    "legend",
    "log_ticks",
    "mix",
    "nice_step",
    "num",
    "palette",
    "palette_image",
    "pieces",
    "polyline",
    "put",
    "quantize",
    "rgb",
    "text",
    "text_width",
    "ticks",
    "xy",
]


BASE = (960, 540)  # layout units; a picture of width W is drawn at W / 960 pixels per unit


SS = 2  # lines and points are drawn at SS times the size, then reduced (anti-aliasing)


MC_LIGHT = "#f3b592"  # the ELBO's Monte Carlo estimate, as in the race


KL_EDGE = "#8a7d00"


AXIS_GREY = "#9a9a9a"


GRID_GREY = "#ececec"


TEXT = TRUTH_COLOUR


MUTED = "#6b6b6b"


# Layout, in units (left, top, right, bottom): the two density panels' cells, the ELBO and MMD plot areas,
# the gauge's bar.
DENSITY_CELLS = ((8, 58, 328, 408), (338, 58, 658, 408))


DENSITY_MARGIN = (36, 4, 6, 34)  # left, top, right, bottom inside a cell: tick labels and axis titles


ELBO_RECT = (712, 78, 948, 214)


MMD_RECT = (712, 270, 948, 398)


GAUGE_BAR = (16, 480, 944, 498)


def height_for(width: int) -> int:
    """The picture's height for a width: 16:9, rounded to an even number of pixels (video encoders need it)."""
    return 2 * round(width * BASE[1] / BASE[0] / 2)


FALLBACK = str.maketrans({"₁": "1", "₂": "2", "−": "-", "μ": "mu", "τ": "tau", "α": "alpha", "β": "beta", "‖": "||"})


@functools.cache
def font_file() -> str | None:
    """Source Sans 3 (the app's font), as shipped inside Streamlit's static files; None when not found."""
    spec = importlib.util.find_spec("streamlit")  # finds the package without importing it (~1 s)
    for root in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(glob.glob(os.path.join(root, "static", "static", "media", "SourceSansVF-Upright*.woff2")))
        if found:
            return found[0]
    return None


@functools.cache
def font(size: int, weight: int = 400) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_file()
    if path is not None:
        try:
            font = ImageFont.truetype(path, size)
            font.set_variation_by_axes([weight])  # a variable font: its default is ExtraLight
            return font
        except OSError:  # a FreeType without WOFF2 (brotli) support
            pass
    return ImageFont.load_default(size)


def text(s: str) -> str:
    """Text as the font in use can draw it: Pillow's built-in font has no Greek letters or subscripts."""
    return s if font_file() is not None else s.translate(FALLBACK)


def num(v: float, digits: int = 3) -> str:
    """A number with a real minus sign, as Plotly writes it."""
    return f"{v:.{digits}f}".replace("-", "−") if math.isfinite(v) else "—"


def nice_step(span: float, n: int) -> float:
    raw = span / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= raw:
            return m * mag
    return 10.0 * mag


def ticks(lo: float, hi: float, n: int = 5, step: float | None = None) -> list[tuple[float, str]]:
    """About n round values in [lo, hi] (or every ``step``) with their labels."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return []
    step = step or nice_step(hi - lo, n)
    decimals = len(f"{step:.10f}".rstrip("0").split(".")[1])
    first = math.ceil(lo / step - 1e-9)
    out = []
    for i in range(first, first + n * 3):
        v = i * step
        if v > hi + 1e-9 * step:
            break
        out.append((v, num(0.0 if abs(v) < step * 1e-9 else v, decimals)))
    return out


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks on a log axis spanning 10^lo .. 10^hi: the decades, with 2 and 5 between when there are few."""
    decades = range(math.floor(lo), math.ceil(hi) + 1)
    mults = (1,) if hi - lo >= 2 else (1, 2, 5)
    out = []
    for e in decades:
        for m in mults:
            v = m * 10.0**e
            if lo - 1e-9 <= math.log10(v) <= hi + 1e-9:
                out.append((math.log10(v), f"{v:g}"))
    return out


class Axes:
    """A plot area: rect in layout units (left, top, right, bottom) and data ranges; log axes in log10 units."""

    def __init__(self, rect, xr, yr, xlog: bool = False, ylog: bool = False, step: float | None = None):
        self.rect, self.xr, self.yr, self.xlog, self.ylog = rect, xr, yr, xlog, ylog
        self.step = step  # one tick step for both axes (a density panel drawn to one scale), else each its own

    def box(self, scale: float) -> tuple[int, int, int, int]:
        """The plot area in pixels at ``scale`` pixels per unit (areas of one size in units: one size in pixels)."""
        x0, y0 = round(self.rect[0] * scale), round(self.rect[1] * scale)
        return (
            x0,
            y0,
            x0 + round((self.rect[2] - self.rect[0]) * scale),
            y0 + round((self.rect[3] - self.rect[1]) * scale),
        )

    def local(self, x, y, scale: float) -> np.ndarray:
        """Data -> pixels inside the plot area (origin at its top-left corner), (N, 2); non-finite stays NaN."""
        x0, y0, x1, y1 = self.box(scale)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        with np.errstate(all="ignore"):
            if self.xlog:
                x = np.log10(x)
            if self.ylog:
                y = np.log10(y)
            px = (x - self.xr[0]) / (self.xr[1] - self.xr[0]) * (x1 - x0)
            py = (1.0 - (y - self.yr[0]) / (self.yr[1] - self.yr[0])) * (y1 - y0)
        lim = 4.0 * max(x1 - x0, y1 - y0)  # far-away points are pulled in: the plot area clips them anyway
        return np.clip(np.stack([px, py], axis=-1), -lim, lim)

    def unit(self, x: float, y: float) -> tuple[float, float]:
        """Data -> layout units (for text)."""
        p = self.local([x], [y], 1.0)[0]
        return self.rect[0] + p[0], self.rect[1] + p[1]


def equal_rect(cell, box, equal: bool):
    """The plot area inside a density panel's cell: the box drawn to one scale on both axes (centred, as Plotly's
    constrain="domain"), or filling the cell when the two coordinates are different kinds of quantity."""
    left, top = cell[0] + DENSITY_MARGIN[0], cell[1] + DENSITY_MARGIN[1]
    right, bottom = cell[2] - DENSITY_MARGIN[2], cell[3] - DENSITY_MARGIN[3]
    if not equal:
        return (left, top, right, bottom)
    w, h = right - left, bottom - top
    bx, by = box[1] - box[0], box[3] - box[2]
    s = min(w / bx, h / by)
    pw, ph = bx * s, by * s
    cx, cy = left + w / 2, top + h / 2
    return (cx - pw / 2, cy - ph / 2, cx + pw / 2, cy + ph / 2)


def rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def mix(colour: str, alpha: float) -> tuple[int, int, int]:
    """colour at opacity alpha over white."""
    return tuple(round(255 + alpha * (v - 255)) for v in rgb(colour))


def pieces(xy: np.ndarray) -> list[list[tuple[float, float]]]:
    """A NaN-separated polyline as its pieces of at least two points."""
    ok = np.isfinite(xy).all(axis=1)
    out, start = [], None
    for i, good in enumerate(np.append(ok, False)):
        if good and start is None:
            start = i
        elif not good and start is not None:
            if i - start >= 2:
                out.append([tuple(p) for p in xy[start:i].tolist()])
            start = None
    return out


def polyline(draw: ImageDraw.ImageDraw, xy: np.ndarray, fill, width: float, dash: tuple[float, float] | None = None):
    w = max(1, round(width))
    for piece in pieces(xy):
        if dash is None:
            draw.line(piece, fill=fill, width=w, joint="curve" if w > 2 else None)
        else:
            for seg in dashes(np.asarray(piece), *dash):
                draw.line(seg, fill=fill, width=w)


def dashes(pts: np.ndarray, on: float, off: float) -> list[list[tuple[float, float]]]:
    """The 'on' stretches of a dashed polyline, as polylines."""
    seg = np.diff(pts, axis=0)
    length = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(length)])
    out = []
    period = on + off
    s = 0.0
    while s < cum[-1]:
        e = min(s + on, cum[-1])
        inside = (cum > s) & (cum < e)
        ts = np.concatenate([[s], cum[inside], [e]])
        xs = np.interp(ts, cum, pts[:, 0])
        ys = np.interp(ts, cum, pts[:, 1])
        out.append(list(zip(xs.tolist(), ys.tolist(), strict=True)))
        s += period
    return out


def dots(draw: ImageDraw.ImageDraw, xy: np.ndarray, r: float, fill, outline=None, width: int = 0) -> None:
    for x, y in xy[np.isfinite(xy).all(axis=1)].tolist():
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=outline, width=width)


def cross(draw: ImageDraw.ImageDraw, xy: np.ndarray, r: float, fill, width: int) -> None:
    for x, y in xy[np.isfinite(xy).all(axis=1)].tolist():
        draw.line((x - r, y - r, x + r, y + r), fill=fill, width=width)
        draw.line((x - r, y + r, x + r, y - r), fill=fill, width=width)


def xy(trace: dict) -> np.ndarray:
    return np.stack([np.asarray(trace["x"], dtype=float), np.asarray(trace["y"], dtype=float)], axis=-1)


# The colours a frame can hold: each colour of the race at opacities over white (anti-aliased edges, faded
# draws), and a few mixtures where lines cross. One fixed palette: no dithering, no flicker between frames.
PALETTE_COLOURS = (TEXT, MUTED, AXIS_GREY, TARGET_COLOUR, VI_COLOUR, MC_LIGHT, MCMC_COLOUR, WALKER_COLOUR,
                    KL_COLOUR, KL_EDGE, BEST_COLOUR, PATH_COLOUR, DIVERGENT_COLOUR)  # fmt: skip


LEVELS = (1.0, 0.85, 0.7, 0.55, 0.42, 0.3, 0.2, 0.12, 0.06)


@functools.cache
def palette() -> np.ndarray:
    """The fixed palette every GIF frame is mapped to, (N, 3) uint8, white first."""
    colours = [(255, 255, 255), rgb(GRID_GREY)]
    colours += [mix(c, a) for c in PALETTE_COLOURS for a in LEVELS]
    # draws stacked on draws, and VI or walker lines over the draws and target lines
    blue = rgb(MCMC_COLOUR)
    colours += [tuple(round(255 + (1 - (1 - DRAW_OPACITY) ** n) * (b - 255)) for b in blue) for n in (2, 3, 4, 6)]
    for a in (VI_COLOUR, WALKER_COLOUR, TARGET_COLOUR):
        for b in (MCMC_COLOUR, TARGET_COLOUR, mix(MCMC_COLOUR, DRAW_OPACITY)):
            ca, cb = rgb(a), rgb(b) if isinstance(b, str) else b
            if ca != cb:
                colours.append(tuple(round((x + y) / 2) for x, y in zip(ca, cb, strict=True)))
    return np.array(list(dict.fromkeys(colours))[:256], dtype=np.uint8)


def palette_image() -> Image.Image:
    """The fixed palette as a 'P' image (for Pillow's own quantize)."""
    pal = Image.new("P", (1, 1))
    pal.putpalette(palette().ravel().tolist())
    return pal


def quantize(img: Image.Image) -> Image.Image:
    """An RGB frame mapped to the fixed palette: each colour to its nearest (no dithering). Exact, unlike
    Pillow's palette cache, which maps white to a tinted near-white."""
    a = np.asarray(img.convert("RGB"), dtype=np.uint32)
    key = (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]
    out = np.zeros(key.shape, dtype=np.uint8)  # white, most of every frame, is index 0
    mask = key != 0xFFFFFF
    colours, inverse = np.unique(key[mask], return_inverse=True)
    if colours.size:
        rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=-1).astype(np.int32)
        pal = palette().astype(np.int32)
        nearest = np.empty(colours.size, dtype=np.uint8)
        for i in range(0, colours.size, 4096):  # bounded memory: 4096 colours x N palette entries at a time
            d = ((rgb[i : i + 4096, None, :] - pal[None, :, :]) ** 2).sum(axis=-1)
            nearest[i : i + 4096] = np.argmin(d, axis=1)
        out[mask] = nearest[inverse]
    q = Image.frombytes("P", (out.shape[1], out.shape[0]), out.tobytes())
    q.putpalette(palette().ravel().tolist())
    return q


def put(d, k: float, xy, text_: str, size: int = 12, fill=TEXT, anchor: str = "la", weight: int = 400) -> float:
    """Text at layout units xy on a picture of k pixels a unit; returns its right end in units."""
    f = font(max(6, round(size * k)), weight)
    pos = (xy[0] * k, xy[1] * k)
    d.text(pos, text(text_), font=f, fill=fill, anchor=anchor)
    return d.textbbox(pos, text(text_), font=f, anchor=anchor)[2] / k


def text_width(k: float, text_: str, size: int, weight: int = 400) -> float:
    """A text's width in layout units."""
    return font(max(6, round(size * k)), weight).getlength(text(text_)) / k


def fit(k: float, text_: str, size: int, weight: int, width: float) -> str:
    """text, cut short with an ellipsis to fit ``width`` units."""
    if text_width(k, text_, size, weight) <= width:
        return text_
    while len(text_) > 1 and text_width(k, text_ + "…", size, weight) > width:
        text_ = text_[:-1]
    return text_.rstrip() + "…"


def legend(d, u: float, y: float, x: float, items: Sequence[tuple[str, object, str]], size: int = 11,
       right: float = 1e9) -> float:  # fmt: skip
    """Legend entries (kind: line, dash, dot, walker, cross, xred) with their text, at layout units, in rows
    that wrap before ``right``."""
    cy, left = y, x
    for kind, colour, label in items:
        width = 22 + font(max(6, round(size * u))).getlength(text(label)) / u
        if x > left and x + width > right:
            x, cy = left, cy + 15
        if kind in ("line", "dash"):
            width = max(1, round(2 * u))
            if kind == "line":
                d.line((x * u, cy * u, (x + 18) * u, cy * u), fill=colour, width=width)
            else:
                for a in (0, 7, 14):
                    d.line(((x + a) * u, cy * u, (x + a + 4.5) * u, cy * u), fill=colour, width=width)
            x += 22
        elif kind in ("cross", "xred"):
            r = (4 if kind == "cross" else 3.5) * u
            d.line(((x + 5) * u - r, cy * u - r, (x + 5) * u + r, cy * u + r), fill=colour, width=max(1, round(2 * u)))
            d.line(((x + 5) * u - r, cy * u + r, (x + 5) * u + r, cy * u - r), fill=colour, width=max(1, round(2 * u)))
            x += 14
        else:
            r = (3.2 if kind == "walker" else 2.6) * u
            d.ellipse(((x + 4) * u - r, cy * u - r, (x + 4) * u + r, cy * u + r), fill=colour)
            x += 12
        x = put(d, u, (x, cy), label, size, TEXT, anchor="lm") + 12
    return x
