"""Procedural facade label maps and photo-like renderings of them: an offline Pix2Pix data set.

Label maps use the 12 classes of the CMP Facade Database, coloured like the pix2pix `facades`
label images (a jet colour map over the class index). Each pair is a pure function of
(seed, index, size): the same arguments always give the same pixels, on any machine.
NumPy only; a 256×256 pair takes a few milliseconds.
"""

from __future__ import annotations

import numpy as np

CLASSES = ("background", "facade", "window", "door", "cornice", "sill", "balcony", "blind",
           "deco", "molding", "pillar", "shop")
CLASS_ID = {name: i for i, name in enumerate(CLASSES)}


def _jet(x: np.ndarray) -> np.ndarray:
    return np.clip(1.5 - np.abs(4.0 * x[:, None] - np.array([3.0, 2.0, 1.0])), 0.0, 1.0)


# Colour of each class in the label maps (row i = class i), uint8 RGB.
PALETTE = np.round(255 * _jet(np.linspace(0.0, 1.0, len(CLASSES)))).astype(np.uint8)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a random cells×cells grid, bilinearly upsampled."""
    grid = rng.uniform(-1.0, 1.0, (cells + 1, cells + 1))
    pos = np.linspace(0.0, cells, size)
    lower = np.minimum(pos.astype(int), cells - 1)
    frac = pos - lower
    interp = np.zeros((size, cells + 1))
    interp[np.arange(size), lower] = 1.0 - frac
    interp[np.arange(size), lower + 1] = frac
    return interp @ grid @ interp.T


class _Layout:
    """A label map being drawn: rectangles of classes, later ones on top."""

    def __init__(self, size: int):
        self.size = size
        self.labels = np.full((size, size), CLASS_ID["facade"], dtype=np.uint8)

    def box(self, name: str, top: float, left: float, height: float, width: float) -> None:
        s = self.size
        t, l_ = int(round(top * s)), int(round(left * s))
        b, r = int(round((top + height) * s)), int(round((left + width) * s))
        self.labels[max(t, 0):max(b, t + 1), max(l_, 0):max(r, l_ + 1)] = CLASS_ID[name]


def draw_label_map(rng: np.random.Generator, size: int) -> np.ndarray:
    """A plausible facade: sky, cornices, floors of framed windows with sills, balconies,
    blinds and decorations, pillars, and a ground floor with a door or a shop front."""
    layout = _Layout(size)
    sky = rng.uniform(0.0, 0.15)
    layout.box("background", 0.0, 0.0, sky, 1.0)
    layout.box("cornice", sky, 0.0, rng.uniform(0.02, 0.04), 1.0)
    pillar = rng.uniform(0.03, 0.05) if rng.random() < 0.35 else 0.0
    if pillar:
        layout.box("pillar", sky, 0.0, 1.0, pillar)
        layout.box("pillar", sky, 1.0 - pillar, 1.0, pillar)
    floors = int(rng.integers(3, 7))
    columns = int(rng.integers(3, 7))
    top = sky + 0.05
    ground = rng.uniform(1.1, 1.4)
    floor_height = (1.0 - top) / (floors - 1 + ground)
    column_width = (1.0 - 2 * pillar) / columns
    window_w = column_width * rng.uniform(0.4, 0.6)
    window_h = floor_height * rng.uniform(0.45, 0.65)
    frame = rng.uniform(0.006, 0.015)
    for floor in range(floors - 1):
        y = top + floor * floor_height + (floor_height - window_h) * 0.45
        if floor and rng.random() < 0.35:
            layout.box("cornice", top + floor * floor_height - 0.01, pillar, 0.015,
                       1.0 - 2 * pillar)
        balcony = rng.random() < 0.3
        for column in range(columns):
            x = pillar + column * column_width + (column_width - window_w) / 2
            layout.box("molding", y - frame, x - frame, window_h + 2 * frame,
                       window_w + 2 * frame)
            layout.box("window", y, x, window_h, window_w)
            if rng.random() < 0.2:
                layout.box("blind", y, x, window_h * rng.uniform(0.2, 0.6), window_w)
            if rng.random() < 0.25:
                layout.box("deco", y - frame - 0.03, x, 0.02, window_w)
            if balcony:
                layout.box("balcony", y + window_h * 0.65, x - 0.02, window_h * 0.35 + 0.02,
                           window_w + 0.04)
            else:
                layout.box("sill", y + window_h + frame, x - 0.01, 0.015, window_w + 0.02)
    ground_top = top + (floors - 1) * floor_height
    layout.box("cornice", ground_top - 0.005, pillar, 0.012, 1.0 - 2 * pillar)
    ground_h = 1.0 - ground_top
    if rng.random() < 0.3:
        layout.box("shop", ground_top + ground_h * 0.2, pillar + 0.03, ground_h * 0.8,
                   1.0 - 2 * pillar - 0.06)
    else:
        door = int(rng.integers(columns))
        for column in range(columns):
            x = pillar + column * column_width
            if column == door:
                w = column_width * 0.6
                layout.box("door", ground_top + ground_h * 0.2, x + (column_width - w) / 2,
                           ground_h * 0.8, w)
            else:
                layout.box("window", ground_top + ground_h * 0.25, x + (column_width
                           - window_w) / 2, ground_h * 0.5, window_w)
    return layout.labels


def render_photo(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """A photo-like rendering of a label map: textured wall, framed glass with reflections,
    wooden door, metal balconies, striped blinds, cornice shadows, shading and sensor noise."""
    size = labels.shape[0]
    coords = np.arange(size, dtype=np.float32) / size
    yy, xx = coords[:, None], coords[None, :]  # broadcast, not full arrays: keeps it fast
    texture = _smooth_noise(rng, size, 6).astype(np.float32)
    fine = rng.standard_normal((size, size), dtype=np.float32)
    wall = rng.choice(np.array([[0.80, 0.72, 0.60], [0.70, 0.42, 0.33], [0.72, 0.72, 0.70],
                                [0.85, 0.80, 0.68], [0.60, 0.55, 0.50]]))
    wall = wall * rng.uniform(0.85, 1.1)
    image = np.empty((size, size, 3), dtype=np.float32)

    def paint(name, colour):
        mask = labels == CLASS_ID[name]
        image[mask] = np.broadcast_to(colour, (size, size, 3))[mask]

    brick = 1.0 - 0.06 * ((np.floor(yy * size) % max(size // 40, 2)) == 0)
    paint("facade", wall * ((1 + 0.12 * texture + 0.03 * fine) * brick)[..., None])
    sky_colour = np.array([0.55, 0.70, 0.90]) + 0.35 * yy[..., None] * np.array([1, 0.8, 0.3])
    paint("background", sky_colour)
    glass = np.array([0.18, 0.24, 0.32]) * rng.uniform(0.7, 1.2)
    streak = np.clip(1.0 - np.abs((xx + yy) % 0.5 - 0.25) / 0.08, 0.0, 1.0)
    paint("window", glass + 0.35 * streak[..., None] + 0.02 * fine[..., None])
    paint("shop", glass * 0.8 + 0.25 * streak[..., None] + np.array([0.05, 0.03, 0.0]))
    paint("molding", np.array([0.92, 0.90, 0.85]) * (1 + 0.04 * fine)[..., None])
    paint("sill", np.array([0.78, 0.78, 0.76]) * (1 - 0.2 * (fine > 1.5))[..., None])
    paint("cornice", np.array([0.88, 0.86, 0.80]) * (1 + 0.05 * texture)[..., None])
    bars = (np.floor(xx * size) % 4 < 1)[..., None]
    paint("balcony", np.where(bars, 0.08, 0.22) * np.array([1.0, 1.0, 1.1]))
    stripes = (np.floor(yy * size) % 3 < 1)[..., None]
    paint("blind", np.where(stripes, 0.55, 0.75) * np.array([0.9, 0.85, 0.7]))
    grain = np.sin(xx * size * 1.7) + 0.5 * fine
    paint("door", np.array([0.40, 0.24, 0.12]) * (1 + 0.08 * grain)[..., None])
    fluting = 0.9 + 0.2 * np.abs(np.sin(xx * 40))
    paint("pillar", np.array([0.86, 0.84, 0.78]) * fluting[..., None])
    paint("deco", np.array([0.75, 0.72, 0.65]) * (1 + 0.1 * fine)[..., None])
    # Shadow under cornices and sills: darken the wall just below them.
    ledge = np.isin(labels, [CLASS_ID["cornice"], CLASS_ID["sill"]])
    shadow = np.zeros((size, size), dtype=bool)
    for shift in range(1, max(size // 64, 2) + 1):
        shadow[shift:] |= ledge[:-shift]
    shadow &= labels == CLASS_ID["facade"]
    image[shadow] *= 0.7
    image *= (1.05 - 0.15 * yy)[..., None]  # light from above
    image += 0.015 * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def facade_pair(seed: int, index: int, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(label map RGB, photo RGB), both uint8 [size, size, 3]; deterministic per arguments."""
    if size < 16:
        raise ValueError(f"size must be >= 16 pixels, got {size}")
    rng = np.random.default_rng([seed, index, size])
    labels = draw_label_map(rng, size)
    return PALETTE[labels], render_photo(rng, labels)
