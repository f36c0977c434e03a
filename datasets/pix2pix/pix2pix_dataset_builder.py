"""pix2pix dataset: paired images (input, target) for image-to-image translation."""

from __future__ import annotations

import collections
import dataclasses
import logging
import stat

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from etils import epath

from tfcreative.datasets.hash_split import split_of_key
from tfcreative.datasets.pix2pix import photo_transforms, synthetic_facades

logger = logging.getLogger(__name__)

PAPER_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
SPLIT_FOLDERS = {"train": "train", "val": "validation", "test": "test"}
MANUAL_HELD_OUT_PERCENT = {"test": 10, "validation": 10}  # flat folders; the rest is train


@dataclasses.dataclass
class Pix2PixConfig(tfds.core.BuilderConfig):
    """kind: "paper" (download), "synthetic" (generated), "manual" (your pairs) or "photos"
    (your photos; the input made by `transform`, one of photo_transforms.TRANSFORMS).

    input_side: for side-by-side A|B images, which half is the input ("A" or "B").
    """

    kind: str = "paper"
    input_side: str = "A"
    image_size: int = 256  # synthetic only
    num_train: int = 400  # synthetic only
    num_test: int = 100  # synthetic only
    num_validation: int = 100  # synthetic only
    seed: int = 0  # synthetic and photos (masked's holes)
    transform: str = ""  # photos only
    max_side: int = 1024  # photos only: larger photos are scaled down to this longer side
    # A user's folder (manual, photos): the path it was read from and the key of its content
    # (`users_config`), which names the config, so each content has a data set of its own.
    folder: str | None = None
    content_key: str | None = None

    def __str__(self) -> str:
        if self.folder:  # how TFDS names a config it does not list, on every load
            return f"{self.name} (the files in {self.folder})"
        return repr(self)


def _paper(name: str, input_side: str, what: str) -> Pix2PixConfig:
    return Pix2PixConfig(name=name, kind="paper", input_side=input_side,
                         description=f"{what} ({input_side}→{'B' if input_side == 'A' else 'A'})")


def decode_rgb(data: bytes) -> np.ndarray:
    """Any PNG/JPEG/BMP/GIF (grey, RGBA, 16-bit) -> uint8 RGB; raises on corrupt data."""
    return tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False).numpy()


