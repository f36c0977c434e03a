"""tfcreative: train, sample and ship generative models for music and images with Keras 3.

Importing the package is cheap (no TensorFlow). It registers the two Keras model classes,
MusicLSTM and Pix2Pix, as soon as Keras is imported (at once if it already is), so that plain
`keras.models.load_model("x.keras")` loads either after `import tfcreative`: Keras finds custom
classes only by their registered names, and the registration runs when their modules load.
The hook is wrapt's post-import hook (wrapt is a TensorFlow dependency).
"""

import wrapt

__version__ = "0.1.0"


def _register_model_classes(keras_module) -> None:
    import tfcreative.music.model  # noqa: F401  (@keras.saving.register_keras_serializable)
    import tfcreative.pix2pix.model  # noqa: F401


wrapt.register_post_import_hook(_register_model_classes, "keras")
