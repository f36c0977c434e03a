"""Inputs made from photos: the transforms of the pix2pix `photos_*` configs.

Each transform takes an RGB photo (uint8 [h, w, 3]) and returns the model's input, uint8
[h, w, 3] of the same size (the photo is the target). Each is deterministic for a given photo
and seed (only `masked` draws anything at random, from a generator seeded by the photo's bytes
and the seed). They are built on scikit-image (docs/pix2pix_photos.md says why: measured
against OpenCV's headless wheel), imported when a transform first runs.

`edges` is written to be re-implemented elsewhere (the demo page's JavaScript) and checked
against this code, so it is a short pipeline of named library steps, every setting below:

1. grey = 0.2125 R + 0.7154 G + 0.0721 B, RGB in [0, 1] (`skimage.color.rgb2gray`);
2. Canny (`skimage.feature.canny`): Gaussian of sigma EDGE_SIGMA (scipy's kernel, radius
   int(4 sigma + 0.5), borders replicated: mode "nearest"), Sobel gradients, non-maximum
   suppression, hysteresis between EDGE_LOW and EDGE_HIGH on the gradient magnitude;
3. thinning to one-pixel lines (`skimage.morphology.thin`: Canny leaves some 2x2 corners);
4. fragments smaller than EDGE_MIN_PIXELS pixels (8-connected) are removed
   (`skimage.morphology.remove_small_objects`), as the paper cleaned up its HED edges;
5. black lines (0) on white (255), repeated to RGB, as the paper's edges2shoes.
"""

from __future__ import annotations

import hashlib

import numpy as np

EDGE_SIGMA = 2.0  # Gaussian before the gradients, in pixels of the stored photo
EDGE_LOW, EDGE_HIGH = 0.05, 0.12  # hysteresis on the gradient magnitude (grey in [0, 1])
EDGE_MIN_PIXELS = 20  # smaller 8-connected fragments are dropped

SKETCH_SIGMA, SKETCH_K = 1.0, 1.6  # XDoG: Gaussians of sigma and k*sigma
SKETCH_GAMMA, SKETCH_EPSILON, SKETCH_PHI = 0.98, -0.01, 200.0  # D = g1 - gamma g2; soft step

HOLE_SIDE = 64  # masked: square holes of this side (or a quarter of the shorter side) ...
HOLE_AREA = 160 * 160  # ... one per this many pixels of photo (about 16 % of it is hidden)
HOLE_VALUE = 128  # mid-grey: 0 in the model's [-1, 1]

DOWNSCALE_FACTOR = 4  # downscaled: 1/4 of each side (anti-aliased), then bilinear back up
BLUR_SIGMA = 3.0  # blurred: Gaussian on each channel


def _float(photo: np.ndarray) -> np.ndarray:
    return np.asarray(photo, np.float32) / 255.0


def _uint8_rgb(image01: np.ndarray) -> np.ndarray:
    pixels = np.clip(np.round(np.asarray(image01) * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(pixels[..., None], 3, axis=-1) if pixels.ndim == 2 else pixels


def grey(photo: np.ndarray) -> np.ndarray:
    """Luminance in [0, 1], [h, w] (ITU-R 709 weights, as skimage.color.rgb2gray)."""
    from skimage.color import rgb2gray

    return rgb2gray(_float(photo))


def edge_mask(photo: np.ndarray) -> np.ndarray:
    """Steps 1-4 of `edges`: True on edge pixels, [h, w] bool."""
    from skimage.feature import canny
    from skimage.morphology import remove_small_objects, thin

    lines = canny(grey(photo), sigma=EDGE_SIGMA, low_threshold=EDGE_LOW,
                  high_threshold=EDGE_HIGH, mode="nearest")
    return remove_small_objects(thin(lines), max_size=EDGE_MIN_PIXELS - 1, connectivity=2)


def edges(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """Thin black edges on white (module docstring: the five steps)."""
    return _uint8_rgb(~edge_mask(photo))


def sketch(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """A pencil-like line drawing: XDoG (Winnemoeller et al. 2012), D = G(sigma) - gamma
    G(k sigma) of the grey image, white where D >= epsilon, else 1 + tanh(phi (D - epsilon))."""
    from skimage.filters import gaussian

    luminance = grey(photo)
    difference = (gaussian(luminance, SKETCH_SIGMA, mode="nearest")
                  - SKETCH_GAMMA * gaussian(luminance, SKETCH_SIGMA * SKETCH_K, mode="nearest"))
    drawing = np.where(difference >= SKETCH_EPSILON, 1.0,
                       1.0 + np.tanh(SKETCH_PHI * (difference - SKETCH_EPSILON)))
    return _uint8_rgb(drawing)


def grayscale(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """The photo's lightness alone: Lab's L (CIE, D65) as grey, so the model's colour is all
    it adds (the colorization of junyanz's code, which feeds L)."""
    from skimage.color import rgb2lab

    lightness = rgb2lab(_float(photo))[..., 0] / 100.0
    return _uint8_rgb(lightness)


def _photo_rng(photo: np.ndarray, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(np.ascontiguousarray(photo).tobytes()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def masked(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """Square mid-grey holes (HOLE_SIDE, one per HOLE_AREA pixels, at least one) at places
    drawn from the photo's bytes and `seed`; the model paints them in."""
    height, width = photo.shape[:2]
    side = max(1, min(HOLE_SIDE, min(height, width) // 4))
    count = max(1, round(height * width / HOLE_AREA))
    rng = _photo_rng(photo, seed)
    holed = np.array(photo, np.uint8, copy=True)
    for top, left in zip(rng.integers(0, height - side + 1, count),
                         rng.integers(0, width - side + 1, count), strict=True):
        holed[top:top + side, left:left + side] = HOLE_VALUE
    return holed


def downscaled(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """1/DOWNSCALE_FACTOR of each side (anti-aliased), scaled back up bilinearly: the detail
    the model restores is gone, the size is the photo's."""
    from skimage.transform import resize

    height, width = photo.shape[:2]
    small = resize(_float(photo), (max(1, height // DOWNSCALE_FACTOR),
                                   max(1, width // DOWNSCALE_FACTOR)), anti_aliasing=True)
    return _uint8_rgb(resize(small, (height, width), order=1, anti_aliasing=False))


def blurred(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """A Gaussian blur of sigma BLUR_SIGMA on each channel."""
    from skimage.filters import gaussian

    return _uint8_rgb(gaussian(_float(photo), BLUR_SIGMA, mode="nearest", channel_axis=-1))


TRANSFORMS = {"edges": edges, "sketch": sketch, "grayscale": grayscale, "masked": masked,
              "downscaled": downscaled, "blurred": blurred}
WHAT = {  # name -> what the model learns, for the config descriptions and the docs
    "edges": "edge map → photo (edges2shoes-style, Canny)",
    "sketch": "line drawing → photo (XDoG)",
    "grayscale": "lightness → colour photo (colorization)",
    "masked": "photo with holes → whole photo (inpainting)",
    "downscaled": "1/4-size photo scaled back up → detail (super-resolution)",
    "blurred": "blurred photo → sharp photo (deblurring)",
}


def transform(name: str, photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """TRANSFORMS[name](photo, seed), checked: uint8 RGB of the photo's size."""
    if name not in TRANSFORMS:
        raise ValueError(f"transform: {name!r}: expected one of {', '.join(TRANSFORMS)}")
    made = TRANSFORMS[name](photo, seed)
    assert made.shape == photo.shape and made.dtype == np.uint8, (name, made.shape)
    return made
