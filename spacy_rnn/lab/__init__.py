"""The lab: what the spaCy project (project/project.yml) runs around the plugin:
dataset download and preprocessing, training runs, evaluation with seqeval, results,
plots, speed, baselines, vectors, name lists, packaging and the RNN-claims
experiments (claims/). Its dependencies are the [project] extra; the plugin never
imports it (only `python -m spacy_rnn` does)."""
