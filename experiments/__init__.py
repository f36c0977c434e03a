"""Experiments whose numbers the README and docs/ report, one module each, run with
`python -m experiments.NAME` (not installed with the package)."""
