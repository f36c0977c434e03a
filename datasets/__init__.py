"""TFDS builders of tfcreative, installed as `tfcreative.datasets`.

Importing a builder module registers it with TFDS, so `tfds.load("abc_tunes/irish_folk")` works
after `import tfcreative.datasets.abc_tunes`.
"""
