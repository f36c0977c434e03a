"""abc_tunes: folk tunes in ABC notation, one example per tune (TFDS builder)."""
