"""How good is a music model? Held-out loss, and whether what it writes is valid ABC.

The validity numbers are computed the same way for generated tunes and for the real corpus, so
the corpus gives the ceiling to read the model's numbers against.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses

import tensorflow as tf

from tfcreative.abc_notation import REQUIRED_HEADERS, has_required_headers
from tfcreative.music import abc2midi, pipeline


@dataclasses.dataclass
class ValidityReport:
    """Fractions (0..1) over `num_tunes`; parser numbers are None when abc2midi is missing."""

    num_tunes: int
    required_headers: float
    parses: float | None
    bars_match_meter: float | None
    complete: float | None = None  # generated tunes only: ended on their own
    parser: str | None = None  # the abc2midi that checked the tunes (version, path), or None

    ROWS = (
        ("required_headers", f"has headers {','.join(REQUIRED_HEADERS)}"),
        ("parses", "accepted by abc2midi (no errors)"),
        ("bars_match_meter", "every bar matches the meter"),
        ("complete", "ended on its own (not cut)"),
    )


def validity_report(tunes: list[str], complete: list[bool] | None = None,
                    max_workers: int = 4) -> ValidityReport:
    if not tunes:
        raise ValueError("no tunes to evaluate")
    n = len(tunes)
    headers = sum(has_required_headers(t) for t in tunes) / n
    try:
        parser = abc2midi.abc2midi_version()
    except abc2midi.Abc2MidiNotFoundError:
        parser = parses = bars = None
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers) as pool:
            checks = list(pool.map(abc2midi.abc_to_midi, tunes))
        parses = sum(c.parses for c in checks) / n
        bars = sum(c.bars_match_meter for c in checks) / n
    return ValidityReport(
        num_tunes=n, required_headers=headers, parses=parses, bars_match_meter=bars,
        complete=None if complete is None else sum(complete) / n, parser=parser,
    )


def checks_that_ran(reports: list[ValidityReport]) -> str:
    """One line saying which checks the table holds: with or without abc2midi."""
    parsers = sorted({r.parser for r in reports if r.parser is not None})
    if parsers and all(r.parser is not None for r in reports):
        return ("Checks run: headers and endings (tfcreative's own); parsing and bars vs meter "
                f"by abc2midi {', '.join(parsers)}.")
    return ("Checks run: headers and endings (tfcreative's own) only; parsing and bars vs meter "
            f"('-') were not run because abc2midi is not installed. {abc2midi.INSTALL_HINT}")


def format_table(columns: dict[str, object], rows: tuple, count: str = "tunes") -> str:
    """A text table of percentages: one column per report (a dataclass with `num_tunes` and
    the fields named in `rows`, pairs of (field, label)); None prints as '-'."""
    names = list(columns)
    width = max(len(label) for _, label in rows) + 2
    cell = {name: max(12, len(name) + 2) for name in names}
    lines = [" " * width + "".join(f"{name:>{cell[name]}}" for name in names),
             f"{count:<{width}}" + "".join(f"{columns[n].num_tunes:>{cell[n]}}" for n in names)]
    for field, label in rows:
        cells = []
        for name in names:
            value = getattr(columns[name], field)
            cells.append(f"{'-' if value is None else f'{100 * value:.1f}%':>{cell[name]}}")
        lines.append(f"{label:<{width}}" + "".join(cells))
    return "\n".join(lines)


def format_reports(columns: dict[str, ValidityReport]) -> str:
    """The validity table (one column per report, e.g. 'generated', 'corpus') and which checks
    ran."""
    return format_table(columns, ValidityReport.ROWS) + "\n" + \
        checks_that_ran(list(columns.values()))


def report_split(builder) -> tuple[str, str]:
    """(split to report, caveat): the test tunes, which training never reads and checkpoints
    are never chosen on; a collection too small for a test split falls back to validation,
    with a caveat saying that split chose best.keras."""
    if "test" in builder.info.splits:
        return "test", ""
    if "validation" in builder.info.splits:
        return "validation", "; no test split: this split also chose best.keras"
    raise ValueError(f"{builder.name}/{builder.builder_config.name} has no held-out tunes "
                     "(too few tunes to hold any out)")


def held_out_loss(model, builder, split: str, seq_length: int = 100,
                  batch_size: int = 8) -> dict:
    """Loss and bits-per-character of `model` on the tunes of `split`."""
    texts = pipeline.tune_texts(builder, split)
    data = pipeline.make_dataset(texts, model.vocabulary, seq_length, batch_size, shuffle=False)
    if model.optimizer is None:
        model.compile()
    return model.evaluate(data, return_dict=True, verbose=0)


def texts_loss(model, texts: list[str], seq_length: int = 100, batch_size: int = 8) -> dict:
    """Loss and bits-per-character of `model` on some texts, e.g. the tunes it generated: how
    surprised the model is by what it wrote (a constraint that pushes sampling away from the
    model's own choices raises it)."""
    data = pipeline.make_dataset(tf.data.Dataset.from_tensor_slices(texts), model.vocabulary,
                                 seq_length, batch_size, shuffle=False)
    if model.optimizer is None:
        model.compile()
    return model.evaluate(data, return_dict=True, verbose=0)
