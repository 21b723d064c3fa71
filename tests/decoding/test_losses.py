"""The softmax decoder's loss: summed cross-entropy of the annotated tokens.

It is written out (decoding/losses.py) rather than taken from Thinc's
SequenceCategoricalCrossentropy because the model outputs unnormalised scores,
which the CRF decoder needs as they are, and because Thinc reports the squared
gradient as the loss where this reports the NLL, on the same scale as the CRF's.
The gradient is the same: these tests pin both facts.
"""
import numpy
import pytest
import torch
from thinc.api import NumpyOps, SequenceCategoricalCrossentropy

from spacy_rnn.decoding.losses import softmax_loss


def _problem(seed: int, n_tags: int = 5):
    rng = numpy.random.default_rng(seed)
    scores = [(rng.standard_normal((n, n_tags)) * 3).astype("float32") for n in (4, 1, 6)]
    gold = [rng.integers(-1, n_tags, size=len(s)) for s in scores]
    gold[0][0] = -1  # at least one missing token
    return scores, gold


@pytest.mark.parametrize("seed", range(3))
def test_softmax_loss_is_torch_cross_entropy_with_missing_tokens_ignored(seed):
    scores, gold = _problem(seed)
    loss, d_scores = softmax_loss(NumpyOps(), scores, gold, 5)
    X = torch.tensor(numpy.concatenate(scores), requires_grad=True)
    g = torch.tensor(numpy.concatenate(gold))
    expected = torch.nn.functional.cross_entropy(X, g, ignore_index=-1, reduction="sum")
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-5)
    assert numpy.allclose(numpy.concatenate(d_scores), X.grad.numpy(), atol=1e-6)
    missing = numpy.concatenate(gold) < 0
    assert not numpy.concatenate(d_scores)[missing].any()


def test_softmax_loss_gradient_equals_thincs_on_the_probabilities():
    scores, gold = _problem(7)
    _, d_scores = softmax_loss(NumpyOps(), scores, gold, 5)
    probs = [numpy.exp(s - s.max(1, keepdims=True)) for s in scores]
    probs = [p / p.sum(1, keepdims=True) for p in probs]
    thinc_loss = SequenceCategoricalCrossentropy(normalize=False, missing_value=-1)
    expected = thinc_loss.get_grad(probs, [g.astype("int32") for g in gold])
    for got, want in zip(d_scores, expected):
        assert numpy.allclose(got, want, atol=1e-6)
