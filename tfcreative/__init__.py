"""tfcreative: train, sample and ship generative models for music and images with Keras 3.

Importing the package stays cheap (no TensorFlow import); the subpackages
`tfcreative.music`, `tfcreative.datasets` and `tfcreative.export` load TensorFlow.
"""

__version__ = "0.1.0"
