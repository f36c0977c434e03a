"""The demo page's photo transforms and tiling (tfcreative/web/photo_transforms.js, tiling.js)
against Python's, in Node on real photos (scikit-image's sample photographs: CC0 or public
domain): the page's `edges` and `sketch` give Python's pixels (docs/pix2pix_photos.md states
the agreement), its scaling of large photos is the data builder's, and its tiles are
tiling.py's to the last float."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from skimage import data

from tests.conftest import REPO
from tfcreative.datasets.pix2pix import photo_transforms
from tfcreative.datasets.pix2pix.pix2pix_dataset_builder import Pix2PixConfig, fit_within
from tfcreative.pix2pix import tiling

TRANSFORMS_JS = os.path.join(REPO, "tests", "js", "photo_transforms.mjs")
TILING_JS = os.path.join(REPO, "tests", "js", "tiling.mjs")
needs_node = pytest.mark.skipif(shutil.which("node") is None and not os.environ.get("CI"),
                                reason="node needed; CI has it")
# 300x451 to 872x1000, and retina (1411x1411: larger than max_side)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry",
          "hubble_deep_field", "retina")
# The page's edges and sketches must be Python's but for float ties (docs/pix2pix_photos.md:
# measured 100 % identical on every photo here); its grayscale may differ by 1 at rounding ties.
AGREEMENT = 0.9999


def photo(name: str) -> np.ndarray:
    return getattr(data, name)()[..., :3]


def _node(script: str, request: dict) -> dict:
    result = subprocess.run(["node", "--no-warnings", script], input=json.dumps(request),
                            capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def run_in_page_code(jobs: list[tuple[np.ndarray, str]], tmp_path, max_side=None):
    """[(photo, transform)] -> ([the page code's uint8 RGB outputs], its settings)."""
    requests = []
    for i, (image, transform) in enumerate(jobs):
        rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], -1)
        rgba.tofile(tmp_path / f"{i}.rgba")
        requests.append({"input": str(tmp_path / f"{i}.rgba"), "width": image.shape[1],
                         "height": image.shape[0], "transform": transform,
                         "max_side": max_side, "output": str(tmp_path / f"{i}.out")})
    answer = _node(TRANSFORMS_JS, {"jobs": requests})
    outputs = [np.fromfile(tmp_path / f"{i}.out", np.uint8).reshape(size["height"],
                                                                      size["width"], 4)[..., :3]
               for i, size in enumerate(answer["results"])]
    return outputs, answer["settings"]


@needs_node
@pytest.mark.parametrize("name", PHOTOS)
def test_the_pages_edges_and_sketch_are_pythons(name, tmp_path):
    image = photo(name)
    made, _ = run_in_page_code([(image, t) for t in ("edges", "sketch", "grayscale")], tmp_path)
    for transform, js in zip(("edges", "sketch", "grayscale"), made, strict=True):
        python = photo_transforms.transform(transform, image)
        assert js.shape == python.shape, transform
        identical = (js == python).all(-1).mean()
        assert identical >= AGREEMENT, (transform, identical)
        assert np.abs(js.astype(int) - python).max() <= (1 if transform == "grayscale" else 255)
    lines = made[0][..., 0] == 0
    assert 0.002 < lines.mean() < 0.2  # real edges: a blank page would agree too


@needs_node
def test_the_page_scales_large_photos_down_as_the_data_builder(tmp_path):
    jobs = [(photo(name), "fit_within") for name in ("retina", "coffee", "chelsea")]
    made, settings = run_in_page_code(jobs, tmp_path, max_side=256)
    for (image, _), js in zip(jobs, made, strict=True):
        np.testing.assert_array_equal(js, fit_within(image, 256))
    assert settings["MAX_SIDE"] == Pix2PixConfig(name="x").max_side == 1024
    [retina], _ = run_in_page_code([(photo("retina"), "fit_within")], tmp_path)
    assert retina.shape == (1024, 1024, 3)  # the page's default: max_side


@needs_node
def test_the_pages_settings_are_pythons(tmp_path):
    _, settings = run_in_page_code([], tmp_path)
    assert (settings["EDGE_SIGMA"], settings["EDGE_LOW"], settings["EDGE_HIGH"],
            settings["EDGE_MIN_PIXELS"]) == (photo_transforms.EDGE_SIGMA,
                                              photo_transforms.EDGE_LOW,
                                              photo_transforms.EDGE_HIGH,
                                              photo_transforms.EDGE_MIN_PIXELS)
    assert settings["SKETCH"] == {"sigma": photo_transforms.SKETCH_SIGMA,
                                  "k": photo_transforms.SKETCH_K,
                                  "gamma": photo_transforms.SKETCH_GAMMA,
                                  "epsilon": photo_transforms.SKETCH_EPSILON,
                                  "phi": photo_transforms.SKETCH_PHI}
    assert set(settings["IN_THE_PAGE"]) <= set(photo_transforms.TRANSFORMS)


@needs_node
def test_the_pages_tiles_are_tiling_pys(tmp_path):
    sides = [(1024, 128), (768, 128), (129, 128), (300, 256), (128, 128), (40, 128), (70, 32)]
    rng = np.random.default_rng(0)
    shapes = [(70, 45), (20, 50), (32, 32), (100, 129)]
    images = [rng.uniform(-1, 1, (*shape, 3)).astype(np.float32) for shape in shapes]
    jobs = []
    for i, image in enumerate(images):
        image.tofile(tmp_path / f"{i}.f32")
        jobs.append({"input": str(tmp_path / f"{i}.f32"), "width": image.shape[1],
                     "height": image.shape[0], "tile": [32, 24], "overlap_divisor": 4,
                     "output": str(tmp_path / f"{i}.out")})
    answer = _node(TILING_JS, {
        "starts": [[length, tile, tile // 4] for length, tile in sides],
        "weights": [[tile, tile // 4] for _, tile in sides], "images": jobs})
    for (length, tile), starts, weights in zip(sides, answer["starts"], answer["weights"],
                                               strict=True):
        assert starts == tiling.tile_starts(length, tile, tile // 4)
        np.testing.assert_array_equal(np.float32(weights), tiling.tile_weights(tile, tile // 4))
    for i, image in enumerate(images):
        mirrored = tiling.translate_tiled(lambda x, training=None: x[:, :, ::-1], image, (32, 24))
        got = np.fromfile(tmp_path / f"{i}.out", np.float32).reshape(image.shape)
        np.testing.assert_array_equal(got, mirrored)
        assert not np.array_equal(got, image)
    assert answer["tiles"][3] == len(tiling.tile_starts(100, 32, 8)) * len(
        tiling.tile_starts(129, 24, 6))
