"""Sentence windows (layers/sentence_context.py): each sentence encoded with its
neighbours' tokens, only its own output."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_rnn.layers.rnn_encoder import RNNEncoderLayer
from spacy_rnn.layers.sentence_context import (
    SentenceContext,
    sentence_bounds,
    window_layout,
)

from ..corpus import doc_with_sentences, make_nlp
from .stubs import WIDTH, FixedEmbed


@pytest.fixture
def nlp():
    return spacy.blank("en")


def make_layer(inputs, context_width, seed=0):
    fix_random_seed(seed)
    encoder = RNNEncoderLayer("lstm", WIDTH, 3, 1, True, 0.0)
    layer = SentenceContext(FixedEmbed(inputs), encoder, context_width)
    layer.initialize()
    return layer, encoder


def test_sentence_bounds(nlp):
    assert sentence_bounds(doc_with_sentences(nlp, 9, {0, 3, 5})) == [(0, 3), (3, 5), (5, 9)]
    assert sentence_bounds(Doc(nlp.vocab, words=["a", "b"])) == [(0, 2)]
    assert sentence_bounds(Doc(nlp.vocab, words=[])) == []


def test_window_layout_by_hand(nlp):
    # Doc 0: sentences [0,3) [3,5) [5,9); doc 1 (rows 9-10): one sentence.
    docs = [doc_with_sentences(nlp, 9, {0, 3, 5}), Doc(nlp.vocab, words=["x", "y"])]
    gather, lengths, centre = window_layout(docs, 1)
    assert lengths == [4, 4, 5, 2]
    assert gather.tolist() == [0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 10]
    # Each token's own window row, in doc order: every token exactly once.
    assert centre.tolist() == [0, 1, 2, 5, 6, 9, 10, 11, 12, 13, 14]
    assert gather[centre].tolist() == list(range(11))


def test_windows_equal_the_encoder_on_each_window(nlp):
    """Each sentence's states are the encoder's over [start - c, end + c), cut to
    the sentence: the context is read, and it stays out of the output."""
    rng = numpy.random.default_rng(0)
    X = rng.normal(size=(9, WIDTH)).astype("f")
    layer, encoder = make_layer({9: X}, context_width=2)
    doc = doc_with_sentences(nlp, 9, {0, 3, 5})
    (Y,) = layer.predict([doc])
    for (start, end), (a, b) in zip([(0, 3), (3, 5), (5, 9)], [(0, 5), (1, 7), (3, 9)]):
        (window_states,) = encoder.predict([X[a:b]])
        numpy.testing.assert_allclose(Y[start:end], window_states[start - a:end - a],
                                      atol=1e-6)
    # Without context, a sentence's states do not depend on its neighbours.
    layer0, encoder0 = make_layer({9: X}, context_width=0)
    (Y0,) = layer0.predict([doc])
    numpy.testing.assert_allclose(Y0[3:5], encoder0.predict([X[3:5]])[0], atol=1e-6)
    assert not numpy.allclose(Y[3:5], Y0[3:5])


def test_doc_without_sentences_reads_as_one_window(nlp):
    X = numpy.random.default_rng(1).normal(size=(6, WIDTH)).astype("f")
    layer, encoder = make_layer({6: X}, context_width=3)
    (Y,) = layer.predict([Doc(nlp.vocab, words=list("abcdef"))])
    numpy.testing.assert_allclose(Y, encoder.predict([X])[0], atol=1e-6)


def test_gradient_matches_finite_differences(nlp):
    """Context tokens sit in several windows: their gradients must add up."""
    rng = numpy.random.default_rng(2)
    X = rng.normal(size=(7, WIDTH)).astype("float64").astype("f")
    doc = doc_with_sentences(nlp, 7, {0, 2, 4})
    inputs = {7: X}
    layer, _ = make_layer(inputs, context_width=2)
    weights = rng.normal(size=(7, 6)).astype("f")

    def loss():
        return float((layer.predict([doc])[0] * weights).sum())

    # Training mode for the gradient; no dropout anywhere, so the same function.
    (Y,), backprop = layer([doc], is_train=True)
    backprop([weights])
    (dX,) = layer.layers[0].attrs["dXs"]
    eps = 1e-2
    numeric = numpy.zeros_like(X)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            orig = X[i, j]
            X[i, j] = orig + eps
            up = loss()
            X[i, j] = orig - eps
            down = loss()
            X[i, j] = orig
            numeric[i, j] = (up - down) / (2 * eps)
    numpy.testing.assert_allclose(dX, numeric, atol=2e-3, rtol=2e-2)


@pytest.mark.parametrize("settings", [
    {"context_width": 4}, {"context_width": 0, "document_memory": True},
    {"context_width": 3, "document_memory": True}])
def test_batch_invariance_with_documents(nlp, settings):
    """A document's scores do not depend on the documents batched with it."""
    fix_random_seed(0)
    tagger_nlp = make_nlp(model={**settings, "decoder": "crf"})
    docs = [doc_with_sentences(tagger_nlp, n, starts) for n, starts in
            [(12, {0, 4, 9}), (3, {0}), (20, {0, 5, 6, 15})]]
    examples = [Example.from_dict(doc, {"entities": ["U-PER"] + ["O"] * (len(doc) - 1)})
                for doc in docs]
    tagger_nlp.initialize(get_examples=lambda: examples)
    model = tagger_nlp.get_pipe("rnn_tagger").model
    together = model.predict(docs)
    for doc, scores in zip(docs, together):
        numpy.testing.assert_allclose(model.predict([doc])[0], scores, atol=1e-5)


