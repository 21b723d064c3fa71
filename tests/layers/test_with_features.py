"""`spacy_rnn.WithFeatures.v1`: another component's tok2vec as extra input features."""
import numpy
import pytest
import spacy
from spacy.lang.en import English
from spacy.tokens import DocBin
from thinc.api import fix_random_seed

from ..conftest import REPO
from ..corpus import TRAIN_DATA, make_examples

LISTENER_WIDTH = 24
TOKEN_EMBED = {"@architectures": "spacy_rnn.TokenEmbed.v1", "width": 32, "char_width": None}


def _listener(upstream: str = "*") -> dict:
    return {"@architectures": "spacy.Tok2VecListener.v1", "width": LISTENER_WIDTH,
            "upstream": upstream}


def _tok2vec_config() -> dict:
    return {"model": {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": LISTENER_WIDTH,
                  "attrs": ["NORM", "SHAPE"], "rows": [500, 50],
                  "include_static_vectors": False},
        "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": LISTENER_WIDTH,
                   "depth": 1, "window_size": 1, "maxout_pieces": 3},
    }}


def _nlp_with_tok2vec() -> English:
    nlp = English()
    nlp.add_pipe("tok2vec", config=_tok2vec_config())
    nlp.add_pipe("rnn_tagger", config={"model": {
        "@architectures": "spacy_rnn.BiRNNTagger.v1", "hidden_width": 16,
        "embed": {"@architectures": "spacy_rnn.WithFeatures.v1",
                  "embed": TOKEN_EMBED, "features": _listener()}}})
    return nlp


def test_with_features_widths_add_up():
    nlp = _nlp_with_tok2vec()
    embed = nlp.get_pipe("rnn_tagger").model.get_ref("embed")
    assert embed.get_dim("nO") == 32 + LISTENER_WIDTH


def test_with_features_nests_without_changing_its_parts():
    """Thinc's concatenate() would append to a concatenation passed in, in place."""
    from thinc.api import Relu

    from spacy_rnn.layers.with_features import WithFeatures

    inner = WithFeatures(Relu(nO=4), Relu(nO=8))
    outer = WithFeatures(inner, Relu(nO=16))
    assert (inner.get_dim("nO"), outer.get_dim("nO")) == (12, 28)
    assert len(inner.layers) == 2 and outer.layers[0] is inner


def test_a_listener_wider_or_narrower_than_its_tok2vec_is_named():
    nlp = English()
    nlp.add_pipe("tok2vec", config=_tok2vec_config())
    wrong = dict(_listener(), width=LISTENER_WIDTH + 8)
    nlp.add_pipe("rnn_tagger", config={"model": {
        "@architectures": "spacy_rnn.BiRNNTagger.v1", "hidden_width": 16,
        "embed": {"@architectures": "spacy_rnn.WithFeatures.v1",
                  "embed": TOKEN_EMBED, "features": wrong}}})
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match=f"Tok2VecListener.*{LISTENER_WIDTH + 8}.*{LISTENER_WIDTH}"):
        nlp.initialize(get_examples=lambda: examples)


def test_with_features_needs_known_widths():
    from thinc.api import Relu

    from spacy_rnn.layers.with_features import WithFeatures

    with pytest.raises(ValueError, match="features"):
        WithFeatures(Relu(nO=4), Relu())


def test_listener_features_train_the_upstream_tok2vec(tmp_path):
    """Not frozen: the tagger's loss reaches the shared tok2vec through the listener."""
    fix_random_seed(0)
    nlp = _nlp_with_tok2vec()
    assert nlp.get_pipe("tok2vec").listening_components == ["rnn_tagger"]
    examples = make_examples(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    tok2vec = nlp.get_pipe("tok2vec").model
    before = [node.get_param(name).copy() for node in tok2vec.walk()
              for name in node.param_names if node.has_param(name)]
    losses = {}
    for _ in range(30):
        nlp.update(examples, sgd=optimizer, losses=losses)
    after = [node.get_param(name) for node in tok2vec.walk()
             for name in node.param_names if node.has_param(name)]
    assert any(not numpy.array_equal(b, a) for b, a in zip(before, after))
    text = "Harry Potter met Ron Weasley in London"
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.pipe_names == ["tok2vec", "rnn_tagger"]
    assert [(e.text, e.label_) for e in loaded(text).ents] == [
        (e.text, e.label_) for e in nlp(text).ents]


def test_a_frozen_sourced_tok2vec_feeds_the_tagger_and_is_not_changed(tmp_path):
    """The config recipe of `lstm-vectors-unk-t2v.cfg`: source a pretrained pipeline's
    tok2vec, freeze it and let it annotate, so its listener in the tagger gets its
    output in training as in prediction; the trained pipeline loads on its own."""
    from spacy.cli.train import train as spacy_train

    fix_random_seed(0)
    source = English()
    source.add_pipe("tok2vec", config=_tok2vec_config())
    source.initialize()
    source.to_disk(tmp_path / "source")
    db = DocBin()
    for example in make_examples(source):
        db.add(example.reference)
    db.to_disk(tmp_path / "train.spacy")

    overrides = {
        "paths.train": str(tmp_path / "train.spacy"),
        "paths.dev": str(tmp_path / "train.spacy"),
        "paths.vectors": str(tmp_path / "source"),
        "paths.log": str(tmp_path / "log.jsonl"),
        "training.max_steps": 8,
        "training.eval_frequency": 4,
        "components.rnn_tagger.model.embed.features.width": LISTENER_WIDTH,
        "components.rnn_tagger.model.embed.embed.include_static_vectors": False,
    }
    spacy_train(REPO / "configs" / "lstm-vectors-unk-t2v.cfg", tmp_path / "out",
                overrides=overrides)
    (tmp_path / "source").rename(tmp_path / "gone")  # the trained pipeline must not need it
    trained = spacy.load(tmp_path / "out" / "model-last")
    assert trained.pipe_names == ["tok2vec", "rnn_tagger"]
    original = spacy.load(tmp_path / "gone")
    docs = [trained.make_doc(text) for text, _ in TRAIN_DATA]
    assert all(numpy.array_equal(a, b) for a, b in zip(
        trained.get_pipe("tok2vec").model.predict(docs),
        original.get_pipe("tok2vec").model.predict(docs)))
    # The tagger reads the tok2vec's output (doc.tensor, which the listener takes
    # in prediction): zero it, and the scores change.
    doc = trained.get_pipe("tok2vec")(trained.make_doc("Harry Potter met Ron Weasley in London"))
    tagger = trained.get_pipe("rnn_tagger")
    scores = tagger.model.predict([doc])[0].copy()
    doc.tensor = numpy.zeros_like(doc.tensor)
    assert not numpy.allclose(scores, tagger.model.predict([doc])[0])


def test_a_sourced_component_without_a_source_is_named(tmp_path, capsys):
    """The t2v config with the project's default `vectors: null`."""
    from spacy_rnn.lab.cli import main

    code = main(["train", str(REPO / "configs" / "lstm-vectors-unk-t2v.cfg"),
                 "--output", str(tmp_path / "out"), "--dataset", "conll2003",
                 "--paths.train", "x.spacy", "--paths.dev", "x.spacy"])
    assert code == 1
    assert "RNN053" in capsys.readouterr().err and not (tmp_path / "out").exists()
