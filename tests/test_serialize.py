"""Serialization: round trips into freshly built models, pipelines saved by an
earlier release, and corrupt model directories."""
import json

import pytest
import spacy
from spacy.lang.en import English
from thinc.api import fix_random_seed

from .conftest import REPO
from .corpus import TRAIN_DATA, make_examples, make_nlp, train

SAVED_030 = REPO / "tests" / "fixtures" / "saved-0.3.0-crf"

CONFIGS = [{}, {"decoder": "crf", "cell": "gru"}, {"embed": {"vocab_size": 7}}]


def ents(doc):
    return [(e.start, e.end, e.label_) for e in doc.ents]


@pytest.fixture(scope="module", params=range(len(CONFIGS)))
def trained(request):
    fix_random_seed(0)
    nlp = make_nlp(model=CONFIGS[request.param])
    train(nlp, make_examples(nlp), n_iter=15)
    return nlp


def test_bytes_round_trip_into_uninitialized_model(trained):
    """A freshly built, never-initialized component loads the bytes and predicts
    identically: every data-dependent size (labels, one-hot rows) is saved."""
    tagger = trained.get_pipe("rnn_tagger")
    data = tagger.to_bytes()
    nlp2 = English()
    config = dict(trained.config["components"]["rnn_tagger"])
    config.pop("factory")
    tagger2 = nlp2.add_pipe("rnn_tagger", config=config)
    tagger2.from_bytes(data)
    assert tagger2.labels == tagger.labels
    assert tagger2.to_bytes() == data
    docs = [trained.make_doc(t) for t, _ in TRAIN_DATA]
    for a, b in zip(tagger.predict(docs), tagger2.predict(docs)):
        assert list(a) == list(b)


def test_disk_round_trip_with_spacy_load(trained, tmp_path):
    trained.to_disk(tmp_path / "model")
    nlp2 = spacy.load(tmp_path / "model")
    texts = [t for t, _ in TRAIN_DATA]
    assert [ents(d) for d in trained.pipe(texts)] == [ents(d) for d in nlp2.pipe(texts)]
    # And save again from the reloaded pipeline: still identical.
    nlp2.to_disk(tmp_path / "again")
    nlp3 = spacy.load(tmp_path / "again")
    assert [ents(d) for d in nlp3.pipe(texts)] == [ents(d) for d in nlp2.pipe(texts)]


def test_truncated_model_file_is_a_clear_error(tmp_path):
    fix_random_seed(0)
    nlp = make_nlp()
    train(nlp, make_examples(nlp), n_iter=1)
    nlp.to_disk(tmp_path)
    model_file = tmp_path / "rnn_tagger" / "model"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    with pytest.raises(ValueError, match="RNN018.*truncated or corrupt"):
        spacy.load(tmp_path)


@pytest.mark.parametrize("part", ["cfg", "model"])
def test_missing_component_file_is_named(tmp_path, part):
    """spaCy reads a missing cfg as no labels (which then looks like a label mismatch)
    and a missing model as a bare FileNotFoundError: name the missing file instead."""
    fix_random_seed(0)
    nlp = make_nlp()
    train(nlp, make_examples(nlp), n_iter=1)
    nlp.to_disk(tmp_path)
    (tmp_path / "rnn_tagger" / part).unlink()
    with pytest.raises(ValueError, match=f"RNN027.*rnn_tagger.{part} is missing"):
        spacy.load(tmp_path)


def test_model_with_mismatched_labels_is_a_clear_error(tmp_path):
    import srsly

    fix_random_seed(0)
    nlp = make_nlp()
    train(nlp, make_examples(nlp), n_iter=1)
    nlp.to_disk(tmp_path)
    cfg_path = tmp_path / "rnn_tagger" / "cfg"
    cfg = srsly.read_json(cfg_path)
    cfg["labels"] = cfg["labels"][:1]
    srsly.write_json(cfg_path, cfg)
    with pytest.raises(ValueError, match="do not belong"):
        spacy.load(tmp_path)


def test_different_architecture_is_a_clear_error(tmp_path):
    fix_random_seed(0)
    nlp = make_nlp(model={"decoder": "crf"})
    train(nlp, make_examples(nlp), n_iter=1)
    data = nlp.get_pipe("rnn_tagger").to_bytes()
    other = make_nlp(model={"decoder": "softmax"}).get_pipe("rnn_tagger")
    with pytest.raises(ValueError, match="different"):
        other.from_bytes(data)


def test_pipeline_saved_by_0_3_0_loads_and_predicts_as_it_did():
    """A CRF pipeline written by 0.3.0 (tests/fixtures/make_saved_pipeline.py) loads,
    and gives the entities and confidences it gave then: the layers' names, their
    parameters and the decoding survived the refactors since."""
    expected = json.loads((SAVED_030 / "expected.json").read_text(encoding="utf8"))
    assert expected["spacy_rnn"] == "0.3.0"
    nlp = spacy.load(SAVED_030 / "pipeline")
    docs = list(nlp.pipe([d["text"] for d in expected["docs"]]))
    assert sum(len(d["ents"]) for d in expected["docs"]) >= 5
    for doc, want in zip(docs, expected["docs"]):
        assert [[e.start_char, e.end_char, e.label_] for e in doc.ents] == want["ents"]
        assert doc.spans["rnn_ents"].attrs["scores"] == pytest.approx(want["scores"], abs=1e-6)