def test_context_width_is_validated():
    with pytest.raises(ValueError, match="RNN001.*context_width"):
        make_nlp(model={"context_width": -1})


def test_trained_with_context_saves_and_loads(tmp_path):
    """A pipeline reading documents in windows trains, and predicts the same after
    a save and reload (the window setting is part of the saved config)."""
    nlp = make_nlp(model={"context_width": 2})
    words = "Peter Blackburn spoke . Then Blackburn left .".split()
    reference = Doc(nlp.vocab, words=words, sent_starts=[w in ("Peter", "Then") for w in words],
                    ents=["B-PER", "I-PER", "O", "O", "O", "B-PER", "O", "O"])
    examples = [Example(Doc(nlp.vocab, words=words, sent_starts=[
        w in ("Peter", "Then") for w in words]), reference)]
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for _ in range(40):
        nlp.update(examples, sgd=optimizer)
    doc = nlp(Doc(nlp.vocab, words=words, sent_starts=[w in ("Peter", "Then") for w in words]))
    assert [e.text for e in doc.ents] == ["Peter Blackburn", "Blackburn"]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.config["components"]["rnn_tagger"]["model"]["context_width"] == 2
    again = loaded(Doc(loaded.vocab, words=words, sent_starts=[
        w in ("Peter", "Then") for w in words]))
    assert [(e.start, e.end, e.label_) for e in again.ents] == [
        (e.start, e.end, e.label_) for e in doc.ents]


def test_tagger_with_document_memory_and_context_trains_and_reloads(tmp_path):
    nlp = make_nlp(model={"context_width": 2, "document_memory": True})
    words = "Peter Blackburn spoke . Then Blackburn left .".split()
    starts = [w in ("Peter", "Then") for w in words]
    reference = Doc(nlp.vocab, words=words, sent_starts=starts,
                    ents=["B-PER", "I-PER", "O", "O", "O", "B-PER", "O", "O"])
    examples = [Example(Doc(nlp.vocab, words=words, sent_starts=starts), reference)]
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for _ in range(40):
        nlp.update(examples, sgd=optimizer)
    doc = nlp(Doc(nlp.vocab, words=words, sent_starts=starts))
    assert [e.text for e in doc.ents] == ["Peter Blackburn", "Blackburn"]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    again = loaded(Doc(loaded.vocab, words=words, sent_starts=starts))
    assert [(e.start, e.end) for e in again.ents] == [(e.start, e.end) for e in doc.ents]
