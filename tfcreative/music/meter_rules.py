"""The meter tracker's rhythm rules, written once: how each character changes a tune's
registers (`advance`), which characters the registers allow next (`conditions`,
`character_allowed`). The grammar's tables (`abc_grammar`) say which rule applies to which
character; this module says what the rules compute.

The same functions run on NumPy arrays and TensorFlow tensors (`tfcreative.music.meter`: one
row per tune, [batch] arrays) and, traced once into small programs (`meter_program`), in the
browser's JavaScript tracker (`web/abc_meter.js`, which has no rule of its own). So a rule
may only use what all three share, through `ops`:

* Python's operators on registers and edge fields: `+ - * // %` and comparisons on integers;
  `& | ~` on booleans (and, or, not); `&` and `|` on small integers (bit flags, < 2**31);
* `ops.where(condition, a, b)`, `ops.minimum(a, b)`, `ops.as_int(boolean)` (0 or 1),
  `ops.right_shift(a, bits)`;
* `ops.lookup(values, index)` (a constant table of this module), `ops.lookup_row(rows,
  index)` (a tuple of columns), and the grammar's length trie: `ops.length_value_id(node)`,
  `ops.length_value(value_id)`, `ops.next_length_node(node, token)`;
* no Python `if`, `and`, `or` or `not` on them (a traced value refuses to be a bool).

Registers, one integer per tune each (ticks: 1/20,643,840 of a whole note,
`abc_grammar.TICKS_PER_WHOLE`; flags are 0 or 1; initial values in `Registers`):

name                        meaning                                                    unit
--------------------------  ---------------------------------------------------------  ------------
state                       the grammar state (LOST: the row was given up)             state id
header_fields               header fields seen: T:, M:, L:, L: written (HEADER_*)      bit flags
text_length                 the free text being read (title, annotation, chord notes)  characters
number                      the number being read (a field value or a tuplet count)    integer
meter_numerator             M:'s numerator, kept while its denominator is read         integer
bar_length                  the meter's bar length; 0: no meter (M:none)               ticks
unit_length                 the unit note length (L:, or the meter's default)          ticks
default_unit_length         the unit note length the meter implies                     ticks
compound_meter              the meter is compound (6/8, 9/8, 12/8 ...)                 flag
bar_position                the current bar's length so far                            ticks
in_first_bar                no full bar line yet: the first bar may be a pickup        flag
after_bar_line              a bar line was read, and no note since                     flag
section_start               bar_position where the current section started             ticks
section_first_bar           the section's first (pickup) bar; -1 until its bar line    ticks
section_opened_by           what opened the section (SECTION_AT_*)                     code
variant_ending              0: none; 1: in a first ending; 2: in a second one          code
second_ending_due           a first ending closed with :| -- the second must follow    flag
first_ending_position       bar_position where the first ending began                  ticks
variant_endings_seen        variant endings ([1 [2 ...) so far in the tune             count
last_bar_line               the last bar line (abc_grammar.BAR_*)                      code
full_bars                   bars closed by a full bar line                             count
violations                  bars abc2midi would report as not matching the meter       count
replay_first_bar            the first bar of the part a bare :| replays                ticks
replay_from_tune_start      that part starts the tune (its first bar may be short)     flag
short_bar_in_second_ending  a short bar carried over inside a second ending            flag
double_bar_in_section       a || or |] since the section's start                       flag
note_pending                a note, rest or chord whose length is still being read     flag
length_numerator            its written length's numerator (digits after the letter)   integer
length_denominator          its written length's denominator (2 per /, or digits)      integer
denominator_before_slash    length_denominator before the last /                       integer
denominator_digits          the digits after that /                                    integer
length_node                 its written length's node in the strict length trie        trie node
note_factor_numerator       its tuplet and broken-rhythm factor: numerator             integer
note_factor_denominator     ... and denominator                                        integer
chord_length_numerator      a chord's first note's length (the chord's, unless ]n)     integer
chord_length_denominator    ... and denominator                                        integer
tuplet_notes                p of (p:q:r: p notes in the time of q                      notes
tuplet_time                 q of (p:q:r                                                notes
tuplet_notes_left           notes of the tuplet still to come (r, counting down)       notes
broken_factor_numerator     the next note's broken-rhythm factor (after > or <)        integer
broken_factor_denominator   ... and denominator                                        integer
last_note_length            the length of the last note that ended                     ticks
required_length             the written length the next note must repeat; -1: any      length id
tied_note                   the note letter a tie may join; -1: none                   character id
form                        the form rules are on (settings: set before the tune)      flag
parts_wanted                the parts the tune has, then it ends                       count
repeats                     every part repeats (:| or endings), none is written out    flag
chord_symbols               quoted strings are chord symbols (with the form; else none)  flag
fixed_key                   the K: value forced (controls.FIXED_VALUES); 0: the model's  row
fixed_meter                 ... the M: value                                           row
fixed_rhythm                ... the R: value (the tune's type)                         row
no_broken_rhythm            no > or < (R:hornpipe: abc2midi swings it itself)          flag
meter_part_lengths          the part lengths the meter allows (PART_8_BARS, _16_)      bit flags
part_lengths                ... the current part may have (an ending narrows them)     bit flags
part_time                   the current part's music so far                            ticks
ending_part_time            part_time where its first ending began                     ticks
parts_done                  parts closed by a part-ending bar line                     count
tonic                       the key's tonic (abc_grammar.PITCH_LETTERS); 0: unknown    letter
last_pitch                  the last note's letter, OTHER_PITCH if not a plain letter  letter

The form (a tune's parts, `form_conditions`) works on the same registers: a part closes with
a part-ending bar line (|| |] :| |:, a second ending's closing one) only where its music
makes 8 or 16 bars (`part_time`, from the part's start: a pickup and the short bar that
completes it make one bar), and must close there; after the parts asked the tune ends, on
the key's tonic. Settings (`form` ... `no_broken_rhythm`) are registers set before a tune
starts (`meter.settings_registers`); nothing changes them.

Adding a rule: change the phase of `advance` it belongs to (a new register: a field of
`Registers`, a row above, its initial value) and, if it decides what may be written, the
condition of its kind in `conditions` (a new kind of character: `abc_grammar.KINDS` and the
grammar's edges). Then `python tools/write_meter_tables.py` re-exports the browser's copy
(tests/test_meter_js.py fails until it is done, and checks both trackers step by step).
"""

from __future__ import annotations

import dataclasses

from tfcreative.music import abc_grammar as grammar
from tfcreative.music import controls, rhythm_tables

TICKS_PER_WHOLE = grammar.TICKS_PER_WHOLE
NUMBER_CAP = 10_000  # numbers in the text are clamped here (no overflow, still exact for music)
TICKS_CAP = 1 << 40  # and bar positions here: every product stays below 2**53, so the
# JavaScript tracker computes with exact doubles what this computes with int64

