"""tfcreative: train, sample and ship generative models for music and images with Keras 3.

Importing the package is cheap (no TensorFlow). It registers the two Keras model classes,
MusicLSTM and Pix2Pix, as soon as Keras is imported (at once if it already is), so that plain
`keras.models.load_model("x.keras")` loads either after `import tfcreative`: Keras finds custom
classes only by their registered names, and the registration runs when their modules load.
The hook is a finder on `sys.meta_path` that runs the registration right after Keras's module
has run (the standard library's import machinery; wrapt's post-import hook did the same and
cost 55 ms of every start).
"""

import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"


def _register_model_classes(keras_module=None) -> None:
    import tfcreative.music.model  # noqa: F401  (@keras.saving.register_keras_serializable)
    import tfcreative.pix2pix.model  # noqa: F401


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds `keras` as the other finders do, and has its loader register the model classes
    once the module has run (then steps aside). A lookup alone (TensorFlow asks whether Keras
    is installed) leaves it in place."""

    def __init__(self):
        self._looking = False

    def find_spec(self, name, path=None, target=None):
        if name != "keras" or self._looking:
            return None
        self._looking = True  # the lookup below asks every finder, this one too
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._looking = False
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def exec_and_register(module):
                if self in sys.meta_path:
                    sys.meta_path.remove(self)
                exec_module(module)
                _register_model_classes(module)

            spec.loader.exec_module = exec_and_register
        return spec


if "keras" in sys.modules:
    _register_model_classes()
else:
    sys.meta_path.insert(0, _AfterKerasImport())
