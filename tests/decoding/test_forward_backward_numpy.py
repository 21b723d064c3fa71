"""The host forward-backward (decoding confidences) equals the training one
(forward_backward.LogPartition) on constrained problems of any emission scale."""
import numpy
import pytest
import torch

from spacy_rnn.decoding.forward_backward import LogPartition
from spacy_rnn.decoding.forward_backward_numpy import forward_backward_numpy, make_chain
from spacy_rnn.tags import allowed_biluo_transitions, biluo_tag_names


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e3])
@pytest.mark.parametrize("seed", range(3))
def test_log_z_equals_the_training_recursion(seed, scale):
    names = biluo_tag_names(["LOC", "PER"])
    masks = allowed_biluo_transitions(names)
    rng = numpy.random.default_rng(seed)
    trans, start, end = (numpy.where(m, rng.standard_normal(m.shape), -numpy.inf)
                         .astype("float32") for m in masks)
    lengths = numpy.asarray([7, 1, 4])
    emissions = (rng.standard_normal((3, 7, len(names))) * scale).astype("float32")
    alphas, betas, log_z = forward_backward_numpy(emissions, lengths, make_chain(trans, start, end))
    mask = torch.arange(7)[None, :] < torch.as_tensor(lengths)[:, None]
    expected = LogPartition.apply(torch.as_tensor(emissions), mask, torch.as_tensor(trans),
                                  torch.as_tensor(start), torch.as_tensor(end))
    assert numpy.all(numpy.isfinite(log_z))
    assert numpy.allclose(log_z, expected.numpy(), rtol=1e-5, atol=1e-3 * scale)
    # alpha at a row's last position plus the end score, and beta at 0 plus the
    # start and first emission, both give log Z back.
    for b, n in enumerate(lengths):
        from_alpha = numpy.logaddexp.reduce(alphas[b, n - 1] + end)
        from_beta = numpy.logaddexp.reduce(start + emissions[b, 0] + betas[b, 0])
        assert from_alpha == pytest.approx(log_z[b], rel=1e-5, abs=1e-3 * scale)
        assert from_beta == pytest.approx(log_z[b], rel=1e-5, abs=1e-3 * scale)
