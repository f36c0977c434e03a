"""Character vocabulary: ids, OOV, clear errors for unknown seed characters, config round trip."""

import numpy as np
import pytest
import tensorflow as tf

from tfcreative.music.vocabulary import OOV_ID, CharVocabulary, UnknownCharacterError


def test_ids_are_one_based_sorted_and_round_trip():
    vocab = CharVocabulary.from_texts(["cab", "b\n"])
    assert vocab.characters == ("\n", "a", "b", "c")
    assert vocab.size == 5  # 4 characters + OOV
    ids = vocab.encode("abc\n")
    assert ids.tolist() == [2, 3, 4, 1]
    assert vocab.decode(ids) == "abc\n"


def test_unknown_characters_raise_naming_them_or_map_to_oov():
    vocab = CharVocabulary("abc")
    with pytest.raises(UnknownCharacterError, match=r"'é' \(U\+00E9\)") as info:
        vocab.encode("abé")
    assert "'abc'" in str(info.value)  # lists what is known
    assert vocab.encode("abé", on_unknown="oov").tolist() == [1, 2, OOV_ID]
    assert vocab.decode([1, OOV_ID]) == "a\ufffd"


def test_config_round_trip_and_equality():
    vocab = CharVocabulary("X:1\nT|")
    assert CharVocabulary.from_config(vocab.get_config()) == vocab
    assert CharVocabulary("ab") != CharVocabulary("abc")


def test_tensorflow_table_matches_python_encoding():
    vocab = CharVocabulary("abc|\n")
    text = "ab|\nzc"
    ids = vocab.id_table().lookup(tf.strings.unicode_decode(tf.constant(text), "UTF-8"))
    np.testing.assert_array_equal(ids.numpy(), vocab.encode(text, on_unknown="oov"))


@pytest.mark.parametrize("bad", [[], ["ab"]])
def test_invalid_vocabularies_are_rejected(bad):
    with pytest.raises(ValueError):
        CharVocabulary(bad)
