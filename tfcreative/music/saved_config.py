"""Whether a saved config.json (Keras's serialized model, in a preset or a .keras file) is a
MusicLSTM the NumPy path runs as Keras would: our class itself (not a subclass, nor another
package's class of that name), computing in float32. Light (no NumPy), so the command line can
ask before it loads anything."""

from __future__ import annotations

from tfcreative.errors import InvalidArgument
from tfcreative.keras_archive import dtype_policy

MODEL_CLASS = "MusicLSTM"
REGISTERED_NAME = "tfcreative>MusicLSTM"  # how Keras names the class in a saved config


def is_music_lstm(stored: dict) -> bool:
    """Whether the saved config names our MusicLSTM (its dtype policy aside)."""
    return isinstance(stored, dict) and stored.get("class_name") == MODEL_CLASS \
        and stored.get("registered_name") == REGISTERED_NAME


def float32_config(stored: dict, argument: str = "preset") -> dict:
    """The model's config (its `get_config()`) from the saved one, if that is a MusicLSTM
    computing in float32; else an InvalidArgument about `argument`."""
    config = stored.get("config") if isinstance(stored, dict) else None
    if not is_music_lstm(stored) or dtype_policy(config) != "float32":
        raise InvalidArgument(argument, "its config is not a float32 MusicLSTM's")
    return config
