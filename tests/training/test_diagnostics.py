"""Gradient-flow diagnostics: correct gradients, direction structure, clipping."""
import numpy
import pytest
from thinc.api import Adam, fix_random_seed

from spacy_rnn.training.diagnostics import (
    GradientDiagnostics,
    input_gradient_norms,
    pool_distance_profiles,
)

from ..corpus import make_examples, make_nlp, train

SMALL = {
    "@architectures": "spacy_rnn.BiRNNTagger.v1",
    "hidden_width": 16,
    "embed": {"@architectures": "spacy_rnn.TokenEmbed.v1", "width": 16, "vocab_size": 100,
              "vocab_width": 8, "hash_attrs": ["SHAPE"], "hash_rows": [50], "hash_width": 8,
              "char_width": None, "dropout": 0.0},
    "dropout": 0.0,
}


def _trained(**model):
    nlp = make_nlp(model={**SMALL, **model})
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=3)
    return nlp, examples


def _thinc_input_gradient(tagger, doc, t, target):
    """dL_t/dx_k through Thinc's own backprop of the encoder, as a reference."""
    model = tagger.model
    x = model.get_ref("embed").predict([doc])
    hidden, backprop = model.get_ref("encoder").begin_update(x)
    output = model.get_ref("output")
    W, b = output.get_param("W"), output.get_param("b")
    logits = hidden[0] @ W.T + b
    probs = numpy.exp(logits[t] - logits[t].max())
    probs /= probs.sum()
    probs[target] -= 1.0
    d_hidden = numpy.zeros_like(hidden[0])
    d_hidden[t] = probs @ W
    (d_x,) = backprop([d_hidden])
    return numpy.linalg.norm(d_x, axis=1)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_input_gradient_norms_match_thinc_backprop(cell):
    nlp, examples = _trained(cell=cell)
    tagger = nlp.get_pipe("rnn_tagger")
    doc = examples[0].predicted
    t, target = 3, 1
    x = tagger.model.get_ref("embed").predict([doc])
    (ours,) = input_gradient_norms(tagger.model, x, [t], [target])
    expected = _thinc_input_gradient(tagger, doc, t, target)
    numpy.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-7)


def test_forward_only_gradient_never_reaches_the_future():
    """Causality: in a forward-only encoder, L_t does not depend on x_k for k > t."""
    nlp, examples = _trained(bidirectional=False)
    model = nlp.get_pipe("rnn_tagger").model
    doc = examples[0].predicted  # 9 tokens
    x = model.get_ref("embed").predict([doc])
    (norms,) = input_gradient_norms(model, x, [4], [0])
    assert numpy.all(norms[5:] == 0.0)
    assert numpy.all(norms[:5] > 0.0)


def test_bidirectional_gradient_reaches_both_sides():
    nlp, examples = _trained()
    model = nlp.get_pipe("rnn_tagger").model
    x = model.get_ref("embed").predict([examples[0].predicted])
    (norms,) = input_gradient_norms(model, x, [4], [0])
    assert numpy.all(norms > 0.0)


def test_diagnostics_record_profile_and_norms():
    nlp, examples = _trained()
    tagger = nlp.get_pipe("rnn_tagger")
    tagger.diagnostics = GradientDiagnostics(every=2, max_distance=5)
    optimizer = nlp.resume_training()
    for _ in range(4):
        nlp.update(examples, sgd=optimizer)
    summary = tagger.diagnostics.summary()
    assert summary["updates"] == 4
    assert len(summary["grad_norm"]) == 4 and summary["grad_norm"]["max"] > 0
    # Measured on updates 0 and 2, one position per doc with tokens (13 docs).
    assert sum(c for d, c in zip(summary["distance"], summary["distance_count"]) if d == 0) == 26
    assert min(summary["distance"]) >= -5 and max(summary["distance"]) <= 5
    profile = pool_distance_profiles([summary])
    assert all(value > 0 for value in profile.values())
    tagger.diagnostics.reset()
    assert tagger.diagnostics.summary()["updates"] == 0


def test_diagnostics_do_not_change_training():
    """Same seed, with and without diagnostics: identical weights."""
    weights = []
    for diagnose in (False, True):
        fix_random_seed(0)
        nlp, examples = _trained()
        tagger = nlp.get_pipe("rnn_tagger")
        if diagnose:
            tagger.diagnostics = GradientDiagnostics(every=1)
        optimizer = nlp.resume_training()
        for _ in range(3):
            nlp.update(examples, sgd=optimizer)
        weights.append(tagger.model.to_bytes())
    assert weights[0] == weights[1]


@pytest.mark.parametrize("clip,expect_rate", [(1e-6, 1.0), (0.0, 0.0)])
def test_clipping_statistics(clip, expect_rate):
    nlp, examples = _trained()
    tagger = nlp.get_pipe("rnn_tagger")
    tagger.diagnostics = GradientDiagnostics(every=100)
    optimizer = Adam(0.001, grad_clip=clip)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    summary = tagger.diagnostics.summary()
    assert summary["clip_rate"] == expect_rate
    if clip:
        # Each tensor clipped to `clip`: the global norm after is at most sqrt(n) * clip.
        n_tensors = tagger.diagnostics.n_tensors / 3
        assert summary["grad_norm_after_clip"]["max"] <= numpy.sqrt(n_tensors) * clip * 1.0001
        assert summary["grad_norm_after_clip"]["max"] < summary["grad_norm"]["max"]
    else:
        assert summary["grad_norm_after_clip"] == summary["grad_norm"]


def test_invalid_settings_name_the_setting():
    with pytest.raises(ValueError, match="max_distance"):
        GradientDiagnostics(every=1, max_distance=0)


def test_probe_runs_in_training_mode_without_dropout():
    """cuDNN refuses an RNN's backward in eval mode, so the probe must run in training
    mode (on a GPU an eval-mode probe fails); with dropout off it must still give
    eval mode's numbers, every time, and leave mode and dropout as they were."""
    import torch

    nlp, examples = _trained(depth=2, dropout=0.5)
    tagger = nlp.get_pipe("rnn_tagger")
    module = tagger.model.get_ref("encoder").shims[0]._model
    assert module.rnn.dropout == 0.5
    seen = []
    hook = module.register_forward_pre_hook(lambda mod, args: seen.append(mod.training))
    module.eval()
    doc = examples[0].predicted
    x = tagger.model.get_ref("embed").predict([doc])
    try:
        first = input_gradient_norms(tagger.model, x, [3], [1])[0]
        second = input_gradient_norms(tagger.model, x, [3], [1])[0]
    finally:
        hook.remove()
    assert seen == [True, True]
    assert not module.training and module.rnn.dropout == 0.5
    numpy.testing.assert_array_equal(first, second)
    # The eval-mode reference, computed by hand on the CPU.
    X = torch.tensor(numpy.asarray(x[0])[None], requires_grad=True)
    hidden = module(X, torch.tensor([len(doc)]))
    W = torch.tensor(tagger.model.get_ref("output").get_param("W"))
    b = torch.tensor(tagger.model.get_ref("output").get_param("b"))
    loss = torch.nn.functional.cross_entropy((hidden[0, 3] @ W.T + b)[None], torch.tensor([1]))
    (grad,) = torch.autograd.grad(loss, X)
    numpy.testing.assert_allclose(first, grad[0].norm(dim=-1).numpy(), rtol=1e-6)