def split_side_by_side(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = image.shape[1] // 2
    return image[:, :half], image[:, half: 2 * half]


def _image_files(folder: epath.Path) -> list[epath.Path]:
    """Regular files with an image suffix (never a pipe, whose reading would block, nor a
    folder), sorted by name."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES and is_regular_file(p))


def is_regular_file(path: epath.Path) -> bool:
    """By the file's mode (epath's is_file says True for a named pipe); True where a file
    system gives no mode."""
    mode = path.stat().mode
    return mode is None or stat.S_ISREG(mode)


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """The image scaled down (anti-aliased) so its longer side is at most `max_side`."""
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = [max(1, round(height * scale)), max(1, round(width * scale))]
    resized = tf.image.resize(image, size, method="area")
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8).numpy()


def _held_out_split(name: str) -> str:
    """"test", "validation" or "train" for a pair in a flat folder, by a hash of its name."""
    return split_of_key(name, MANUAL_HELD_OUT_PERCENT)


class Builder(tfds.core.GeneratorBasedBuilder):
    """DatasetBuilder for pix2pix paired images."""

    # datasets/ installs as tfcreative.datasets (package_dir); TFDS's path guess from the module
    # name is wrong for editable installs, so the folder is stated.
    code_path = epath.Path(__file__)
    pkg_dir_path = epath.Path(__file__).parent

    # The photos_* configs (no change to any other config's data; your folders are read anew
    # on every build) came without a new version, so prepared data and FCN-score segmenters
    # cached under 1.1.0 stay valid.
    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release.",
        "1.1.0": "Validation splits: 100 more generated pairs for synthetic_facades (train and "
                 "test unchanged); flat manual folders send 10 % of pairs, by name, to "
                 "validation (test unchanged).",
    }
    BUILDER_CONFIGS = [
        _paper("facades", "B", "CMP Facades: label map → photo"),
        _paper("cityscapes", "B", "Cityscapes: semantic labels → photo"),
        _paper("maps", "A", "Google Maps: aerial photo → map"),
        _paper("edges2shoes", "A", "Edges → shoe photo"),
        _paper("edges2handbags", "A", "Edges → handbag photo"),
        _paper("night2day", "B", "Day → night"),
        Pix2PixConfig(name="synthetic_facades", kind="synthetic",
                      description="Procedural CMP-style facade label maps → photo-like "
                                  "renderings, 256×256, 400 train / 100 validation / 100 "
                                  "test, offline."),
        Pix2PixConfig(name="manual", kind="manual",
                      description="Your own pairs: A/ and B/ folders or side-by-side A|B."),
        *(Pix2PixConfig(name=f"photos_{name}", kind="photos", transform=name,
                        description=f"Your photos: {what}.")
          for name, what in photo_transforms.WHAT.items()),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    For the `manual` config, put your pairs in manual_dir: folders `A/` (inputs) and `B/`
    (targets) with matching file names, or side-by-side A|B images; optional `train/`, `val/`,
    `test/` subfolders become splits. For the `photos_*` configs, put your photos in
    manual_dir (optional `train/`, `val/`, `test/` subfolders); each input is made from its
    photo by the config's transform.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "input_image": tfds.features.Image(shape=(None, None, 3)),
                "target_image": tfds.features.Image(shape=(None, None, 3)),
                "file_name": tfds.features.Text(),
            }),
            supervised_keys=("input_image", "target_image"),
            homepage="https://phillipi.github.io/pix2pix/",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        if config.kind == "synthetic":
            first_test = config.num_train
            first_validation = first_test + config.num_test
            return {
                "train": self._generate_synthetic(range(config.num_train)),
                "test": self._generate_synthetic(range(first_test, first_validation)),
                "validation": self._generate_synthetic(
                    range(first_validation, first_validation + config.num_validation)),
            }
        if config.kind == "paper":
            root = epath.Path(dl_manager.download_and_extract(
                PAPER_URL.format(name=config.name))) / config.name
            return {SPLIT_FOLDERS[f]: self._generate_pairs(root / f)
                    for f in SPLIT_FOLDERS if (root / f).is_dir()}
        root = epath.Path(config.folder or dl_manager.manual_dir)
        if config.kind == "photos":
            return self._photo_splits(root)
        return self._manual_splits(root)

    def _photo_splits(self, root: epath.Path):
        """train/, val/, test/ subfolders, or one folder split by a hash of each name."""
        split_dirs = {SPLIT_FOLDERS[f]: root / f for f in SPLIT_FOLDERS if (root / f).is_dir()}
        if split_dirs:
            return {split: self._generate_photo_pairs(folder, _image_files(folder))
                    for split, folder in split_dirs.items()}
        splits = {"train": [], "validation": [], "test": []}
        for path in _image_files(root):
            splits[_held_out_split(path.name)].append(path)
        return {split: self._generate_photo_pairs(root, paths)
                for split, paths in splits.items() if paths}

    def _generate_photo_pairs(self, folder: epath.Path, paths):
        """(transform(photo), photo) for each readable photo, scaled down to max_side; skips,
        counts and names unreadable ones (pair_check reports them before the build)."""
        config = self.builder_config
        kept, skipped = 0, 0
        for path in paths:
            try:
                photo = fit_within(decode_rgb(path.read_bytes()), config.max_side)
            except tf.errors.InvalidArgumentError:
                skipped += 1
                logger.warning("pix2pix: skipped %s: corrupt or truncated image", path)
                continue
            kept += 1
            yield path.name, {
                "input_image": photo_transforms.transform(config.transform, photo, config.seed),
                "target_image": photo, "file_name": path.name}
        if skipped:
            logger.warning("pix2pix: %s: kept %d photos, skipped %d unreadable", folder, kept,
                           skipped)
        if not kept:
            raise ValueError(f"{folder}: no readable photo ({', '.join(IMAGE_SUFFIXES)})")

    def _manual_splits(self, root: epath.Path):
        split_dirs = {SPLIT_FOLDERS[f]: root / f for f in SPLIT_FOLDERS if (root / f).is_dir()}
        if split_dirs:
            return {split: self._generate_pairs(folder) for split, folder in split_dirs.items()}
        splits = {"train": [], "validation": [], "test": []}
        for candidate in self._pair_candidates(root):
            splits[_held_out_split(candidate[0])].append(candidate)
        return {split: self._generate_examples(root, items)
                for split, items in splits.items() if items}

    def _generate_synthetic(self, indices):
        config = self.builder_config
        for index in indices:
            labels, photo = synthetic_facades.facade_pair(config.seed, index, config.image_size)
            yield index, {"input_image": labels, "target_image": photo,
                          "file_name": f"synthetic_{config.seed}_{index:05d}.png"}

    def _generate_pairs(self, folder: epath.Path):
        return self._generate_examples(folder, self._pair_candidates(folder))

    def _pair_candidates(self, folder: epath.Path) -> list[tuple[str, epath.Path, epath.Path]]:
        """(name, A file, B file or None for side-by-side); logs files without a partner."""
        if (folder / "A").is_dir() and (folder / "B").is_dir():
            a_files = {p.stem: p for p in _image_files(folder / "A")}
            b_files = {p.stem: p for p in _image_files(folder / "B")}
            unpaired = sorted(set(a_files) ^ set(b_files))
            for stem in unpaired:
                logger.warning("pix2pix: skipped %s: no file with the same name in the other "
                               "folder", a_files.get(stem) or b_files.get(stem))
            if unpaired:
                logger.warning("pix2pix: %s: %d file(s) without a partner skipped", folder,
                               len(unpaired))
            return [(a_files[s].name, a_files[s], b_files[s])
                    for s in sorted(set(a_files) & set(b_files))]
        return [(p.name, p, None) for p in _image_files(folder)]

    def _generate_examples(self, folder: epath.Path, candidates):
        """Yields decoded pairs one by one (big data sets never sit in memory); skips, counts
        and names corrupt images and mismatched sizes; no usable pair at all is an error."""
        skipped: collections.Counter = collections.Counter()
        kept = 0
        for name, a_path, b_path in candidates:
            problem, pair = self._decode_pair(a_path, b_path)
            if problem:
                bad_path, reason = problem
                skipped[reason.split(":")[0]] += 1
                logger.warning("pix2pix: skipped %s: %s", bad_path, reason)
                continue
            first, second = pair
            if self.builder_config.input_side == "B":
                first, second = second, first
            kept += 1
            yield name, {"input_image": first, "target_image": second, "file_name": name}
        if skipped:
            logger.warning("pix2pix: %s: kept %d pairs, skipped %d %s", folder, kept,
                           sum(skipped.values()), dict(skipped))
        if not kept:
            raise ValueError(f"{folder}: no usable image pair (expected A/ and B/ folders with "
                             "matching names, or side-by-side A|B images)")

    @staticmethod
    def _decode_pair(a_path, b_path):
        """Returns (None, (A, B)) or ((the file to name, reason), None): the corrupt file
        itself, or the B file of a pair whose sizes differ."""
        images = []
        for path in (a_path, b_path) if b_path is not None else (a_path,):
            try:
                images.append(decode_rgb(path.read_bytes()))
            except tf.errors.InvalidArgumentError:
                return (path, "corrupt or truncated image"), None
        if b_path is None:
            if images[0].shape[1] < 2:
                return (a_path, "too narrow to be a side-by-side A|B image"), None
            return None, split_side_by_side(images[0])
        first, second = images
        if first.shape != second.shape:
            return (b_path, f"size mismatch: A is {first.shape[1]}x{first.shape[0]}, "
                            f"B is {second.shape[1]}x{second.shape[0]}"), None
        return None, (first, second)


def users_config(name: str, folder: str, key: str) -> Pix2PixConfig:
    """The config `name` (manual, photos_<transform>) for the files in `folder`, whose content
    has the key `key` (pair_check.content_key): named `<name>_<key>`, so its data is prepared
    once per content, in a version folder of its own that no run on other files shares."""
    base = Builder.builder_configs[name]
    return dataclasses.replace(base, name=f"{name}_{key}", folder=folder, content_key=key,
                               description=f"{base.description} ({folder})")
