"""How close generated tunes are to real ones in what they play: pitch classes, intervals and
note lengths, compared as MGEval does (Yang & Lerch, "On the evaluation of generative models
in music", 2018).

Each tune gives one histogram per feature (`features`, from `form.read_form`'s notes):

* pitch classes: the 12 pitch classes of its notes, counted;
* intervals: the steps between successive notes in semitones, -12 to 12 (wider ones at the
  ends);
* note lengths: how many notes of each length (`LENGTHS`, in whole notes; others apart).

For a feature, the Euclidean distances between the reference set's own tunes (intra-set)
form one distribution, those between each tune of another set and each reference tune
(inter-set) another; both are smoothed (a Gaussian kernel density, Scott's bandwidth) and
compared by their overlapping area (1: the other set lies among the reference tunes as they
lie among themselves) and the Kullback-Leibler divergence of the inter-set one from the
intra-set one (0: the same). `similarity_report(generated, test, train)` gives both for the
generated tunes and, as the baseline, for the training tunes against the same test tunes.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np

from tfcreative.music.form import read_form

LENGTHS = tuple(Fraction(1, n) for n in (1, 2, 4, 8, 16, 32)) + tuple(
    Fraction(3, n) for n in (4, 8, 16, 32)) + (Fraction(1, 12), Fraction(1, 24))
FEATURES = ("pitch_classes", "intervals", "note_lengths")
MAX_PAIRS = 200_000  # distances sampled per distribution (the sets' pairs can be millions)
GRID = 512  # points the densities are compared at


def features(abc: str) -> dict[str, np.ndarray]:
    """The tune's normalised histograms, by feature (zeros for a tune without notes)."""
    notes = read_form(abc).notes
    pitches = np.array([pitch for pitch, _ in notes], np.int64)
    histograms = {
        "pitch_classes": np.bincount(pitches % 12, minlength=12),
        "intervals": np.bincount(np.clip(np.diff(pitches), -12, 12) + 12, minlength=25)
        if len(pitches) > 1 else np.zeros(25),
        "note_lengths": np.bincount([LENGTHS.index(length) if length in LENGTHS
                                     else len(LENGTHS) for _, length in notes],
                                    minlength=len(LENGTHS) + 1),
    }
    return {name: h / max(h.sum(), 1) for name, h in histograms.items()}


def _feature_matrix(tunes: list[str]) -> dict[str, np.ndarray]:
    per_tune = [features(t) for t in tunes]
    return {name: np.stack([f[name] for f in per_tune]) for name in FEATURES}


def _distances(a: np.ndarray, b: np.ndarray | None, rng) -> np.ndarray:
    """Euclidean distances between rows of a and rows of b (b None: pairs within a, each
    once); at most MAX_PAIRS of them, drawn at random."""
    if b is None:
        i, j = np.triu_indices(len(a), k=1)
    else:
        i, j = np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij")
        i, j = i.ravel(), j.ravel()
    if len(i) > MAX_PAIRS:
        keep = rng.choice(len(i), MAX_PAIRS, replace=False)
        i, j = i[keep], j[keep]
    other = a if b is None else b
    return np.linalg.norm(a[i] - other[j], axis=1)


def _density(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A Gaussian kernel density (Scott's bandwidth) on `grid`, integrating to 1."""
    bandwidth = max(1.06 * samples.std() * len(samples) ** -0.2, 1e-3)
    sample = samples if len(samples) <= 5000 else np.random.default_rng(0).choice(samples, 5000)
    z = (grid[:, None] - sample[None, :]) / bandwidth
    density = np.exp(-0.5 * z * z).sum(axis=1)
    return density / np.trapezoid(density, grid)


def compare(intra: np.ndarray, inter: np.ndarray) -> tuple[float, float]:
    """(overlapping area, KL(intra || inter)) of the two distance distributions."""
    grid = np.linspace(0, max(intra.max(), inter.max()) * 1.1 + 1e-6, GRID)
    p, q = _density(intra, grid), _density(inter, grid)
    overlap = float(np.trapezoid(np.minimum(p, q), grid))
    kl = float(np.trapezoid(p * np.log((p + 1e-12) / (q + 1e-12)), grid))
    return overlap, max(kl, 0.0)


@dataclasses.dataclass
class SimilarityReport:
    """Per feature: overlapping area and KL divergence of the generated tunes' distances to
    the test tunes, and the same for the training tunes (the baseline)."""

    num_tunes: int
    overlap: dict  # feature -> {"generated": area, "train": area}
    kl: dict  # feature -> {"generated": divergence, "train": divergence}

    LABELS = {"pitch_classes": "pitch classes", "intervals": "intervals",
              "note_lengths": "note lengths"}

    def format(self) -> str:
        lines = [f"{'':<30}{'generated':>12}{'train (baseline)':>18}"]
        for name in FEATURES:
            label = self.LABELS[name]
            lines.append(f"{label + ': overlap':<30}{self.overlap[name]['generated']:>12.3f}"
                         f"{self.overlap[name]['train']:>18.3f}")
            lines.append(f"{label + ': KL divergence':<30}{self.kl[name]['generated']:>12.3f}"
                         f"{self.kl[name]['train']:>18.3f}")
        return "\n".join(lines)


def similarity_report(generated: list[str], test: list[str], train: list[str],
                      seed: int = 0) -> SimilarityReport:
    """The generated and the training tunes against the test tunes (module docstring)."""
    if not generated or len(test) < 2 or not train:
        raise ValueError("needs generated tunes, two or more test tunes and training tunes")
    rng = np.random.default_rng(seed)
    sets = {"generated": _feature_matrix(generated), "train": _feature_matrix(train)}
    reference = _feature_matrix(test)
    overlap, kl = {}, {}
    for name in FEATURES:
        intra = _distances(reference[name], None, rng)
        overlap[name], kl[name] = {}, {}
        for which, matrix in sets.items():
            inter = _distances(matrix[name], reference[name], rng)
            overlap[name][which], kl[name][which] = compare(intra, inter)
    return SimilarityReport(len(generated), overlap, kl)
