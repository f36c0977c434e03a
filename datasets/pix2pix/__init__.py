"""pix2pix: paired images for image-to-image translation (TFDS builder; importing this package
registers it with TFDS)."""

from tfcreative.datasets.pix2pix import pix2pix_dataset_builder  # noqa: F401
