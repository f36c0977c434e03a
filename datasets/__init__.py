"""TFDS builders of tfcreative, installed as `tfcreative.datasets`.

Importing this package (or one builder package) registers the builders with TFDS, as
`import tensorflow_datasets` does for its own:

    import tfcreative.datasets
    tfds.load("abc_tunes/irish_folk")        # the bundled folk tunes, offline
    tfds.load("pix2pix/synthetic_facades")   # procedural facades, offline
"""

from tfcreative.datasets import abc_tunes, pix2pix  # noqa: F401  (registers both)
