"""Meter-aware sampling: a batched ABC rhythm tracker that masks characters which would break
the bar, as graph ops that run inside the sampling `tf.while_loop`.

Each row (tune) carries a grammar state (`abc_grammar`) and integer registers: the meter's bar
length and the unit note length in ticks, the position in the current bar, the pending note's
length, tuplet and broken-rhythm factors, repeat and variant-ending bookkeeping. Every step is
a few table lookups and element-wise integer operations on [batch] registers and one
[batch, vocab] mask, so constrained batched generation is still one graph and still
reproducible row by row.

* `allowed(state)` -> [batch, vocab] bool: what sampling may write next. A row the tracker
  could not follow (LOST: a construct outside the grammar, e.g. in a seed) allows everything;
  so does a row whose strict mask came out empty (it never does in tests, but a row must never
  stall).
* `advance(state, token_ids)` -> the state after the characters.

The same code runs on NumPy arrays (`NUMPY`, for tests and offline checks such as
`bar_report`) and on TensorFlow tensors (`TENSORFLOW`); `web/abc_meter.js` is its JavaScript
twin over the same tables (`abc_grammar.build_tables().to_json()`).
"""

from __future__ import annotations

import dataclasses
import fractions

import numpy as np
import tensorflow as tf

from tfcreative.music import abc_grammar as grammar
from tfcreative.music.vocabulary import CharVocabulary

TPW = grammar.TICKS_PER_WHOLE
CAP = 10_000  # numbers in the text are clamped here (no overflow, still exact for music)
TICKS_CAP = 1 << 40  # and bar positions here: every product stays below 2**53, so the
# JavaScript twin computes with exact doubles what this computes with int64

# Broken rhythm: the previous note's change (multiple of its written length) and the next
# note's factor, for > >> >>> < << <<<.
BRK_ADJ = ((0, 1), (1, 2), (1, 4), (1, 8), (-1, 2), (-1, 4), (-1, 8))
BRK_NEXT = ((1, 1), (1, 2), (1, 4), (1, 8), (3, 2), (7, 4), (15, 8))
# Tuplet (p: q) defaults; 0 = "2 in simple meters, 3 in compound ones".
TUPLET_Q = (1, 1, 3, 2, 3, 0, 2, 0, 3, 0) + (0,) * 90

H_T, H_M, H_L, H_USET = 1, 2, 4, 8  # header flags

REGISTERS = (
    "s", "hflags", "tlen", "acc", "acc2", "bar", "unit", "ldef", "compound",
    "pos", "barno0", "fresh", "sec_start", "sec_own", "sec_open", "var", "need2", "pos_var",
    "nplays", "last_bar", "nbars", "viol", "psave", "psave_start",
    "e2carry", "soft_since",
    "pend", "lnum", "lden", "lden_base", "dacc", "lnode", "fnum", "fden", "cin_num", "cin_den",
    "tp", "tq", "tr", "bnum", "bden", "last_w", "ftarget", "tie_tok",
)


def initial_registers(tables) -> dict:
    """Register values at the start of a tune (before `X:`)."""
    values = dict.fromkeys(REGISTERS, 0)
    values.update(
        s=tables.start, bar=TPW, unit=TPW // 8, ldef=TPW // 8, barno0=1, fresh=1, sec_own=-1,
        sec_open=1, lnum=1, lden=1, lden_base=1, lnode=grammar.LengthTrie.DUMMY, fnum=1,
        fden=1, cin_num=1, cin_den=1, bnum=1, bden=1, ftarget=-1, tp=1, tq=1, tie_tok=-1,
    )
    return values


class _NumpyOps:
    @staticmethod
    def where(cond, a, b):
        return np.where(cond, a, b)

    @staticmethod
    def gather(table, index):
        return table[index]

    @staticmethod
    def gather_rows(table, index):
        return table[index]

    @staticmethod
    def pick(matrix, columns):
        """matrix [B, K], columns [B, V] -> matrix[b, columns[b, v]]."""
        return np.take_along_axis(matrix, columns, axis=1)

    @staticmethod
    def stack(values):
        return np.stack(values, axis=1)

    @staticmethod
    def i64(x):
        return np.asarray(x).astype(np.int64)

    @staticmethod
    def minimum(a, b):
        return np.minimum(a, b)

    @staticmethod
    def rshift(a, b):
        return np.right_shift(a, b)

    @staticmethod
    def any_rows(mask):
        return mask.any(axis=1)

    @staticmethod
    def const(array):
        return np.asarray(array)


def _int64(x):
    return tf.constant(x, tf.int64) if isinstance(x, int) else x


