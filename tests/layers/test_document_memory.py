"""Document memory (layers/document_memory.py): each token's state beside the mean
state of its document's tokens of the same lowercase form."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc

from .stubs import WIDTH, FixedEmbed


@pytest.fixture
def nlp():
    return spacy.blank("en")


def test_document_memory_pools_states_of_the_same_form(nlp):
    """Each token gets the mean state of the doc's tokens of its lowercase form
    (Blackburn twice: both get their mean); gradients match finite differences."""
    from spacy_rnn.layers.document_memory import DocumentMemory

    rng = numpy.random.default_rng(3)
    X = rng.normal(size=(5, WIDTH)).astype("f")
    doc = Doc(nlp.vocab, words=["Peter", "Blackburn", "met", "BLACKBURN", "."])
    layer = DocumentMemory(FixedEmbed({5: X}))
    layer.initialize()
    (Y,), backprop = layer([doc], is_train=True)
    assert Y.shape == (5, 2 * WIDTH)
    numpy.testing.assert_allclose(Y[:, :WIDTH], X)
    mean = (X[1] + X[3]) / 2
    numpy.testing.assert_allclose(Y[1, WIDTH:], mean, atol=1e-6)
    numpy.testing.assert_allclose(Y[3, WIDTH:], mean, atol=1e-6)
    numpy.testing.assert_allclose(Y[0, WIDTH:], X[0], atol=1e-6)
    weights = rng.normal(size=Y.shape).astype("f")
    backprop([weights])
    (dX,) = layer.layers[0].attrs["dXs"]
    # d/dX[1] of sum(W * Y): W[1, :w] + (W[1, w:] + W[3, w:]) / 2
    expected = weights[:, :WIDTH].copy()
    expected[[0, 2, 4]] += weights[[0, 2, 4], WIDTH:]
    expected[[1, 3]] += (weights[1, WIDTH:] + weights[3, WIDTH:]) / 2
    numpy.testing.assert_allclose(dX, expected, atol=1e-6)
