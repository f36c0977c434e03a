"""pix2pix: paired images for image-to-image translation (TFDS builder)."""
