"""TFDS tests for pix2pix: paper configs (dummy archives), manual folders, synthetic facades."""

# skimage.morphology np.loads a data file by path when first imported, which the TFDS test
# case's np.load mock forbids: import it before any test runs (outside tests nothing mocks it).
import skimage.morphology  # noqa: F401
import tensorflow_datasets as tfds

from tfcreative.datasets.pix2pix import photo_transforms, pix2pix_dataset_builder
from tfcreative.datasets.pix2pix.pix2pix_dataset_builder import Pix2PixConfig


class Pix2PixPaperTest(tfds.testing.DatasetBuilderTestCase):
    """facades (B→A) and maps (A→B) from side-by-side JPEGs in train/ val/ test/."""

    DATASET_CLASS = pix2pix_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["facades", "maps"]
    DL_EXTRACT_RESULT = "paper"
    SKIP_CHECKSUMS = True  # the archives' checksums are not recorded yet (see README)
    SPLITS = {"train": 2, "validation": 1, "test": 1}


class Pix2PixManualTest(tfds.testing.DatasetBuilderTestCase):
    """train/ has A/ and B/ folders (plus an unpaired, a truncated and a mismatched file, all
    skipped); test/ has side-by-side images."""

    DATASET_CLASS = pix2pix_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["manual"]
    EXAMPLE_DIR = str(pix2pix_dataset_builder.Builder.pkg_dir_path / "dummy_data" / "manual")
    SPLITS = {"train": 3, "test": 2}


class Pix2PixPhotosTest(tfds.testing.DatasetBuilderTestCase):
    """A flat folder of small real photos (scikit-image's, CC0 / public domain), a truncated
    JPEG and a text file (both skipped), split by a hash of each name; every transform."""

    DATASET_CLASS = pix2pix_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = [f"photos_{name}" for name in photo_transforms.TRANSFORMS]
    EXAMPLE_DIR = str(pix2pix_dataset_builder.Builder.pkg_dir_path / "dummy_data" / "photos")
    SPLITS = {"train": 6, "test": 1}


class Pix2PixSyntheticTest(tfds.testing.DatasetBuilderTestCase):
    """Procedural facades at a small size."""

    DATASET_CLASS = pix2pix_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = [
        Pix2PixConfig(name="synthetic_small", kind="synthetic", image_size=32, num_train=6,
                      num_test=3, num_validation=2)
    ]
    SPLITS = {"train": 6, "validation": 2, "test": 3}


if __name__ == "__main__":
    tfds.testing.test_main()
