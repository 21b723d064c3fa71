"""Experiments that check the seed texts' claims about RNNs on this package's own models.

Each module holds one experiment and returns JSON-ready results; `report`
turns them into EXPERIMENTS.md. `python -m spacy_rnn experiment ...` runs
them (see project/project.yml, workflow `claims`).
"""