class _TensorFlowOps:
    @staticmethod
    def where(cond, a, b):
        return tf.where(cond, _int64(a), _int64(b))

    @staticmethod
    def gather(table, index):
        return tf.gather(table, index)

    @staticmethod
    def gather_rows(table, index):
        return tf.gather(table, index)

    @staticmethod
    def pick(matrix, columns):
        return tf.gather(matrix, columns, batch_dims=1)

    @staticmethod
    def stack(values):
        return tf.stack(values, axis=1)

    @staticmethod
    def i64(x):
        return tf.cast(x, tf.int64)

    @staticmethod
    def minimum(a, b):
        return tf.minimum(a, b)

    @staticmethod
    def rshift(a, b):
        return tf.bitwise.right_shift(a, b)

    @staticmethod
    def any_rows(mask):
        return tf.reduce_any(mask, axis=1)

    @staticmethod
    def const(array):
        return tf.constant(array)


NUMPY = _NumpyOps()
TENSORFLOW = _TensorFlowOps()


@dataclasses.dataclass(frozen=True)
class VocabTables:
    """The grammar tables expanded to a vocabulary's ids (packed: a compiled step pays per
    lookup)."""

    edges: dict  # field -> [states * vocab]
    edge_matrix: object  # [states * vocab, fields + 1]: every field, and the digit's value
    row_bits: object  # [states, vocab]: strict | fin << 1 | tie_same << 2 | kind << 3
    trie_packed: object  # [nodes]: the shortest reachable length | reachable lengths << 21
    trie_next: object  # [nodes, vocab]
    trie_next_flat: object  # [nodes * vocab]
    trie_value_id: object  # [nodes]
    trie_values: object  # [lengths]
    ids: object  # [vocab] 0..vocab-1
    vocab_size: int
    start: int
    lost: int
    end: int


def vocab_tables(vocabulary: CharVocabulary, ops=NUMPY) -> VocabTables:
    """Looks every vocabulary character up in the grammar tables (id 0, the unknown character,
    is followed as a non-ASCII character)."""
    tables = grammar.build_tables()
    columns = [grammar.OTHER] + [ord(c) if ord(c) < 128 else grammar.OTHER
                                 for c in vocabulary.characters]
    classes = tables.class_of[np.array(columns)]
    edges = {f: ops.const(tables.edges[f][:, classes].ravel().astype(np.int64))
             for f in grammar.FIELDS}
    edge_matrix = np.stack([tables.edges[f][:, classes] for f in grammar.FIELDS]
                           + [np.broadcast_to(tables.digit[classes], (len(tables.states),
                                                                      len(columns)))], axis=2)
    kind = tables.edges["kind"][:, classes].astype(np.int64)
    row_bits = (tables.edges["strict"][:, classes] | tables.edges["fin"][:, classes] << 1
                | (kind == grammar.KIND["TIE_SAME"]) << 2 | kind << 3)
    assert tables.trie_min_g.max() < 1 << 21
    return VocabTables(
        edges=edges,
        edge_matrix=ops.const(edge_matrix.reshape(-1, len(grammar.FIELDS) + 1).astype(np.int64)),
        row_bits=ops.const(row_bits.astype(np.int64)),
        trie_packed=ops.const((tables.trie_min_g | tables.trie_reach << 21).astype(np.int64)),
        trie_next=ops.const(tables.trie_next[:, classes].astype(np.int64)),
        trie_next_flat=ops.const(tables.trie_next[:, classes].ravel().astype(np.int64)),
        trie_value_id=ops.const(tables.trie_value_id.astype(np.int64)),
        trie_values=ops.const(np.array(tables.trie_values, np.int64)),
        ids=ops.const(np.arange(len(columns), dtype=np.int64)),
        vocab_size=len(columns), start=tables.start, lost=tables.lost, end=tables.end,
    )


def _note_duration(r, ops):
    """The pending note's duration in ticks, as (numerator, denominator). A chord takes its
    first note's length unless a length follows ']' (abc2midi)."""
    plain = (r["lnum"] == 1) & (r["lden"] == 1)
    num = r["unit"] * ops.where(plain, r["cin_num"], r["lnum"]) * r["fnum"]
    den = ops.where(plain, r["cin_den"], r["lden"]) * r["fden"]
    return num, den


