"""Experiments that check the seed texts' claims about RNNs on this package's own models.

Each module holds one experiment and returns JSON-ready results; `runner` runs
them and saves their outputs, `writeup` turns those into EXPERIMENTS.md. `python -m spacy_rnn experiment ...` runs
them (see project/project.yml, workflow `claims`).
"""
