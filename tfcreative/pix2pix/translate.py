"""Translating user images of any size with a trained generator, at the input's own size.

Two ways, as the model was trained (`Pix2Pix.tiling`): a model trained on whole images resized
to its size (the paper's data sets, label maps) gets each image resized to its size and the
output resized back; a model trained on crops of photos at their own scale (`--photos`) gets
overlapping tiles at the image's own scale, blended at the seams (tiling.py), so a 1024x768
photo comes out with 1024x768 pixels of detail.

The generator is a Keras model, or a preset's in NumPy (translation_model.NumpyPix2Pix, run
without importing TensorFlow: resized by resizing.resize, TensorFlow's antialiased bilinear
rule); TensorFlow loads only for a Keras model.
"""

from __future__ import annotations

import contextlib
import logging
import os

import numpy as np

from tfcreative.errors import ArgumentPathNotFound, InvalidArgument
from tfcreative.pix2pix.colour import lightness_kept
from tfcreative.pix2pix.images import read_image, to_uint8, write_png
from tfcreative.pix2pix.tiling import translate_tiled

logger = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def compiled_generator(generator, paper_style: bool = False):
    """The generator as one tf.function: 1.2-1.9x faster per image than eager calls on CPU
    (benchmarks/pix2pix_inference.py). Called like the generator, run(x) (a `training`
    argument is ignored), so evaluation functions take it in the generator's place.

    paper_style: as the paper ran its generators at test time, with dropout on and each batch
    normalised with its own statistics (training=True), so outputs vary with Keras's random
    seed; run it inside `kept_moving_statistics(generator)`, as such calls update the batch-norm
    moving averages. Default: inference mode (dropout off, the moving averages)."""
    import tensorflow as tf

    call = tf.function(lambda x: generator(x, training=paper_style))
    return lambda x, training=None: call(x)


@contextlib.contextmanager
def kept_moving_statistics(generator):
    """Puts back the batch-norm moving averages that paper-style calls update."""
    moving = [v for v in generator.non_trainable_variables
              if v.path.endswith(("moving_mean", "moving_variance"))]
    saved = [v.numpy() for v in moving]
    try:
        yield
    finally:
        for variable, value in zip(moving, saved, strict=True):
            variable.assign(value)


def translate_image(generator, pixels01: np.ndarray, run=None, tiling: bool = False,
                    resize=None) -> np.ndarray:
    """[h, w, 3] in [0, 1] -> uint8 [h, w, 3]: resized to the model's size and back, or with
    `tiling` in overlapping tiles at the image's own scale (tiling.translate_tiled).

    `run`: a `compiled_generator(generator)` to reuse across images (default: eager call).
    `resize(images, size)`: as tf.image.resize(..., antialias=True), TensorFlow's by default
    (resizing.resize for a NumPy generator)."""
    model_shape = [int(generator.input_shape[1]), int(generator.input_shape[2])]
    run = run or (lambda x, training=None: generator(x, training=False))
    if tiling:
        return to_uint8(translate_tiled(run, pixels01 * 2.0 - 1.0, model_shape))
    resize = resize or _tf_resize
    height, width = pixels01.shape[:2]
    x = resize(pixels01[None] * 2.0 - 1.0, model_shape)
    return to_uint8(resize(run(x), [height, width])[0])


def _tf_resize(images, size):
    import tensorflow as tf

    return tf.image.resize(images, size, antialias=True)


def _generator_run(model, paper_style: bool):
    """(run, resize, the context to run it in) for `model`'s generator: a NumPy generator as
    it is, with resizing.resize; a Keras one compiled (compiled_generator), with TensorFlow's
    resize, its batch-norm statistics kept."""
    from tfcreative.pix2pix.numpy_unet import NumpyUNet

    if not isinstance(model.generator, NumpyUNet):
        return (compiled_generator(model.generator, paper_style), None,
                kept_moving_statistics(model.generator))
    if paper_style:
        raise InvalidArgument("paper_style", "runs on the Keras model only (dropout on, batch "
                                             "statistics): load it with "
                                             "tfcreative.pix2pix.load_model")
    from tfcreative.pix2pix.resizing import resize

    return model.generator, resize, contextlib.nullcontext()


def _expand(inputs: list[str]) -> list[str]:
    files = []
    for path in inputs:
        if os.path.isdir(path):
            names = sorted(os.listdir(path))
            images = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
            if len(images) < len(names):
                logger.warning("%s: ignored %d file(s) without an image suffix %s", path,
                               len(names) - len(images), IMAGE_SUFFIXES)
            if not images:
                raise InvalidArgument("inputs", f"{path}: folder holds no image "
                                                f"({', '.join(IMAGE_SUFFIXES)})")
            files.extend(os.path.join(path, n) for n in images)
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise ArgumentPathNotFound("inputs", f"{path}: no such image file or folder")
    return files


def made_from_photo(transform: str, pixels01: np.ndarray) -> np.ndarray:
    """The input a photos_<transform> model was trained on, made from a photo ([h, w, 3] in
    [0, 1], the same out)."""
    from tfcreative.datasets.pix2pix import photo_transforms  # (its package loads TFDS)

    name = transform.removeprefix("photos_")
    if name not in photo_transforms.TRANSFORMS:
        raise InvalidArgument("transform", f"{transform!r}: expected one of "
                                           f"{', '.join(photo_transforms.TRANSFORMS)}")
    photo = np.clip(np.round(pixels01 * 255.0), 0, 255).astype(np.uint8)
    return photo_transforms.transform(name, photo).astype(np.float32) / 255.0


def _read_input(path: str) -> np.ndarray:
    try:
        return read_image(path)
    except InvalidArgument as error:  # read_image's `path` is one of our `inputs`
        raise InvalidArgument("inputs", error.detail) from None


def translate_paths(model, inputs: list[str], out_dir: str, paper_style: bool = False,
                    tiling: bool | None = None,
                    transform: str | None = None) -> list[tuple[str, str]]:
    """Translates files and folders of images into `out_dir`/<name>.png with `model`, a
    Pix2Pix or a translation_model.NumpyPix2Pix (paper_style: see compiled_generator, Keras
    only; tiling: see translate_image, None: as the model was trained).
    transform: the inputs are photos, and the model's input is made from each by this
    photo transform first (e.g. "edges": a photo in, the photo the model draws from its edges
    out).

    Every input is read before anything is written, so a bad file stops the run without
    leaving part of the outputs behind; each PNG is written to a temporary name, then renamed.
    """
    files = _expand(inputs)
    images = [(path, _read_input(path)) for path in files]
    if transform is not None:
        images = [(path, made_from_photo(transform, pixels)) for path, pixels in images]
    run, resize, running = _generator_run(model, paper_style)
    os.makedirs(out_dir, exist_ok=True)
    if model.keep_lightness:
        run = lightness_kept(run)
    tiling = model.tiling if tiling is None else tiling
    used, done = set(), []
    with running:
        for path, pixels in images:
            stem, ext = os.path.splitext(os.path.basename(path))
            name = f"{stem}.png" if f"{stem}.png" not in used else f"{stem}_{ext[1:]}.png"
            used.add(name)
            target = os.path.join(out_dir, name)
            write_png(target, translate_image(model.generator, pixels, run, tiling, resize))
            done.append((path, target))
    return done