# header_fields bits
HEADER_TITLE, HEADER_METER, HEADER_UNIT_LENGTH, HEADER_UNIT_LENGTH_WRITTEN = 1, 2, 4, 8
HEADER_RHYTHM = 16  # R: written
HEADER_BEFORE_KEY = HEADER_TITLE | HEADER_METER | HEADER_UNIT_LENGTH  # K: comes after these
# section_opened_by: the tune's start, |: or :: (an explicit repeat start), :| (a repeat end)
SECTION_AT_TUNE_START, SECTION_AT_REPEAT_START, SECTION_AT_REPEAT_END = 1, 2, 3

BROKEN_RHYTHM = rhythm_tables.BROKEN_RHYTHM  # (rhythm_tables: what each mark does)
TUPLET_DEFAULT_Q = rhythm_tables.TUPLET_DEFAULT_Q
# part_lengths bits. The corpus's parts (abc_tunes/combined, parts counted by
# tfcreative.music.form): 8 bars in every meter (6/8 90 %, 2/4 86 %, C| 79 %, C 64 %, the
# rest mostly 4 bars repeated); 16 bars too in the simple triple meters 3/4 (30 %) and 3/8
# (28 %); 16 elsewhere 1-5 %.
PART_8_BARS, PART_16_BARS = 1, 2
# The tune ends on its tonic: the music after its last other note, in quarters of the unit
# note length (a unit note: "d2 cA|B:|" then ends "...cA B:|", not "...cA/B/:|": on the
# preset's samples, endings of at least a unit note and 0.01 bits/char less than the shortest).
TONIC_RESERVE = 4
# The characters the tracker forces for a fixed K:, M: or R: value (controls.FIXED_VALUES),
# by the state being read: which field's value it is (1 M:, 2 K:, 3 R:; 0 none).
FIXED_CODES = controls.fixed_codes()
FIXED_WIDTH = controls.FIXED_WIDTH


def _value_field(state) -> int:
    if state == ("field_text", "rhythm"):
        return 3
    if isinstance(state, tuple) and state[0] == "key_value":
        return 2
    return int(isinstance(state, tuple) and state[:2] == ("meter_value", "header"))


VALUE_FIELD = tuple(_value_field(state) for state in grammar.build_tables().states)
QUOTE = ord('"')


@dataclasses.dataclass(frozen=True)
class Registers:
    """A tune's registers (the module docstring's table), or a batch's (each an array); the
    defaults are the values at the start of a tune."""

    state: object = grammar.START_ID
    header_fields: object = 0
    text_length: object = 0
    number: object = 0
    meter_numerator: object = 0
    bar_length: object = TICKS_PER_WHOLE  # 4/4 until M: says otherwise
    unit_length: object = TICKS_PER_WHOLE // 8
    default_unit_length: object = TICKS_PER_WHOLE // 8
    compound_meter: object = 0
    bar_position: object = 0
    in_first_bar: object = 1
    after_bar_line: object = 1
    section_start: object = 0
    section_first_bar: object = -1
    section_opened_by: object = SECTION_AT_TUNE_START
    variant_ending: object = 0
    second_ending_due: object = 0
    first_ending_position: object = 0
    variant_endings_seen: object = 0
    last_bar_line: object = 0
    full_bars: object = 0
    violations: object = 0
    replay_first_bar: object = 0
    replay_from_tune_start: object = 0
    short_bar_in_second_ending: object = 0
    double_bar_in_section: object = 0
    note_pending: object = 0
    length_numerator: object = 1
    length_denominator: object = 1
    denominator_before_slash: object = 1
    denominator_digits: object = 0
    length_node: object = grammar.LengthTrie.DUMMY
    note_factor_numerator: object = 1
    note_factor_denominator: object = 1
    chord_length_numerator: object = 1
    chord_length_denominator: object = 1
    tuplet_notes: object = 1
    tuplet_time: object = 1
    tuplet_notes_left: object = 0
    broken_factor_numerator: object = 1
    broken_factor_denominator: object = 1
    last_note_length: object = 0
    required_length: object = -1
    tied_note: object = -1
    form: object = 0
    parts_wanted: object = 2
    repeats: object = 1
    chord_symbols: object = 0
    fixed_key: object = 0
    fixed_meter: object = 0
    fixed_rhythm: object = 0
    no_broken_rhythm: object = 0
    meter_part_lengths: object = PART_8_BARS
    part_lengths: object = PART_8_BARS
    part_time: object = 0
    ending_part_time: object = 0
    parts_done: object = 0
    tonic: object = 0
    last_pitch: object = 0

    def replace(self, **changes) -> Registers:
        return dataclasses.replace(self, **changes)

    def values(self) -> dict:
        return {name: getattr(self, name) for name in REGISTERS}


REGISTERS = tuple(field.name for field in dataclasses.fields(Registers))
# Set before a tune starts (meter.settings_registers), never changed by `advance`.
SETTINGS = ("form", "parts_wanted", "repeats", "chord_symbols", "fixed_key", "fixed_meter",
            "fixed_rhythm", "no_broken_rhythm")
# What `advance` reads of the edge a character takes: the grammar's fields and the digit.
EDGE_INPUTS = grammar.FIELDS + ("digit",)


def note_duration(r: Registers, ops):
    """The pending note's duration in ticks, as (numerator, denominator). A chord takes its
    first note's length unless a length follows ']' (abc2midi)."""
    plain = (r.length_numerator == 1) & (r.length_denominator == 1)
    numerator = r.unit_length * ops.where(plain, r.chord_length_numerator,
                                          r.length_numerator) * r.note_factor_numerator
    denominator = ops.where(plain, r.chord_length_denominator,
                            r.length_denominator) * r.note_factor_denominator
    return numerator, denominator


def _give_up_where(condition, r: Registers, ops) -> Registers:
    """The row is given up where `condition` holds (a length the ticks cannot hold exactly)."""
    return r.replace(state=ops.where(condition, grammar.LOST_ID, r.state))


# -- advance: what a character does to the registers, phase by phase -------------------------

def advance(r: Registers, edge, token, ops) -> Registers:
    """The registers after reading one character: `edge` holds the table fields
    (`EDGE_INPUTS`) of the edge it takes from `r.state`, `token` is its id."""
    ended_length_id = ops.length_value_id(r.length_node)
    position = r.bar_position
    r = end_pending_note(r, edge, ended_length_id, ops)
    r = apply_broken_rhythm(r, edge, ended_length_id, ops)
    r = r.replace(part_time=ops.minimum(r.part_time + r.bar_position - position, TICKS_CAP))
    bar = _bar_line_view(r, edge, ops)
    r = count_bar_violations(r, bar, ops)
    r = close_part(r, bar, ops)
    r = close_bar(r, bar, ops)
    r = open_section(r, edge, ops)
    r = time_variant_ending(r, edge, ops)
    r = start_variant_ending(r, edge, ops)
    r = set_meter_and_unit_length(r, edge, ops)
    r = start_tuplet(r, edge, ops)
    r = read_number(r, edge, ops)
    r = start_note(r, edge, ops)
    r = read_length(r, edge, token, ops)
    r = track_tie_and_text(r, edge, token, ops)
    r = track_key_and_pitch(r, edge, ops)
    still_followed = (edge.followed > 0) & (r.state != grammar.LOST_ID)
    return r.replace(state=ops.where(still_followed, edge.next_state, grammar.LOST_ID))


