"""The shipped training configs: each builds, and `spacy train` runs it end to end."""
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin
from spacy.util import load_config, load_model_from_config

from .conftest import REPO
from .corpus import TRAIN_DATA

CONFIGS = sorted((REPO / "configs").glob("*.cfg"))


def test_configs_exist():
    names = {p.name for p in CONFIGS}
    assert {"lstm.cfg", "gru.cfg", "rnn.cfg", "lstm-crf.cfg", "lstm-vectors.cfg"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_builds(path):
    nlp = load_model_from_config(load_config(path), auto_fill=True, validate=True)
    assert nlp.pipe_names == ["rnn_tagger"]


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    nlp = spacy.blank("en")
    db = DocBin()
    for text, ents in TRAIN_DATA:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(s, e, label=label) for s, e, label in ents]
        db.add(doc)
    db.to_disk(out / "train.spacy")
    # Tiny static vectors for the vectors config.
    vectors_nlp = spacy.blank("en")
    rng = numpy.random.default_rng(0)
    for word in {w for text, _ in TRAIN_DATA for w in text.split()}:
        vectors_nlp.vocab.set_vector(word, rng.standard_normal(8).astype("float32"))
    vectors_nlp.to_disk(out / "vectors")
    return out


@pytest.mark.parametrize("name", ["lstm.cfg", "lstm-crf.cfg", "lstm-vectors.cfg", "onehot.cfg"])
def test_spacy_train_runs_config(name, tiny_corpus, tmp_path):
    """`spacy train` with the plugin found through its entry points, then spacy.load."""
    overrides = {
        "paths.train": str(tiny_corpus / "train.spacy"),
        "paths.dev": str(tiny_corpus / "train.spacy"),
        "paths.log": str(tmp_path / "log.jsonl"),
        "training.max_steps": 6,
        "training.eval_frequency": 3,
    }
    if name == "lstm-vectors.cfg":
        overrides["paths.vectors"] = str(tiny_corpus / "vectors")
    spacy_train(REPO / "configs" / name, tmp_path / "out", overrides=overrides)
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.get_pipe("rnn_tagger").labels == ("LOC", "ORG", "PER")
    assert (tmp_path / "log.jsonl").read_text().count("\n") >= 2
    nlp("Harry Potter went to London")


def test_spacy_train_is_deterministic_for_a_seed(tiny_corpus, tmp_path):
    """Two CPU trainings with the same seed: identical weights and identical scores."""
    overrides = {
        "paths.train": str(tiny_corpus / "train.spacy"),
        "paths.dev": str(tiny_corpus / "train.spacy"),
        "training.max_steps": 4,
        "training.eval_frequency": 2,
        "components.rnn_tagger.model.decoder": "crf",
    }
    outputs = []
    for run in ("a", "b"):
        spacy_train(REPO / "configs" / "lstm.cfg", tmp_path / run, overrides=overrides)
        nlp = spacy.load(tmp_path / run / "model-last")
        outputs.append(nlp.get_pipe("rnn_tagger").model.to_bytes())
        outputs.append(nlp.meta["performance"])
    assert outputs[0] == outputs[2]
    assert outputs[1] == outputs[3]
