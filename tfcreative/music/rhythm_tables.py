"""The numbers and rules of ABC's rhythm, in one place for everything that times notes: the meter
tracker (`abc_grammar`'s edges, `meter_rules`' registers) and the MIDI reader (`abc_bars`).
No imports: a MIDI file can be written without NumPy loaded.
"""

# Broken rhythm's marks, as the tracker reads them one character at a time: the first `>` is
# code 1, a second one code 2 ... (0: no mark).
BROKEN_RHYTHM_CODES = {">": 1, ">>": 2, ">>>": 3, "<": 4, "<<": 5, "<<<": 6}
# Per code (none > >> >>> < << <<<), what that one mark does: the previous note's change (a
# multiple of its written length, numerator and denominator) and the next note's factor
# (numerator, denominator). The changes add up: `>>` is +1/2 then +1/4 of the note, 7/4 in
# all, and the next note gets 1/4.
BROKEN_RHYTHM = ((0, 1, 1, 1), (1, 2, 1, 2), (1, 4, 1, 4), (1, 8, 1, 8), (-1, 2, 3, 2),
                 (-1, 4, 7, 4), (-1, 8, 15, 8))


# The meter's rules, written with operators alone so that they hold for numbers and for the
# tracker's arrays (NumPy or TensorFlow) alike.
def compound(numerator):
    """6/8, 9/8, 12/8 ...: beats of three notes."""
    return (numerator % 3 == 0) & (numerator > 3)


def sixteenth_unit(numerator, denominator):
    """Without an L: field the unit note length is 1/16 below 3/4 (2/4, 3/8), else 1/8."""
    return 4 * numerator < 3 * denominator


def is_compound(meter: tuple[int, int] | None) -> bool:
    """`compound` of a meter as read (None: no meter, not compound)."""
    return meter is not None and bool(compound(meter[0]))


# Tuplet (p: q defaults, by p; 0 = "2 in simple meters, 3 in compound ones".
TUPLET_DEFAULT_Q = (1, 1, 3, 2, 3, 0, 2, 0, 3, 0) + (0,) * 90