def end_pending_note(r, edge, ended_length_id, ops):
    """1. The pending note ends: its duration joins the bar; a tuplet counts it."""
    numerator, denominator = note_duration(r, ops)
    finish = (edge.ends_note > 0) & (r.note_pending > 0)
    length = ops.minimum(numerator // denominator, TICKS_CAP)
    notes_left = r.tuplet_notes_left - ops.as_int(finish & (r.tuplet_notes_left > 0))
    # in a tuplet every note repeats the first one's written length
    required = ops.where(notes_left > 0, ops.where(r.required_length >= 0, r.required_length,
                                                   ended_length_id), -1)
    r = r.replace(
        bar_position=ops.minimum(r.bar_position + ops.where(finish, length, 0), TICKS_CAP),
        last_note_length=ops.where(finish, length, r.last_note_length),
        tuplet_notes_left=notes_left,
        required_length=ops.where(finish, required, r.required_length),
        note_pending=r.note_pending * ops.as_int(~finish),
        length_node=ops.where(finish, grammar.LengthTrie.DUMMY, r.length_node))
    return _give_up_where(finish & (numerator % denominator != 0), r, ops)


def apply_broken_rhythm(r, edge, ended_length_id, ops):
    """2. Broken rhythm: the previous note grows or shrinks, the next one gets the rest; after
    the first > or < the next note must repeat the previous one's written length."""
    code = edge.broken_rhythm
    change_num, change_den, next_num, next_den = ops.lookup_row(BROKEN_RHYTHM, code)
    change = r.last_note_length * change_num
    marked = code > 0
    r = r.replace(
        bar_position=ops.minimum(r.bar_position + change // change_den, TICKS_CAP),
        broken_factor_numerator=ops.where(marked, next_num, r.broken_factor_numerator),
        broken_factor_denominator=ops.where(marked, next_den, r.broken_factor_denominator),
        required_length=ops.where((code == 1) | (code == 4), ended_length_id,
                                  r.required_length))
    return _give_up_where(change % change_den != 0, r, ops)


# 3. A bar line resolves: abc2midi's bar check. A short bar before || |] |: :| :: is carried
# into the next one; the tune's first bar may be short; a repeat jumps back to the last |: or
# :: (or :|, or the tune's start), whose first bar then follows the closing bar (so a pickup
# and the closing bar of its part add up to one bar).

@dataclasses.dataclass(frozen=True)
class BarLineView:
    """What a bar line being read means, before any register changes."""

    kind: object  # abc_grammar.BAR_*, 0: not a bar line
    is_bar: object
    closes: object  # the bar ends here (else it carries on past this bar line)
    carried: object  # bar_position after the bar line
    # a bare :| after variant endings: abc2midi replays from the tune's last start
    replays_from_tune: object
    section_first_bar: object  # the section's first bar, as far as it has gone


def _bar_line_view(r, edge, ops) -> BarLineView:
    kind = edge.bar_line
    is_bar = kind > 0
    closes = is_bar & ((kind == grammar.BAR_SINGLE) | (r.bar_position >= r.bar_length)
                       | (r.in_first_bar > 0))
    # After variant endings abc2midi places no implicit repeat start: a later :| without |:
    # replays from the tune's last start (where the endings are skipped).
    replays_from_tune = ((kind == grammar.BAR_REPEAT_END) & (r.variant_ending == 0)
                         & (r.section_opened_by != SECTION_AT_REPEAT_START)
                         & (r.variant_endings_seen > 0))
    first_bar = ops.where(r.section_first_bar >= 0, r.section_first_bar,
                          r.bar_position - r.section_start)
    return BarLineView(kind, is_bar, closes, ops.where(closes, 0, r.bar_position),
                       replays_from_tune, first_bar)


def count_bar_violations(r, bar: BarLineView, ops):
    """3a. The bars abc2midi would report: a repeat whose closing bar and first bar do not
    make one bar, a full bar line after a bar of the wrong length (the first bar excepted)."""
    metered = r.bar_length > 0
    repeat = (bar.kind == grammar.BAR_REPEAT_END) | (bar.kind == grammar.BAR_DOUBLE_REPEAT)
    first_again = bar.carried + ops.where(bar.replays_from_tune, r.replay_first_bar,
                                          bar.section_first_bar)
    # (replayed from the tune's start, the first bar is exempt again)
    checked = repeat & ~(bar.replays_from_tune & (r.replay_from_tune_start > 0))
    found = ops.as_int(checked & metered & (first_again != r.bar_length) & (first_again != 0))
    found = found + ops.as_int(bar.replays_from_tune & (r.short_bar_in_second_ending > 0))
    found = found + ops.as_int((bar.kind == grammar.BAR_DOUBLE_REPEAT)  # abc2midi: ":: before
                               & (r.section_opened_by == SECTION_AT_REPEAT_END))  # |:"
    found = found + ops.as_int(bar.closes & metered & (r.bar_position != r.bar_length)
                               & (r.bar_position != 0) & (r.in_first_bar == 0))
    return r.replace(violations=r.violations + found)


def close_part(r, bar: BarLineView, ops):
    """3b. A part-ending bar line (:| but the one closing a first ending, || |] :: and |:
    after music) closes the part, if it holds a bar's music: its time restarts."""
    kind = bar.kind
    ends = (((kind == grammar.BAR_REPEAT_END) & (r.variant_ending != 1))
            | (kind == grammar.BAR_DOUBLE) | (kind == grammar.BAR_DOUBLE_REPEAT)
            | (kind == grammar.BAR_REPEAT_START)) & (r.part_time >= r.bar_length) \
        & (r.part_time > 0)
    return r.replace(parts_done=r.parts_done + ops.as_int(ends),
                     part_time=ops.where(ends, 0, r.part_time),
                     part_lengths=ops.where(ends, r.meter_part_lengths, r.part_lengths))


def close_bar(r, bar: BarLineView, ops):
    """3c. The bar closes (or carries on): the section's first bar and what a bare :| would
    replay are noted, the bar position restarts."""
    sets_first_bar = bar.closes & (r.section_first_bar < 0)
    first_bar = ops.where(sets_first_bar, r.bar_position - r.section_start, r.section_first_bar)
    replayable = sets_first_bar & (r.section_opened_by != SECTION_AT_REPEAT_END)
    replay = ops.where(replayable, first_bar, r.replay_first_bar)
    replay_from_start = ops.where(replayable, ops.as_int(
        r.section_opened_by == SECTION_AT_TUNE_START), r.replay_from_tune_start)
    # a :| closing a part that a :| opened: a later bare :| replays this part
    converts = ((bar.kind == grammar.BAR_REPEAT_END)
                & (r.section_opened_by == SECTION_AT_REPEAT_END) & (r.variant_endings_seen == 0))
    ends_bar = bar.closes & (r.bar_position > 0)
    return r.replace(
        section_first_bar=first_bar,
        replay_first_bar=ops.where(converts, bar.section_first_bar, replay),
        replay_from_tune_start=ops.where(converts, 0, replay_from_start),
        short_bar_in_second_ending=r.short_bar_in_second_ending | ops.as_int(
            bar.is_bar & ~bar.closes & (r.variant_ending == 2)),
        full_bars=r.full_bars + ops.as_int(ends_bar),
        in_first_bar=ops.as_int((r.in_first_bar > 0) & ~ends_bar),
        bar_position=bar.carried)


def open_section(r, edge, ops):
    """3d. |: :| :: start a section (a part a repeat may replay); endings close."""
    kind = edge.bar_line
    is_bar = kind > 0
    repeat_end = kind == grammar.BAR_REPEAT_END
    section = is_bar & (kind != grammar.BAR_SINGLE) & (kind != grammar.BAR_DOUBLE)
    not_single = is_bar & (kind != grammar.BAR_SINGLE)
    return r.replace(
        double_bar_in_section=ops.where(section, 0, r.double_bar_in_section | ops.as_int(
            kind == grammar.BAR_DOUBLE)),
        section_start=ops.where(section, r.bar_position, r.section_start),
        section_first_bar=ops.where(section, -1, r.section_first_bar),
        section_opened_by=ops.where(section, ops.where(
            repeat_end, SECTION_AT_REPEAT_END, SECTION_AT_REPEAT_START), r.section_opened_by),
        second_ending_due=ops.where(repeat_end, ops.as_int(r.variant_ending == 1), ops.where(
            not_single, 0, r.second_ending_due)),
        variant_ending=ops.where(not_single & ~(repeat_end & (r.variant_ending == 1)), 0,
                                 r.variant_ending),
        after_bar_line=ops.where(is_bar, 1, r.after_bar_line),
        last_bar_line=ops.where(is_bar, kind, r.last_bar_line))


def _ending_window(r, time, ops):
    """The part lengths a first ending starting at `time` may close at (it lasts one or two
    bars: the corpus's endings are 1 bar (67 %), 4 (20 %) or 2 (12 %)): a part_lengths bit,
    0 if none."""
    bar = r.bar_length
    eight = ((r.part_lengths & PART_8_BARS) > 0) & (time >= 6 * bar) & (time < 8 * bar)
    sixteen = ((r.part_lengths & PART_16_BARS) > 0) & (time >= 14 * bar) & (time < 16 * bar)
    return ops.where(eight, PART_8_BARS, ops.where(sixteen, PART_16_BARS, 0))


def time_variant_ending(r, edge, ops):
    """4a. A first ending keeps its part's time and the length it closes at; a second one
    restarts the part's time there."""
    starts = edge.variant_ending > 0
    first = starts & (edge.digit == 1)
    window = _ending_window(r, r.part_time, ops)
    return r.replace(
        ending_part_time=ops.where(first, r.part_time, r.ending_part_time),
        part_lengths=ops.where(first & (window > 0), window, r.part_lengths),
        part_time=ops.where(starts & ~first, r.ending_part_time, r.part_time))


def start_variant_ending(r, edge, ops):
    """4b. A variant ending starts ([1 |1 :|2 [2 ...): the second one restarts the bar where
    the first one began."""
    starts = edge.variant_ending > 0
    first = edge.digit == 1
    return r.replace(
        violations=r.violations + ops.as_int(  # abc2midi rejects it
            starts & (r.section_opened_by == SECTION_AT_REPEAT_END)
            & (r.variant_endings_seen == 0)),
        first_ending_position=ops.where(starts & first, r.bar_position,
                                        r.first_ending_position),
        bar_position=ops.where(starts & ~first, r.first_ending_position, r.bar_position),
        variant_ending=ops.where(starts, ops.where(first, 1, 2), r.variant_ending),
        second_ending_due=ops.where(starts & ~first, 0, r.second_ending_due),
        variant_endings_seen=r.variant_endings_seen + ops.as_int(starts))


def set_meter_and_unit_length(r, edge, ops):
    """5a. A header flag, the meter or the unit note length is set (M: and L: values)."""
    setter = edge.setter
    S = grammar.SETTER
    meter_numerator = ops.where(setter == S["METER_NUMERATOR"], r.number, r.meter_numerator)
    fraction = setter == S["METER"]
    common = (setter == S["METER_C"]) | (setter == S["METER_C_BAR"])  # C = 4/4, C| = 2/2
    numerator = ops.where(fraction, meter_numerator, ops.where(common, 4, 0))
    denominator = ops.where(fraction, ops.minimum(r.number, NUMBER_CAP)
                            + ops.as_int(r.number == 0), 4)
    meter = fraction | common | (setter == S["METER_NONE"])
    default_unit = ops.where(meter, ops.where(rhythm_tables.sixteenth_unit(numerator, denominator),
                                              TICKS_PER_WHOLE // 16, TICKS_PER_WHOLE // 8),
                             r.default_unit_length)
    unit = setter == S["UNIT_LENGTH"]
    unit_denominator = ops.minimum(r.number, NUMBER_CAP) + ops.as_int(r.number == 0)
    header = (r.header_fields | ops.where(setter == S["TITLE"], HEADER_TITLE, 0)
              | ops.where(meter, HEADER_METER, 0)
              | ops.where(unit, HEADER_UNIT_LENGTH | HEADER_UNIT_LENGTH_WRITTEN, 0)
              | ops.where(setter == S["RHYTHM"], HEADER_RHYTHM, 0))
    # simple triple meters (3/4, 3/8) allow 16-bar parts too (PART_8_BARS' note)
    triple = fraction & (meter_numerator == 3) & ((r.number == 4) | (r.number == 8))
    part_lengths = ops.where(triple, PART_8_BARS | PART_16_BARS, PART_8_BARS)
    unit_length = ops.where(unit, TICKS_PER_WHOLE // unit_denominator, r.unit_length)
    r = r.replace(
        header_fields=header, meter_numerator=meter_numerator,
        meter_part_lengths=ops.where(meter, part_lengths, r.meter_part_lengths),
        part_lengths=ops.where(meter, part_lengths, r.part_lengths),
        bar_length=ops.where(meter, TICKS_PER_WHOLE * numerator // denominator, r.bar_length),
        compound_meter=ops.where(meter, ops.as_int(rhythm_tables.compound(numerator)),
                                 r.compound_meter),
        default_unit_length=ops.where(setter == S["METER_NONE"], TICKS_PER_WHOLE // 8,
                                      default_unit),
        # no L: in the header: the meter's default
        unit_length=ops.where((setter == S["HEADER_END"])
                              & ((header & HEADER_UNIT_LENGTH_WRITTEN) == 0),
                              r.default_unit_length, unit_length))
    inexact = ((fraction & ((TICKS_PER_WHOLE * numerator) % denominator != 0))
               | (unit & (TICKS_PER_WHOLE % unit_denominator != 0)))
    return _give_up_where(inexact, r, ops)


def start_tuplet(r, edge, ops):
    """5b. A tuplet's counts are read ((p:q:r, q and r optional); it starts."""
    setter = edge.setter
    S = grammar.SETTER
    p = ops.where((setter == S["TUPLET_P"]) | (setter == S["TUPLET_START_AFTER_P"]), r.number,
                  r.tuplet_notes)
    q = ops.where(setter == S["TUPLET_Q"], r.number, r.tuplet_time)
    q = ops.where(setter == S["TUPLET_START_AFTER_P"], 0,
                  ops.where(setter == S["TUPLET_START_AFTER_Q"], r.number, q))
    starts = ((setter == S["TUPLET_START_AFTER_P"]) | (setter == S["TUPLET_START_AFTER_Q"])
              | (setter == S["TUPLET_START_AFTER_R"]))
    p = ops.where(starts, ops.minimum(ops.minimum(p, 99) + ops.as_int(p <= 0), 99), p)
    default_q = ops.lookup(TUPLET_DEFAULT_Q, p)
    default_q = ops.where(default_q == 0, 2 + r.compound_meter, default_q)
    q = ops.where(starts, ops.where(q <= 0, default_q, ops.minimum(q, 99)), q)
    r_count = ops.where(setter == S["TUPLET_START_AFTER_R"], ops.minimum(r.number, 99), 0)
    return r.replace(
        tuplet_notes=p, tuplet_time=q,
        tuplet_notes_left=ops.where(starts, ops.where(r_count > 0, r_count, p),
                                    r.tuplet_notes_left),
        required_length=ops.where(starts, -1, r.required_length))


def read_number(r, edge, ops):
    """6. A digit of a field value or tuplet count."""
    action, digit = edge.number, edge.digit
    number = ops.where(action == grammar.NUMBER_FIRST_DIGIT, digit, r.number)
    number = ops.where(action == grammar.NUMBER_MORE_DIGITS,
                       ops.minimum(number * 10 + digit, NUMBER_CAP), number)
    return r.replace(number=ops.where(action == grammar.NUMBER_CLEAR, 0, number))


def start_note(r, edge, ops):
    """7. A note, rest or chord starts (taking the tuplet's and broken rhythm's factors), or
    a chord closes (its length so far was its first note's)."""
    action = edge.note_start
    starts = (action == grammar.NOTE_STARTS) | (action == grammar.CHORD_STARTS)
    closes = action == grammar.CHORD_CLOSES
    in_tuplet = r.tuplet_notes_left > 0
    return r.replace(
        chord_length_numerator=ops.where(starts, 1, ops.where(
            closes, r.length_numerator, r.chord_length_numerator)),
        chord_length_denominator=ops.where(starts, 1, ops.where(
            closes, r.length_denominator, r.chord_length_denominator)),
        length_numerator=ops.where(starts | closes, 1, r.length_numerator),
        length_denominator=ops.where(starts | closes, 1, r.length_denominator),
        length_node=ops.where((action == grammar.NOTE_STARTS) | closes, grammar.LengthTrie.ROOT,
                              ops.where(action == grammar.CHORD_STARTS,
                                        grammar.LengthTrie.DUMMY, r.length_node)),
        note_factor_numerator=ops.where(starts, ops.where(in_tuplet, r.tuplet_time, 1)
                                        * r.broken_factor_numerator, r.note_factor_numerator),
        note_factor_denominator=ops.where(starts, ops.where(in_tuplet, r.tuplet_notes, 1)
                                          * r.broken_factor_denominator,
                                          r.note_factor_denominator),
        broken_factor_numerator=ops.where(starts, 1, r.broken_factor_numerator),
        broken_factor_denominator=ops.where(starts, 1, r.broken_factor_denominator),
        note_pending=ops.where(starts, 1, r.note_pending),
        after_bar_line=ops.where(starts, 0, r.after_bar_line))


def read_length(r, edge, token, ops):
    """8. A digit or slash of a note's length: 3, 3/2, /, //, /4 ..."""
    mark, digit = edge.length_mark, edge.digit
    numerator = ops.where(mark == grammar.LENGTH_NUMERATOR_FIRST, digit, r.length_numerator)
    numerator = ops.where(mark == grammar.LENGTH_NUMERATOR_MORE,
                          ops.minimum(numerator * 10 + digit, NUMBER_CAP), numerator)
    slash = mark == grammar.LENGTH_SLASH
    before_slash = ops.where(slash, r.length_denominator, r.denominator_before_slash)
    denominator = ops.where(slash, ops.minimum(r.length_denominator * 2, NUMBER_CAP),
                            r.length_denominator)
    digits = ops.where(slash, 0, r.denominator_digits)
    digits = ops.where(mark == grammar.LENGTH_DENOMINATOR_FIRST, digit, digits)
    digits = ops.where(mark == grammar.LENGTH_DENOMINATOR_MORE,
                       ops.minimum(digits * 10 + digit, NUMBER_CAP), digits)
    denominator = ops.where((mark == grammar.LENGTH_DENOMINATOR_FIRST)
                            | (mark == grammar.LENGTH_DENOMINATOR_MORE),
                            ops.minimum(before_slash * digits, NUMBER_CAP), denominator)
    return r.replace(
        length_numerator=numerator, length_denominator=denominator,
        denominator_before_slash=before_slash, denominator_digits=digits,
        length_node=ops.where(mark > 0, ops.next_length_node(r.length_node, token),
                              r.length_node))


def track_key_and_pitch(r, edge, ops):
    """10. K:'s tonic; the letter of the note that starts (OTHER_PITCH: an accidental, a
    rest, a chord)."""
    key = edge.setter == grammar.SETTER["KEY_TONIC"]
    return r.replace(tonic=ops.where(key, edge.pitch, r.tonic),
                     last_pitch=ops.where(~key & (edge.pitch > 0), edge.pitch, r.last_pitch))


def track_tie_and_text(r, edge, token, ops):
    """9. The note a tie may join; the length of free text (titles, annotations, chords)."""
    tied = ops.where(edge.tie == grammar.TIE_THIS_NOTE, token, r.tied_note)
    action = edge.text_length
    return r.replace(
        tied_note=ops.where(edge.tie == grammar.TIE_NONE, -1, tied),
        text_length=ops.where(action == grammar.TEXT_RESET, 0, ops.where(
            action == grammar.TEXT_COUNT, r.text_length + 1, r.text_length)))


# -- what may be written next -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RowView:
    """What the conditions share: the pending note (if any) as if it ended now, and where
    repeats and endings may go."""

    length: object  # the pending note's duration, 0 if none is pending
    position: object  # bar_position after it
    no_meter: object
    bar_full: object  # position == bar_length
    quarter_unit: object  # lengths are counted in quarters of the unit note length
    length_id: object  # its written length's value id (-1: not a complete strict one)
    notes_left: object  # tuplet_notes_left after it
    implicit_repeat: object  # a :| may close a part that no |: opened
    first_ending: object  # a first ending may start (at a bar's start)


def _row_view(r: Registers, ops) -> RowView:
    numerator, denominator = note_duration(r, ops)
    pending = r.note_pending > 0
    length = ops.where(pending, ops.minimum(numerator // denominator, TICKS_CAP), 0)
    position = r.bar_position + length
    notes_left = r.tuplet_notes_left - ops.as_int(pending & (r.tuplet_notes_left > 0))
    # Implicit repeats (no |:) only as the corpus writes them and abc2midi takes them: before
    # any variant ending and with no || or |] inside the repeated part.
    implicit_repeat = (((r.variant_endings_seen == 0)
                        | ((r.variant_ending == 1) & (r.variant_endings_seen == 1)))
                       & (r.double_bar_in_section == 0))
    first_ending = ((r.variant_ending == 0) & (r.second_ending_due == 0)
                    & (r.in_first_bar == 0) & (r.section_first_bar >= 0)
                    & ((r.section_opened_by == SECTION_AT_REPEAT_START)
                       | ((r.section_opened_by == SECTION_AT_TUNE_START) & implicit_repeat)))
    return RowView(length, position, r.bar_length <= 0, position == r.bar_length,
                   r.unit_length // 4, ops.length_value_id(r.length_node), notes_left,
                   implicit_repeat, first_ending)


@dataclasses.dataclass(frozen=True)
class FormView:
    """Where the current part may or must end, and how far its music may go (in the bar's
    ticks: the bar's end, or the part's where that comes first). Without the form rules
    (`form` 0, or no meter) nothing here restricts anything."""

    on: object
    time: object  # the part's music when the pending note ends
    part_end: object  # a part-ending bar line may close the part here
    at_length: object  # the part's music makes a length it may have (tonic or not)
    must_end: object  # the part has its longest length: only a part-ending bar line
    final: object  # the tune's last part
    complete: object  # every part written: the tune must end
    limit: object  # how far a note may reach that may end the tune (on the tonic)
    limit_other: object  # ... any other note: it leaves room for the tonic after it
    next_limit: object  # the same after a bar line now, in the next bar's ticks
    next_limit_other: object
    window: object  # a first ending may start here


def _form_view(r: Registers, view: RowView, ops) -> FormView:
    bar = r.bar_length
    on = (r.form > 0) & (bar > 0)
    time = r.part_time + view.length
    lengths = r.part_lengths
    longest = ops.where((lengths & PART_16_BARS) > 0, 16 * bar, 8 * bar)
    at_length = (((time == 8 * bar) & ((lengths & PART_8_BARS) > 0))
                 | ((time == 16 * bar) & ((lengths & PART_16_BARS) > 0)))
    final = r.parts_done + 1 >= r.parts_wanted
    on_tonic = (r.tonic == 0) | (r.last_pitch == r.tonic)
    # The tune's last note must be the tonic: near the last part's end (not in a first
    # ending), any other note leaves room for a unit note's worth of tonic after it.
    reserve = ops.where(on & final & (r.tonic > 0) & (r.variant_ending != 1),
                        TONIC_RESERVE * view.quarter_unit, 0)
    end_position = r.bar_position + longest - r.part_time
    limit = ops.where(on & (end_position < bar), end_position, bar)
    left = longest - time
    next_limit = ops.where(on & (left < bar), left, bar)
    return FormView(
        on=on, time=time, part_end=~on | (at_length & (~final | on_tonic)),
        at_length=~on | at_length, must_end=on & (time >= longest), final=on & final,
        complete=on & (r.parts_done >= r.parts_wanted),
        limit=limit, limit_other=limit - ops.where(end_position <= bar, reserve, 0),
        next_limit=next_limit, next_limit_other=next_limit - ops.where(left <= bar, reserve, 0),
        window=~on | (_ending_window(r, time, ops) > 0))


def conditions(r: Registers, ops) -> dict:
    """Per row: every kind's condition (`abc_grammar.KINDS`), and the values
    `character_allowed` reads (`ROW_VALUES`)."""
    view = _row_view(r, ops)
    form = _form_view(r, view, ops)
    values = {**note_conditions(r, view, form, ops), **bar_line_conditions(r, view, form, ops),
              **text_conditions(r, ops), **length_conditions(r, view, form, ops)}
    values["ALWAYS"] = values["TIE_SAME_NOTE"] = r.state >= 0  # (and the same letter: below)
    # every part written: the line ends, then the tune (what a line may start with, else)
    for kind in COMPLETE_ENDS:
        values[kind] = values[kind] & ~form.complete
    return values


# What may start a line (after the last part's bar line and its newline): no more of it.
COMPLETE_ENDS = ("NOTE", "OPEN_BRACKET", "TRIPLET", "BAR_LINE", "COLON", "BODY_KEY",
                 "BODY_METER_OR_UNIT")


def _room(r, view: RowView, limit, next_length, ops):
    """Whether a note of `next_length` (quarter units; it takes the tuplet's and broken
    rhythm's factors) fits between the pending note's end and `limit`."""
    in_tuplet = view.notes_left > 0
    factor_num = ops.where(in_tuplet, r.tuplet_time, 1) * r.broken_factor_numerator
    factor_den = ops.where(in_tuplet, r.tuplet_notes, 1) * r.broken_factor_denominator
    return view.no_meter | (view.position * factor_den + view.quarter_unit * next_length
                            * factor_num <= limit * factor_den)


def note_conditions(r, view: RowView, form: FormView, ops) -> dict:
    """Notes, rests, chords, spaces, broken rhythm, tuplets and ties: the next note must fit
    in the bar and the part (at its shortest, or at the length it must repeat); a note other
    than the tonic leaves room for the tonic at the tune's end (`other_fits`)."""
    required = r.required_length
    required_next = ops.where(r.note_pending > 0, ops.where(view.notes_left > 0, ops.where(
        required >= 0, required, view.length_id), -1), required)
    next_length = ops.where(required_next >= 0, ops.length_value(
        ops.where(required_next >= 0, required_next, 0)), grammar.MIN_LENGTH)
    # a tuplet never ends the tune: its notes leave room for the tonic
    tonic_limit = ops.where(view.notes_left > 0, form.limit_other, form.limit)
    second_due = r.second_ending_due > 0
    fits = _room(r, view, tonic_limit, next_length, ops) & ~second_due
    fits_other = _room(r, view, form.limit_other, next_length, ops) & ~second_due
    shortest_pair = 2 * grammar.MIN_LENGTH * view.quarter_unit  # (3 of the shortest take two
    tied_tonic = r.last_pitch == r.tonic
    return {
        "NOTE": fits,
        "other_fits": ~form.on | fits_other,
        "SPACE": view.notes_left == 0,
        "BROKEN_RHYTHM": ((r.note_pending > 0) & (required < 0) & (r.tuplet_notes_left == 0)
                          & (view.length_id >= 0) & (r.no_broken_rhythm == 0)
                          & (view.no_meter | (view.position + view.length <= form.limit))),
        "TRIPLET": (~second_due & (view.notes_left == 0) & (r.broken_factor_numerator == 1)
                    & (view.no_meter | (view.position + shortest_pair <= form.limit_other))),
        "OPEN_BRACKET": (fits_other | (view.first_ending & (view.position == 0) & form.window)
                         | second_due),
        "TIE": ops.where(tied_tonic, fits, fits_other) & (r.tied_note > 0),
    }


def bar_line_conditions(r, view: RowView, form: FormView, ops) -> dict:
    """Bar lines where the bar is full (the first bar: where it is a pickup; before || |] :|
    ::: where it completes the part's pickup), repeats and endings as abc2midi reads them;
    with the form, part-ending ones where a part may end (`form_conditions`)."""
    values = meter_bar_lines(r, view, ops)
    return {**values, **form_bar_lines(r, view, form, values, ops)}


def meter_bar_lines(r, view: RowView, ops) -> dict:
    """The bar lines the meter allows (`bar_line_conditions`)."""
    position, bar_length, first_bar = view.position, r.bar_length, r.section_first_bar
    after_bar, in_first_bar = r.after_bar_line > 0, r.in_first_bar > 0
    second_due, ending = r.second_ending_due > 0, r.variant_ending
    # A short bar may end a part only where it completes the part's pickup (abc2midi carries
    # it into the next bar; any other short bar would make the next part's pickup odd).
    completes_pickup = (~in_first_bar & (position > 0) & (position < bar_length)
                        & (first_bar >= 0) & (position + first_bar == bar_length))
    nonempty = (position != r.section_start) | (first_bar >= 0)
    bar_ends = view.no_meter | view.bar_full
    single = ~after_bar & (bar_ends | (in_first_bar & (position > 0)
                                       & (position <= bar_length)))
    double = ~after_bar & (ending != 1) & nonempty & (bar_ends | completes_pickup)
    # abc2midi: no |: while a repeat is open (|: or :: since the last :|)
    repeat_start = ((ending != 1) & ~second_due
                    & (r.section_opened_by != SECTION_AT_REPEAT_START)
                    & ((~after_bar & (bar_ends | completes_pickup))
                       | (after_bar & in_first_bar & (position == 0))))
    closing = ops.where(position < bar_length, position, 0)
    repeat_end = (~after_bar & (ending != 2) & ~in_first_bar & (first_bar >= 0)
                  & ((r.section_opened_by == SECTION_AT_REPEAT_START) | view.implicit_repeat)
                  & (view.no_meter | ((position <= bar_length)
                                      & (closing + first_bar == bar_length))))
    no_tuplet = view.notes_left == 0
    return {
        # '|' and ':' only where a bar line the strict grammar writes can follow (|: and ::
        # are followed, never written)
        "BAR_LINE": no_tuplet & (single | ((ending != 1) & double)),
        "COLON": no_tuplet & repeat_end,
        "SINGLE_BAR": single,
        "SINGLE_BAR_TRIPLET": single & (view.no_meter | (
            2 * grammar.MIN_LENGTH * view.quarter_unit <= bar_length)),
        "SINGLE_BAR_FIRST_ENDING": single & view.first_ending,
        "DOUBLE_BAR": double,
        "REPEAT_START": repeat_start,
        "REPEAT_END": repeat_end,
        "REPEAT_END_NOTE": repeat_end & (ending != 1),
        "REPEAT_END_SECOND_ENDING": repeat_end & (ending == 1),
        # abc2midi: ":: before |:"
        "DOUBLE_REPEAT": repeat_end & (ending == 0)
        & (r.section_opened_by != SECTION_AT_REPEAT_END),
        "FIRST_ENDING": view.first_ending & (r.bar_position == 0),
        "SECOND_ENDING": second_due,
        # a tune ends right after a bar line: | (a full bar), or || |] :| (a full bar or the
        # short one that completes its part's pickup, as those bar lines require)
        "TUNE_END": (~second_due & (ending != 1) & ~in_first_bar & (r.full_bars >= 2)
                     & (r.section_opened_by != SECTION_AT_REPEAT_START) & after_bar
                     & ((r.last_bar_line == grammar.BAR_SINGLE)
                        | (r.last_bar_line == grammar.BAR_DOUBLE)
                        | (r.last_bar_line == grammar.BAR_REPEAT_END))),
    }


def form_bar_lines(r, view: RowView, form: FormView, meter: dict, ops) -> dict:
    """The form's bar lines, from the meter's (`meter_bar_lines`): a part-ending one (|| |]
    :| :: |:) only where the part may end (on the tonic in the last part: `FormView`), and no
    | where it must; |: opens the tune or a part, :: closes one and opens the next (both
    written then, not only followed);
    after the last part's bar line only the tune's end (`complete`); first endings of one or
    two bars where the part ends (`_ending_window`)."""
    on, ending, last = form.on, r.variant_ending, form.final
    # every part repeats: it closes with :|, or :: (opening the next part's repeat), or its
    # second ending, which |: closes (a bare :| after endings would replay from the tune's
    # start), or || |] where the tune ends
    repeats = on & (r.repeats > 0)
    single = meter["SINGLE_BAR"] & ~form.must_end
    # A second ending closes where its first did: at the part's length, the short bar that
    # completes the tune's pickup included (abc2midi carries it into the next part).
    second_closes = on & (ending == 2) & (r.after_bar_line == 0) & (view.position > 0)
    double = (meter["DOUBLE_BAR"] | second_closes) & form.part_end & (
        ~on | (r.section_opened_by != SECTION_AT_REPEAT_START)) & (  # a |: is closed by :|
        ~repeats | ((ending == 2) & last))
    starts_tune = (r.after_bar_line > 0) & (r.in_first_bar > 0) & (view.position == 0)
    repeat_start = (meter["REPEAT_START"] | second_closes) & (
        starts_tune | (form.part_end & ~last & (~repeats | (ending == 2))))
    repeat_end = meter["REPEAT_END"] & ops.where(ending == 1, form.at_length, form.part_end & (
        ~repeats | last | (r.variant_endings_seen == 0)))
    double_repeat = on & meter["DOUBLE_REPEAT"] & form.part_end & ~last
    no_tuplet = view.notes_left == 0
    shortest = grammar.MIN_LENGTH * view.quarter_unit
    return {
        "BAR_LINE": no_tuplet & (single | ((ending != 1) & double) | (on & repeat_start)),
        "COLON": no_tuplet & (repeat_end | double_repeat),
        "SINGLE_BAR": single,
        "SINGLE_BAR_TRIPLET": single & (view.no_meter | (2 * shortest <= form.next_limit_other)),
        "SINGLE_BAR_FIRST_ENDING": single & view.first_ending & form.window,
        "DOUBLE_BAR": double,
        "DOUBLE_BAR_MUSIC": double & ~last,
        "REPEAT_START": repeat_start,
        "OPEN_REPEAT": on & repeat_start,
        "REPEAT_END": repeat_end,
        "REPEAT_END_NOTE": repeat_end & (ending != 1) & ~last,
        "REPEAT_END_MUSIC": repeat_end & ~(last & (ending != 1)),
        "REPEAT_END_SECOND_ENDING": repeat_end & (ending == 1),
        "DOUBLE_REPEAT": ops.where(on, double_repeat, meter["DOUBLE_REPEAT"]),
        "OPEN_DOUBLE_REPEAT": double_repeat,
        "FIRST_ENDING": meter["FIRST_ENDING"] & form.window,
        "TUNE_END": meter["TUNE_END"] & (~on | form.complete),
        # a note right after a | (its kind is the bar line's): room for the tonic after it
        "next_other_fits": ~on | (shortest <= form.next_limit_other),
    }


def text_conditions(r, ops) -> dict:
    """Header fields in order (K: last; R: once, and with the form only when fixed), fixed
    values character by character (`forced_code`), body fields between bars, lengths of free
    text, annotations or chord symbols in quotes."""
    second_due = r.second_ending_due > 0
    header = r.header_fields
    form = r.form > 0
    rhythm_written = (header & HEADER_RHYTHM) > 0
    field = ops.lookup(VALUE_FIELD, r.state)
    fixed = ops.where(field == 1, r.fixed_meter, ops.where(field == 2, r.fixed_key, ops.where(
        field == 3, r.fixed_rhythm, 0)))
    position = ops.minimum(r.text_length, FIXED_WIDTH - 1)
    return {
        "BODY_METER_OR_UNIT": ((r.bar_position == 0) & (r.variant_ending == 0) & ~second_due
                               & (r.note_pending == 0)),
        "BODY_KEY": ~second_due & (r.fixed_key == 0),
        "HEADER_KEY": (((header & HEADER_BEFORE_KEY) == HEADER_BEFORE_KEY)
                       & ((r.fixed_rhythm == 0) | rhythm_written)),
        "HEADER_METER": (header & HEADER_METER) == 0,
        "HEADER_UNIT_LENGTH": (header & HEADER_UNIT_LENGTH) == 0,
        "HEADER_RHYTHM": ((~form & (r.fixed_rhythm == 0))
                          | (~rhythm_written & (~form | (r.fixed_rhythm > 0)))),
        "HEADER_TEXT": r.text_length < grammar.HEADER_TEXT_CAP,
        "QUOTE_TEXT": r.text_length < grammar.QUOTE_CAP,
        "DECORATION_TEXT": r.text_length < grammar.DECORATION_CAP,
        "CHORD_NOTE": r.text_length < grammar.CHORD_NOTES_CAP,
        "CHORD_CLOSE": r.text_length >= 2,
        "ANNOTATION": ~form,
        "CHORD_SYMBOL": form & (r.chord_symbols > 0),
        "quotes_allowed": ~form | (r.chord_symbols > 0),
        "forced_code": ops.where(fixed > 0, ops.lookup(FIXED_CODES, fixed * FIXED_WIDTH
                                                       + position), -1),
    }


def length_conditions(r, view: RowView, form: FormView, ops) -> dict:
    """What `character_allowed` needs to check a character against the pending note: may the
    note end here, and may its written length go on with this character."""
    required = r.required_length
    tuplet_factor = ops.where((r.tuplet_notes_left > 0) & (required < 0),
                              r.tuplet_notes_left, 1)
    # how far the pending note may reach: a tonic outside a tuplet may end the tune
    other = (r.note_pending > 0) & ((r.last_pitch != r.tonic) | (r.tuplet_notes_left > 0))
    limit = ops.where(other, form.limit_other, form.limit)
    # a note ends only on a complete strict length ("3/" is not one), that fits, and that
    # equals the length it must repeat (after > or in a triplet)
    complete = (view.length_id >= 0) | (r.length_node == grammar.LengthTrie.DUMMY)
    may_end = (r.note_pending == 0) | (complete & (view.no_meter | (
        (r.bar_position + view.length * tuplet_factor <= limit)
        & ((required < 0) | (view.length_id == required)))))
    return {
        "note_may_end": may_end,
        "no_meter": view.no_meter,
        # the shortest length still reachable fits: position + shortest * step <= limit, all
        # scaled by the note's factor's denominator
        "position_scaled": r.bar_position * r.note_factor_denominator,
        "length_step": view.quarter_unit * r.note_factor_numerator * tuplet_factor,
        "bar_scaled": limit * r.note_factor_denominator,
        "any_length": required < 0,
        "required_length_bit": ops.where(required >= 0, required, 0),
        "tied_note": r.tied_note,
        "tonic": r.tonic,
    }


ROW_VALUES = ("note_may_end", "no_meter", "position_scaled", "length_step", "bar_scaled",
              "any_length", "required_length_bit", "tied_note", "tonic", "other_fits",
              "next_other_fits", "forced_code", "quotes_allowed")
# What `character_allowed` reads of each character.
CHARACTER_INPUTS = ("id", "code", "strict", "kind", "kind_allowed", "ends_note", "pitch",
                    "shortest_length", "reachable_lengths")


def character_allowed(row: dict, char, ops):
    """Whether a character may be written next: `row` holds `conditions`' values for the
    tune, `char` the character's entry in the row's state (`CHARACTER_INPUTS`: its id and
    ASCII code (128: any other); strict, kind, ends_note and pitch from the grammar's edge;
    whether its kind's condition holds; the shortest length and the lengths (bits by value
    id) the note can still reach with it)."""
    grammar_allows = (char.strict & char.kind_allowed & (~char.ends_note | row["note_may_end"])
                      & ((char.kind != grammar.KIND["TIE_SAME_NOTE"])
                         | (char.id == row["tied_note"])))
    fits = row["no_meter"] | (row["position_scaled"] + char.shortest_length * row["length_step"]
                              <= row["bar_scaled"])
    reaches = row["any_length"] | (
        (ops.right_shift(char.reachable_lengths, row["required_length_bit"]) & 1) == 1)
    # a note other than the tonic (in the note's kind: checked here; right after a |: in
    # the next bar) leaves room for the tonic where the tune ends
    other = (char.pitch > 0) & (char.pitch != row["tonic"])
    here = (char.kind == grammar.KIND["NOTE"]) | (char.kind == grammar.KIND["TIE_SAME_NOTE"])
    after_bar = char.kind == grammar.KIND["SINGLE_BAR"]
    pitch_fits = ~other | (here & row["other_fits"]) | (after_bar & row["next_other_fits"]) \
        | (~here & ~after_bar)
    forced = (row["forced_code"] < 0) | (char.code == row["forced_code"])
    quote = (char.code != QUOTE) | row["quotes_allowed"]
    # (and a strict length stays reachable)
    return (grammar_allows & fits & reaches & (char.shortest_length < grammar.FORCED_BIG)
            & pitch_fits & forced & quote)
