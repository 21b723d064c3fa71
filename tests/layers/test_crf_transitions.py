"""The CRF transition layer: its forward masks forbidden entries with -inf, and
its backward hands the gradient of the allowed entries, and only those, to the
parameters the optimizer updates."""
import numpy

from spacy_rnn.layers.crf_transitions import PARAMS, CRFTransitions
from spacy_rnn.tags import allowed_biluo_transitions, biluo_tag_names


def _layer(n_tags: int, seed: int = 0):
    layer = CRFTransitions(n_tags)
    layer.initialize()
    rng = numpy.random.default_rng(seed)
    for name in PARAMS:
        layer.set_param(name, rng.standard_normal(layer.get_param(name).shape).astype("float32"))
    return layer


def test_forward_is_the_learned_scores_with_forbidden_entries_minus_inf():
    names = biluo_tag_names(["PER", "LOC"])
    allowed = allowed_biluo_transitions(names)
    layer = _layer(len(names))
    scores = layer.predict(allowed)
    for name, mask, got in zip(PARAMS, allowed, scores):
        learned = layer.get_param(name)
        assert got.dtype == numpy.float32
        assert numpy.array_equal(got[mask], learned[mask])
        assert numpy.all(numpy.isneginf(got[~mask]))
    # e.g. O -> I-PER is forbidden, O -> B-PER allowed
    o, b, i = names.index("O"), names.index("B-PER"), names.index("I-PER")
    assert numpy.isneginf(scores[0][o, i]) and numpy.isfinite(scores[0][o, b])


def test_backward_adds_the_allowed_entries_gradient_only():
    names = biluo_tag_names(["PER"])
    allowed = allowed_biluo_transitions(names)
    layer = _layer(len(names), seed=1)
    for name in PARAMS:
        layer.set_grad(name, numpy.ones_like(layer.get_param(name)))
    _, backprop = layer(allowed, is_train=True)
    rng = numpy.random.default_rng(2)
    d_scores = tuple(rng.standard_normal(m.shape).astype("float32") for m in allowed)
    backprop(d_scores)
    for name, mask, d in zip(PARAMS, allowed, d_scores):
        expected = 1.0 + numpy.where(mask, d, 0.0)
        assert numpy.allclose(layer.get_grad(name), expected), name
