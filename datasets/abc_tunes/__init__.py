"""abc_tunes: folk tunes in ABC notation, one example per tune (TFDS builder; importing this
package registers it with TFDS)."""

from tfcreative.datasets.abc_tunes import abc_tunes_dataset_builder  # noqa: F401