def allowed(t: VocabTables, r: dict, ops=NUMPY):
    """[batch, vocab] bool: the characters the strict grammar and the meter allow next."""
    _w = ops.where
    i = ops.i64
    num, den = _note_duration(r, ops)
    pend = r["pend"] > 0
    w_now = _w(pend, ops.minimum(num // den, TICKS_CAP), 0)
    pos, bar = r["pos"], r["bar"]
    pf = pos + w_now
    nomtr = bar <= 0
    full = pf == bar
    g = r["unit"] // 4  # lengths are counted in quarters of the unit note length
    tr, ftarget = r["tr"], r["ftarget"]
    vid = ops.gather(t.trie_value_id, r["lnode"])
    tr_after = tr - i(pend & (tr > 0))
    ft_next = _w(pend, _w(tr_after > 0, _w(ftarget >= 0, ftarget, vid), -1), ftarget)
    val_next = _w(ft_next >= 0, ops.gather(t.trie_values, _w(ft_next >= 0, ft_next, 0)),
                  grammar.MIN_LENGTH)
    in_tup = tr_after > 0
    fn = _w(in_tup, r["tq"], 1) * r["bnum"]
    fd = _w(in_tup, r["tp"], 1) * r["bden"]
    need2 = r["need2"] > 0
    barno0 = r["barno0"] > 0
    fresh = r["fresh"] > 0
    var = r["var"]
    room = nomtr | (pf * fd + g * val_next * fn <= bar * fd)
    note = room & ~need2
    tfit = _w((tr > 0) & (ftarget < 0), tr, 1)
    # a note ends only on a complete strict length ("3/" is not one), that fits, and that
    # equals the length it must repeat (after > or in a triplet)
    complete = (vid >= 0) | (r["lnode"] == grammar.LengthTrie.DUMMY)
    fin_ok = ~pend | (complete & (nomtr | (
        (pos + w_now * tfit <= bar) & ((ftarget < 0) | (vid == ftarget)))))
    space = tr_after == 0
    broken = pend & (ftarget < 0) & (tr == 0) & (vid >= 0) & (nomtr | (pf + w_now <= bar))
    # (3 of the shortest notes take two of them
    tup3 = ~need2 & (tr_after == 0) & (r["bnum"] == 1) & (
        nomtr | (pf + 2 * grammar.MIN_LENGTH * g <= bar))
    sec_open, nplays, sec_own = r["sec_open"], r["nplays"], r["sec_own"]
    # A short bar may end a part only where it completes the part's pickup (abc2midi carries
    # it into the next bar; any other short bar would make the next part's pickup odd).
    carry = ~barno0 & (pf > 0) & (pf < bar) & (sec_own >= 0) & (pf + sec_own == bar)
    nonempty = (pf != r["sec_start"]) | (sec_own >= 0)
    single_ok = ~fresh & (nomtr | full | (barno0 & (pf > 0) & (pf <= bar)))
    soft_ok = ~fresh & (var != 1) & nonempty & (nomtr | full | carry)
    # abc2midi: no |: while a repeat is open (|: or :: since the last :|)
    repstart_ok = (var != 1) & ~need2 & (sec_open != 2) & (
        (~fresh & (nomtr | full | carry)) | (fresh & barno0 & (pf == 0)))
    closing = _w(pf < bar, pf, 0)
    # Implicit repeats (no |:) only as the corpus writes them and abc2midi takes them: before
    # any variant ending and with no || or |] inside the repeated part.
    implicit_ok = ((nplays == 0) | ((var == 1) & (nplays == 1))) & (r["soft_since"] == 0)
    repend_ok = (~fresh & (var != 2) & ~barno0 & (sec_own >= 0)
                 & ((sec_open == 2) | implicit_ok)
                 & (nomtr | ((pf <= bar) & (closing + sec_own == bar))))
    dblrep_ok = repend_ok & (var == 0) & (sec_open != 3)  # abc2midi: ":: before |:"
    no_tup = tr_after == 0
    end1_ok = ((var == 0) & ~need2 & ~barno0 & (sec_own >= 0)
               & ((sec_open == 2) | ((sec_open == 1) & implicit_ok)))
    hflags = r["hflags"]
    last_bar = r["last_bar"]
    tlen = r["tlen"]
    kinds = {
        "ALWAYS": r["s"] >= 0,
        "NOTE": note,
        "SPACE": space,
        "BROKEN": broken,
        "TUP3": tup3,
        "LBRK": note | (end1_ok & (pf == 0)) | need2,
        # '|' and ':' only where a bar line the strict grammar writes can follow (|: and ::
        # are followed, never written)
        "BAR_START": no_tup & (single_ok | ((var != 1) & soft_ok)),
        "COLON": no_tup & repend_ok,
        "SINGLE": single_ok,
        "SINGLE_TUP3": single_ok & (nomtr | (2 * grammar.MIN_LENGTH * g <= bar)),
        "SINGLE_END1": single_ok & end1_ok,
        "SOFT": soft_ok,
        "REPSTART": repstart_ok,
        "REPEND": repend_ok,
        "REPEND_NOTE": repend_ok & (var != 1),
        "REPEND_END2": repend_ok & (var == 1),
        "DBLREP": dblrep_ok,
        "END1": end1_ok & (pos == 0),
        "END2": need2,
        # a tune ends right after a bar line: | (a full bar), or || |] :| (a full bar or the
        # short one that completes its part's pickup, as those bar lines require)
        "TUNE_END": (~need2 & (var != 1) & ~barno0 & (r["nbars"] >= 2) & (sec_open != 2)
                     & fresh & ((last_bar == 1) | (last_bar == 2) | (last_bar == 4))),
        "FIELD_ML": (pos == 0) & (var == 0) & ~need2 & ~pend,
        "FIELD_K": ~need2,
        "HDR_K": (hflags & (H_T | H_M | H_L)) == (H_T | H_M | H_L),
        "HDR_M": (hflags & H_M) == 0,
        "HDR_L": (hflags & H_L) == 0,
        "TEXT_HEADER": tlen < grammar.HEADER_TEXT_CAP,
        "TEXT_QUOTE": tlen < grammar.QUOTE_CAP,
        "TEXT_DECO": tlen < grammar.DECORATION_CAP,
        "CHORD_MORE": tlen < grammar.CHORD_NOTES_CAP,
        "CHORD_CLOSE": tlen >= 2,
        "TIE": note & (r["tie_tok"] > 0),
        "TIE_SAME": r["s"] >= 0,  # and the same letter: below
    }
    kind_ok = ops.stack([kinds[name] for name in grammar.KINDS])  # [B, K]
    # (few lookups: a compiled step pays per operation)
    bits = ops.gather_rows(t.row_bits, r["s"])  # [B, V]
    mask = ((bits & 1) == 1) & ops.pick(kind_ok, ops.rshift(bits, 3))
    mask = mask & (((bits & 2) == 0) | fin_ok[:, None])
    mask = mask & (((bits & 4) == 0) | (t.ids[None, :] == r["tie_tok"][:, None]))
    # Length digits: the shortest length the trie can still reach must fit.
    packed = ops.gather(t.trie_packed, ops.gather_rows(t.trie_next, r["lnode"]))  # [B, V]
    min_g = packed & ((1 << 21) - 1)
    fnum, fden = r["fnum"], r["fden"]
    fits = (pos * fden)[:, None] + min_g * (g * fnum * tfit)[:, None] <= (bar * fden)[:, None]
    reach = ops.rshift(packed, 21 + _w(ftarget >= 0, ftarget, 0)[:, None]) & 1
    length_ok = ((nomtr[:, None] | fits) & ((ftarget < 0)[:, None] | (reach == 1))
                 & (min_g < grammar.FORCED_BIG))  # and a strict length stays reachable
    return mask & length_ok


def advance(t: VocabTables, r: dict, token, ops=NUMPY) -> dict:
    """The registers after each row reads one character (`token`: [batch] ids)."""
    _w = ops.where
    i = ops.i64
    vocab = t.vocab_size
    flat = r["s"] * vocab + token
    edge = ops.gather(t.edge_matrix, flat)  # [B, fields + 1], one lookup
    e = {f: edge[:, i] for i, f in enumerate(grammar.FIELDS)}
    d = edge[:, -1]
    n = dict(r)
    lost = e["follow"] == 0

    # 1. the pending note ends
    num, den = _note_duration(r, ops)
    finish = (e["fin"] > 0) & (r["pend"] > 0)
    inexact = finish & (num % den != 0)
    w = ops.minimum(num // den, TICKS_CAP)
    vid = ops.gather(t.trie_value_id, r["lnode"])
    pos = ops.minimum(r["pos"] + _w(finish, w, 0), TICKS_CAP)
    last_w = _w(finish, w, r["last_w"])
    tr = r["tr"] - i(finish & (r["tr"] > 0))
    ftarget = _w(finish, _w(tr > 0, _w(r["ftarget"] >= 0, r["ftarget"], vid), -1), r["ftarget"])
    pend = r["pend"] * i(~finish)
    lnode = _w(finish, grammar.LengthTrie.DUMMY, r["lnode"])

    # 2. broken rhythm: the previous note grows or shrinks, the next one gets the rest
    brk = e["brk"]
    brk_table = ops.gather(ops.const(np.array([a + b for a, b in zip(BRK_ADJ, BRK_NEXT,
                                                                       strict=True)],
                                              np.int64)), brk)
    adj_num, adj_den = brk_table[:, 0], brk_table[:, 1]
    adj = last_w * adj_num
    inexact = inexact | (adj % adj_den != 0)
    pos = ops.minimum(pos + adj // adj_den, TICKS_CAP)
    has_brk = brk > 0
    bnum = _w(has_brk, brk_table[:, 2], r["bnum"])
    bden = _w(has_brk, brk_table[:, 3], r["bden"])
    ftarget = _w((brk == 1) | (brk == 4), vid, ftarget)

    # 3. a bar line resolves. abc2midi's bar check: a short bar before || |] |: :| :: is
    # carried into the next one; the tune's first bar may be short; a repeat jumps back to
    # the last |: or :: (or :|, or the tune's start), whose first bar then follows the
    # closing bar (so a pickup and the closing bar of its part add up to one bar).
    k = e["bar"]
    is_bar = k > 0
    bar = r["bar"]
    barno0 = r["barno0"] > 0
    metered = bar > 0
    hard = is_bar & ((k == 1) | (pos >= bar) | barno0)
    carried = _w(hard, 0, pos)
    sec_open, nplays = r["sec_open"], r["nplays"]
    rep = (k == grammar.BAR_REPEND) | (k == grammar.BAR_DBLREP)
    # After variant endings abc2midi places no implicit repeat start: a later :| without |:
    # replays from the tune's last start (where the endings are skipped).
    quirk = ((k == grammar.BAR_REPEND) & (r["var"] == 0) & (sec_open != 2) & (nplays > 0))
    sec_own_now = _w(r["sec_own"] >= 0, r["sec_own"], pos - r["sec_start"])
    first_again = carried + _w(quirk, r["psave"], sec_own_now)
    # (replayed from the tune's start, the first bar is exempt again)
    checked = rep & ~(quirk & (r["psave_start"] > 0))
    viol = r["viol"] + i(checked & metered & (first_again != bar) & (first_again != 0))
    viol = viol + i(quirk & (r["e2carry"] > 0))
    viol = viol + i((k == grammar.BAR_DBLREP) & (sec_open == 3))  # abc2midi: ":: before |:"
    viol = viol + i(hard & metered & (pos != bar) & (pos != 0) & ~barno0)
    sets_own = hard & (r["sec_own"] < 0)
    sec_own = _w(sets_own, pos - r["sec_start"], r["sec_own"])
    psave = _w(sets_own & (sec_open != 3), sec_own, r["psave"])
    psave_start = _w(sets_own & (sec_open != 3), i(sec_open == 1), r["psave_start"])
    converts = (k == grammar.BAR_REPEND) & (sec_open == 3) & (nplays == 0)
    psave = _w(converts, sec_own_now, psave)
    psave_start = _w(converts, 0, psave_start)
    e2carry = r["e2carry"] | i(is_bar & ~hard & (r["var"] == 2))
    nbars = r["nbars"] + i(hard & (pos > 0))
    barno0 = barno0 & ~(hard & (pos > 0))
    pos = carried
    section = is_bar & (k != 1) & (k != grammar.BAR_SOFT)
    soft_since = _w(section, 0, r["soft_since"] | i(k == grammar.BAR_SOFT))
    sec_start = _w(section, pos, r["sec_start"])
    sec_own = _w(section, -1, sec_own)
    sec_open = _w(section, _w(k == grammar.BAR_REPEND, 3, 2), sec_open)
    var = r["var"]
    need2 = _w(k == grammar.BAR_REPEND, i(var == 1), _w(is_bar & (k != 1), 0, r["need2"]))
    var = _w(is_bar & (k != 1) & ~((k == grammar.BAR_REPEND) & (var == 1)), 0, var)
    fresh = _w(is_bar, 1, r["fresh"])
    last_bar = _w(is_bar, k, r["last_bar"])

    # 4. a variant ending starts ([1 |1 :|2 [2 ...)
    is_end = e["end"] > 0
    first = d == 1
    viol = viol + i(is_end & (sec_open == 3) & (nplays == 0))  # abc2midi rejects it
    pos_var = _w(is_end & first, pos, r["pos_var"])
    pos = _w(is_end & ~first, r["pos_var"], pos)
    var = _w(is_end, _w(first, 1, 2), var)
    need2 = _w(is_end & ~first, 0, need2)
    nplays = nplays + i(is_end)

    # 5. field values and tuplet counts
    sv = e["set"]
    S = grammar.SET
    acc, acc2 = r["acc"], r["acc2"]
    hflags = r["hflags"]
    hflags = hflags | _w(sv == S["HDR_T"], H_T, 0)
    acc2 = _w(sv == S["M_SHIFT"], acc, acc2)
    m_set = sv == S["M_SET"]
    m_num = _w(m_set, acc2, _w((sv == S["M_C"]) | (sv == S["M_CB"]), 4, 0))
    m_den = _w(m_set, ops.minimum(acc, CAP) + i(acc == 0), 4)
    m_any = m_set | (sv == S["M_C"]) | (sv == S["M_CB"]) | (sv == S["M_NONE"])
    inexact = inexact | (m_set & ((TPW * m_num) % m_den != 0))
    bar = _w(m_any, TPW * m_num // m_den, bar)
    compound = _w(m_any, i((m_num % 3 == 0) & (m_num > 3)), r["compound"])
    ldef = _w(m_any, _w(4 * m_num < 3 * m_den, TPW // 16, TPW // 8), r["ldef"])
    ldef = _w(sv == S["M_NONE"], TPW // 8, ldef)
    hflags = hflags | _w(m_any, H_M, 0)
    l_set = sv == S["L_SET"]
    l_den = ops.minimum(acc, CAP) + i(acc == 0)
    inexact = inexact | (l_set & (TPW % l_den != 0))
    unit = _w(l_set, TPW // l_den, r["unit"])
    hflags = hflags | _w(l_set, H_L | H_USET, 0)
    unit = _w((sv == S["HDR_END"]) & ((hflags & H_USET) == 0), r["ldef"], unit)
    tp = _w((sv == S["TUP_SETP"]) | (sv == S["TUP_START_P"]), acc, r["tp"])
    tq = _w(sv == S["TUP_SETQ"], acc, r["tq"])
    tq = _w(sv == S["TUP_START_P"], 0, _w(sv == S["TUP_START_Q"], acc, tq))
    t_start = (sv == S["TUP_START_P"]) | (sv == S["TUP_START_Q"]) | (sv == S["TUP_START_R"])
    tp = _w(t_start, ops.minimum(ops.minimum(tp, 99) + i(tp <= 0), 99), tp)
    q_default = ops.gather(ops.const(np.array(TUPLET_Q, np.int64)), tp)
    q_default = _w(q_default == 0, 2 + compound, q_default)
    tq = _w(t_start, _w(tq <= 0, q_default, ops.minimum(tq, 99)), tq)
    r_count = _w(sv == S["TUP_START_R"], ops.minimum(acc, 99), 0)
    tr = _w(t_start, _w(r_count > 0, r_count, tp), tr)
    ftarget = _w(t_start, -1, ftarget)

    # 6. numbers
    nv = e["num"]
    acc = _w(nv == grammar.NUM_FIRST, d, acc)
    acc = _w(nv == grammar.NUM_MORE, ops.minimum(acc * 10 + d, CAP), acc)
    acc = _w(nv == grammar.NUM_CLEAR, 0, acc)

    # 7. a note, rest or chord starts, or a chord closes
    st = e["start"]
    starts = (st == grammar.START_NOTE) | (st == grammar.START_CHORD)
    closes = st == grammar.START_CHORD_CLOSE
    lnum, lden = r["lnum"], r["lden"]
    cin_num = _w(starts, 1, _w(closes, lnum, r["cin_num"]))
    cin_den = _w(starts, 1, _w(closes, lden, r["cin_den"]))
    lnum = _w(starts | closes, 1, lnum)
    lden = _w(starts | closes, 1, lden)
    lnode = _w((st == grammar.START_NOTE) | closes, grammar.LengthTrie.ROOT,
               _w(st == grammar.START_CHORD, grammar.LengthTrie.DUMMY, lnode))
    in_tuplet = tr > 0
    fnum = _w(starts, _w(in_tuplet, tq, 1) * bnum, r["fnum"])
    fden = _w(starts, _w(in_tuplet, tp, 1) * bden, r["fden"])
    bnum = _w(starts, 1, bnum)
    bden = _w(starts, 1, bden)
    pend = _w(starts, 1, pend)
    fresh = _w(starts, 0, fresh)

    # 8. length digits and slashes
    lv = e["len"]
    lnum = _w(lv == grammar.LEN_NUMFIRST, d, lnum)
    lnum = _w(lv == grammar.LEN_NUMMORE, ops.minimum(lnum * 10 + d, CAP), lnum)
    slash = lv == grammar.LEN_SLASH
    lden_base = _w(slash, lden, r["lden_base"])
    lden = _w(slash, ops.minimum(lden * 2, CAP), lden)
    dacc = _w(slash, 0, r["dacc"])
    dacc = _w(lv == grammar.LEN_DENFIRST, d, dacc)
    dacc = _w(lv == grammar.LEN_DENMORE, ops.minimum(dacc * 10 + d, CAP), dacc)
    lden = _w((lv == grammar.LEN_DENFIRST) | (lv == grammar.LEN_DENMORE),
              ops.minimum(lden_base * dacc, CAP), lden)
    lnode = _w(lv > 0, ops.gather(t.trie_next_flat, lnode * vocab + token), lnode)

    tie_tok = _w(e["tie"] == grammar.TIE_SET, token, r["tie_tok"])
    tie_tok = _w(e["tie"] == grammar.TIE_CLEAR, -1, tie_tok)

    # 9. text length
    tl = e["tlen"]
    tlen = _w(tl == grammar.TLEN_RESET, 0, _w(tl == grammar.TLEN_INC, r["tlen"] + 1, r["tlen"]))

    s = _w(lost | inexact | (r["s"] == t.lost), t.lost, e["nxt"])
    n.update(
        s=s, hflags=hflags, tlen=tlen, acc=acc, acc2=acc2, bar=bar, unit=unit, ldef=ldef,
        compound=compound, pos=pos, barno0=i(barno0), fresh=fresh, sec_start=sec_start,
        sec_own=sec_own, sec_open=sec_open, psave=psave, psave_start=psave_start,
        e2carry=e2carry, soft_since=soft_since, var=var, need2=need2, pos_var=pos_var,
        nplays=nplays, last_bar=last_bar, nbars=nbars, viol=viol, pend=pend, lnum=lnum,
        lden=lden, lden_base=lden_base, dacc=dacc, lnode=lnode, fnum=fnum, fden=fden,
        cin_num=cin_num, cin_den=cin_den, tp=tp, tq=tq, tr=tr, bnum=bnum, bden=bden,
        last_w=last_w, ftarget=ftarget, tie_tok=tie_tok,
    )
    return n


# -- offline use: follow whole texts ---------------------------------------------------------

@dataclasses.dataclass
class BarReport:
    """What the tracker made of one text."""

    followed: bool  # False: a construct outside the grammar (the tracker gave up there)
    lost_at: int | None  # character index where it gave up
    bars: list  # (character index, length, meter's bar length) per bar line, in whole notes
    violations: int  # bars abc2midi would report as not matching the meter

    @property
    def overfull(self) -> int:
        """Bars longer than the meter allows (a meter of 0: M:none)."""
        return sum(0 < limit < length for _, length, limit in self.bars)

    @property
    def every_bar_fits(self) -> bool:
        return self.followed and self.violations == 0


def bar_report(text: str, vocabulary: CharVocabulary | None = None) -> BarReport:
    """Follows `text` with the NumPy tracker (one row), recording each bar line's length."""
    vocabulary = vocabulary or CharVocabulary(set(text) | {"\n"})
    t = vocab_tables(vocabulary)
    r = {k: np.array([v], np.int64) for k, v in initial_registers(t).items()}
    bars, lost_at = [], None
    for index, ch in enumerate(text):
        token = np.array([vocabulary.id_of(ch)], np.int64)
        if t.edges["bar"][r["s"] * t.vocab_size + token][0] > 0:
            bars.append((index, fractions.Fraction(int(r["pos"][0]), TPW),
                         fractions.Fraction(int(r["bar"][0]), TPW)))
        r = advance(t, r, token)
        if int(r["s"][0]) == t.lost:
            lost_at = index
            break
    return BarReport(followed=lost_at is None, lost_at=lost_at, bars=bars,
                     violations=int(r["viol"][0]))


def follow_texts(texts: list[str], vocabulary: CharVocabulary | None = None) -> dict:
    """Follows many texts at once (NumPy, one row each); returns the final registers. A text's
    every bar fits when `s != lost` and `viol == 0` (see `every_bar_fits`)."""
    vocabulary = vocabulary or CharVocabulary(set("".join(texts)) | {"\n"})
    t = vocab_tables(vocabulary)
    r = {k: np.full(len(texts), v, np.int64) for k, v in initial_registers(t).items()}
    ids = np.zeros((len(texts), max(len(x) for x in texts)), np.int64)
    for row, text in enumerate(texts):
        ids[row, :len(text)] = vocabulary.encode(text, on_unknown="oov")
    lengths = np.array([len(x) for x in texts])
    for step in range(ids.shape[1]):
        active = step < lengths
        new = advance(t, r, ids[:, step])
        r = {k: np.where(active, new[k], r[k]) for k in r}
    r["lost"] = r["s"] == t.lost
    return r


def every_bar_fits(registers: dict) -> np.ndarray:
    return ~registers["lost"] & (registers["viol"] == 0)


class MeterConstraint:
    """The tracker for one vocabulary as TensorFlow graph ops, for a sampling loop:

        constraint = MeterConstraint(vocabulary)
        state = constraint.follow(constraint.initial(batch), seed_ids)   # [batch, time] ids
        mask, state = constraint.mask(state)        # [batch, vocab] bool
        state, mask = constraint.step(state, token) # token: [batch] ids; the next mask
        state, logits = constraint.step_logits(state, token, logits)  # ... applied (-inf)
        constraint.unconstrained(state)             # [batch] bool

    The state is one int64 tensor [batch, registers + 1] (one loop variable: a while loop
    pays per variable and step), the last column says whether the row ever had no allowed
    character. `mask` never leaves a row without one: a row the tracker gave up (LOST)
    allows everything, and so does a row whose strict mask came out empty.
    """

    def __init__(self, vocabulary: CharVocabulary, jit_compile: bool = True):
        self.vocabulary = vocabulary
        self._numpy_tables = vocab_tables(vocabulary, NUMPY)
        # One fused XLA computation per character: a few hundred tiny integer ops otherwise
        # cost more per step than the LSTM at batch 1.
        self.step = tf.function(self._step, jit_compile=jit_compile, autograph=False)
        self.step_logits = tf.function(self._step_logits, jit_compile=jit_compile,
                                       autograph=False)
        self.mask_logits = tf.function(self._mask_logits, jit_compile=jit_compile,
                                       autograph=False)

    @property
    def tables(self) -> VocabTables:
        """The tables as constants of the graph being traced (never as captured inputs,
        which a compiled step would copy at every call)."""
        t = self._numpy_tables
        return dataclasses.replace(t, **{
            field.name: (tf.constant(value) if isinstance(value, np.ndarray) else
                         {k: tf.constant(v) for k, v in value.items()}
                         if isinstance(value, dict) else value)
            for field in dataclasses.fields(t) for value in [getattr(t, field.name)]})

    @staticmethod
    def _unpack(state) -> dict:
        return {name: state[:, i] for i, name in enumerate(REGISTERS)}

    @staticmethod
    def _pack(registers: dict, stalled) -> tf.Tensor:
        return tf.stack([registers[name] for name in REGISTERS] + [stalled], axis=1)

    def initial(self, batch):
        values = initial_registers(self._numpy_tables)
        row = tf.constant([values[name] for name in REGISTERS] + [0], tf.int64)
        return tf.tile(row[None, :], [batch, 1])

    def advance(self, state, token):
        registers = advance(self.tables, self._unpack(state), tf.cast(token, tf.int64),
                            TENSORFLOW)
        return self._pack(registers, state[:, -1])

    def follow(self, state, ids):
        """Reads [batch, time] ids (a seed) into the state."""
        def body(step, state):
            return step + 1, self.advance(state, ids[:, step])

        _, state = tf.while_loop(lambda step, _: step < tf.shape(ids)[1], body,
                                 (tf.constant(0), state))
        return state

    def _mask(self, state):
        allowed_now = allowed(self.tables, self._unpack(state), TENSORFLOW)
        stalled = ~tf.reduce_any(allowed_now, axis=1)
        state = tf.concat([state[:, :-1], state[:, -1:] | tf.cast(stalled, tf.int64)[:, None]],
                          axis=1)
        return allowed_now | stalled[:, None], state

    def mask(self, state):
        """(mask, state): the state records rows whose strict mask was empty."""
        return self._mask(state)

    def _step(self, state, token):
        """advance, then the next mask: (state, mask) in one call."""
        mask, state = self._mask(self.advance(state, token))
        return state, mask

    def _mask_logits(self, state, logits):
        """(state, logits with -inf where the mask is False)."""
        mask, state = self._mask(state)
        return state, tf.where(mask, logits, tf.constant(-np.inf, logits.dtype))

    def _step_logits(self, state, token, logits):
        """advance, then mask the next logits: one compiled call per character."""
        return self._mask_logits(self.advance(state, token), logits)

    def unconstrained(self, state):
        """[batch] bool: rows the tracker gave up on, or that once had no allowed character."""
        lost = tf.equal(state[:, REGISTERS.index("s")], self._numpy_tables.lost)
        return lost | (state[:, -1] > 0)
