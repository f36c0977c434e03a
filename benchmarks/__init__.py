"""Benchmarks of tfcreative against the implementations users compare it with (the MIT 6.S191
course notebook, the TensorFlow pix2pix tutorial), ours and the reference in the same run.

Not tests: they print a table (and write JSON) for docs/benchmarks.md.
`python -m benchmarks --help`.
"""

BENCHMARKS = ("roofline", "music_training", "music_generation", "pix2pix_training",
              "pix2pix_inference", "startup")
