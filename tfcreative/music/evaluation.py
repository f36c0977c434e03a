"""How good is a music model? Held-out loss, whether what it writes is valid ABC, has a
tune's form, stays close to real tunes without copying them (`evaluate_sampling`: what
`music evaluate` prints).

The validity numbers are computed the same way for generated tunes and for the real corpus, so
the corpus gives the ceiling to read the model's numbers against.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import math

import numpy as np
import tensorflow as tf

from tfcreative.abc_notation import REQUIRED_HEADERS, TUNE_SEPARATOR, has_required_headers
from tfcreative.files import write_bytes_atomically
from tfcreative.music import abc2midi, pipeline
from tfcreative.music.form import FormReport, form_report
from tfcreative.music.novelty import NoveltyReport, TrainingTunes, novelty_report
from tfcreative.music.similarity import SimilarityReport, similarity_report
from tfcreative.music.tune import GeneratedTune


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
    data = pipeline.make_test_dataset(texts, model.vocabulary, seq_length, batch_size)
    if model.optimizer is None:
        model.compile()
    return model.evaluate(data, return_dict=True, verbose=0)


def texts_loss(model, texts: list[str], seq_length: int = 100, batch_size: int = 8) -> dict:
    """Loss and bits-per-character of `model` on some texts, e.g. the tunes it generated: how
    surprised the model is by what it wrote (a constraint that pushes sampling away from the
    model's own choices raises it)."""
    data = pipeline.make_test_dataset(tf.data.Dataset.from_tensor_slices(texts), model.vocabulary,
                                      seq_length, batch_size)
    if model.optimizer is None:
        model.compile()
    return model.evaluate(data, return_dict=True, verbose=0)


def whole_tunes_loss(model, texts: list[str], batch_size: int = 8) -> dict:
    """Loss and bits-per-character of `model` on whole tunes: each tune from a fresh state,
    every character (and the separator after the tune) given all of the tune before it, as
    generation meets it. `held_out_loss` scores windows of `seq_length` characters instead,
    each from a fresh state, so the first characters of a window lack their tune's key, meter
    and bars: it reads higher. folk-rnn's published loss is of this kind. Characters the model does not
    know are scored as the unknown id, as in `held_out_loss`."""
    if not texts:
        raise ValueError("no tunes to score")
    # The separator before a tune is its context, as in the training text; it is not scored.
    sequences = [model.vocabulary.encode(TUNE_SEPARATOR + text + TUNE_SEPARATOR, "oov")
                 for text in texts]
    context = len(TUNE_SEPARATOR) - 1  # targets before the tune's first character
    nats, scored = 0.0, 0
    by_length = sorted(sequences, key=len)  # batches of similar lengths: little padding
    for start in range(0, len(by_length), batch_size):
        batch = by_length[start:start + batch_size]
        ids = np.zeros((len(batch), max(map(len, batch))), np.int32)
        scored_mask = np.zeros((len(batch), ids.shape[1] - 1), np.float32)
        for row, sequence in enumerate(batch):
            ids[row, :len(sequence)] = sequence
            scored_mask[row, context:len(sequence) - 1] = 1.0
        logits = model(ids[:, :-1], training=False)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(ids[:, 1:],
                                                                tf.cast(logits, tf.float32))
        nats += float(tf.reduce_sum(losses * scored_mask))
        scored += int(scored_mask.sum())
    return {"loss": nats / scored, "bits_per_char": nats / scored / math.log(2),
            "characters": scored}


@dataclasses.dataclass
class SamplingEvaluation:
    """What `evaluate_sampling` measured: the model's loss on the held-out tunes of `split`,
    and its generated tunes next to real ones: validity (against the whole corpus), form and
    copying (against the held-out tunes), closeness of pitches, intervals and lengths
    (`similarity`, None with fewer than two held-out tunes), and the model's bits/char on
    its own tunes (`sampled`, None when they are too short for one batch of windows)."""

    split: str
    caveat: str
    held_out_tunes: int
    held_out: dict
    validity: dict[str, ValidityReport]
    unconstrained_fallback: int
    parts: int
    forms: dict[str, FormReport]
    similarity: SimilarityReport | None
    novelty: dict[str, NoveltyReport]
    sampled: dict | None
    seq_length: int = 100  # the windows `held_out` was scored in (also on whole tunes)

    def format(self) -> str:
        """Every figure, as `music evaluate` prints it."""
        loss = self.held_out
        text = [f"{self.split.capitalize()} ({self.held_out_tunes} held-out tunes{self.caveat}): "
                f"loss {loss['loss']:.4f}, bits/char {loss['bits_per_char']:.4f} (windows of "
                f"{self.seq_length} characters, each from a fresh state); "
                f"{loss['whole_tunes']['bits_per_char']:.4f} on whole tunes (each character "
                "given the tune before it)",
                format_reports(self.validity)]
        if self.unconstrained_fallback:
            text.append(f"{self.unconstrained_fallback} tune(s) the meter tracker could not "
                        "follow, sampled freely")
        text += ["", self._format_form(), "", self._format_similarity(), "",
                 "Copied from the training tunes (bars compared without spaces):",
                 format_table(self.novelty, NoveltyReport.ROWS), ""]
        text.append("(too little generated text for the model's bits/char on it)"
                    if self.sampled is None else
                    f"The model's bits/char on the tunes it sampled: "
                    f"{self.sampled['bits_per_char']:.4f}")
        return "\n".join(text)

    def _format_form(self) -> str:
        plural = "s" if self.parts > 1 else ""
        width = max(len(label) for _, label in FormReport.ROWS) + 2
        means = [f"{label:<{width}}" + "".join(
            f"{getattr(report, field):>{max(12, len(name) + 2)}.2f}"
            for name, report in self.forms.items()) for field, label in FormReport.MEANS]
        return "\n".join([f"Form (parts read at |: :| :: || |], endings folded, a pickup "
                          f"aside; {self.parts} part{plural} asked):",
                          format_table(self.forms, FormReport.ROWS), *means])

    def _format_similarity(self) -> str:
        if self.similarity is None:
            return f"(one {self.split} tune: too few for the distances between tunes)"
        return (f"Pitch classes, intervals and note lengths against the {self.split} tunes "
                "(MGEval: overlap of the distance distributions, 1 = as close as they are to "
                "each other; KL divergence, 0 = the same), the training tunes as the "
                f"baseline:\n{self.similarity.format()}")

    def to_dict(self) -> dict:
        def plain(reports):
            return {name: dataclasses.asdict(report) for name, report in reports.items()}

        return {self.split: self.held_out, "sampled": self.sampled,
                "unconstrained_fallback": self.unconstrained_fallback,
                **plain(self.validity), "novelty": plain(self.novelty),
                "form": plain(self.forms),
                "similarity": None if self.similarity is None
                else dataclasses.asdict(self.similarity)}

    def write_json(self, path: str, **extra) -> None:
        """The figures (and `extra` entries, e.g. the sampling settings) as JSON, written
        whole or not at all."""
        write_bytes_atomically(path, json.dumps({**self.to_dict(), **extra},
                                                indent=2).encode("utf-8"))


def evaluate_sampling(model, builder, tunes: list[GeneratedTune], parts: int = 2,
                      seq_length: int = 100, batch_size: int = 8) -> SamplingEvaluation:
    """`model`'s held-out loss on `builder`'s tunes, and `tunes` (what it generated, asked for
    `parts` parts) measured against them (SamplingEvaluation)."""
    split, caveat = report_split(builder)
    texts = {name: pipeline.read_texts(pipeline.tune_texts(builder, name))
             for name in builder.info.splits}
    generated = [t.abc for t in tunes]
    held_out, training = texts[split], texts["train"]
    index = TrainingTunes(training)
    try:
        sampled = texts_loss(model, generated, seq_length, batch_size)
    except ValueError:  # less text than one batch of windows
        sampled = None
    return SamplingEvaluation(
        split=split, caveat=caveat, held_out_tunes=len(held_out),
        held_out={**held_out_loss(model, builder, split, seq_length, batch_size),
                  "whole_tunes": whole_tunes_loss(model, held_out, batch_size)},
        validity={"generated": validity_report(generated, [t.complete for t in tunes]),
                  "corpus": validity_report([t for s in texts.values() for t in s])},
        unconstrained_fallback=sum(t.unconstrained_fallback for t in tunes), parts=parts,
        forms={"generated": form_report(generated, parts),
               f"{split} tunes": form_report(held_out, parts)},
        similarity=similarity_report(generated, held_out, training)
        if len(held_out) >= 2 else None,
        novelty={"generated": novelty_report(generated, index),
                 f"{split} tunes": novelty_report(held_out, index)},
        sampled=sampled, seq_length=seq_length)
