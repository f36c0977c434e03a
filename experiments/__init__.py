"""Experiments whose numbers the README reports, one module each, run with
`python -m experiments.NAME` (not installed with the package)."""
