"""The exact forward-backward of forward_backward.py, on the host in NumPy, for
decoding-time entity confidences (confidence.py).

The same per-group shift as in training keeps it exact under forbidden (-inf)
transitions whatever the emission scale. NumPy rather than torch because, as for
Viterbi, each time step is a handful of tiny array operations whose per-call
overhead is the whole cost.

Shapes: B = docs, T = longest doc, K = tags.
"""
from typing import NamedTuple, Tuple

import numpy


class HostLogStep:
    """out[b, j] = logsumexp_i(x[b, i] + scores[i, j]), exact under -inf scores."""

    def __init__(self, scores: numpy.ndarray) -> None:
        allowed = numpy.isfinite(scores)
        sets, of_target = numpy.unique(allowed.T, axis=0, return_inverse=True)
        self.dense = bool((sets.sum(axis=0) > 1).any())
        self.scores = scores
        col_shift = numpy.where(allowed.any(axis=0), numpy.max(
            numpy.where(allowed, scores, -numpy.inf), axis=0), 0.0)
        self.col_shift = col_shift.astype(scores.dtype)
        with numpy.errstate(under="ignore"):
            self.exp_scores = numpy.exp(scores - self.col_shift[None, :])
        self.of_target = of_target.reshape(-1)
        # Each tag's source group (its successors' predecessor set); tags that
        # precede nothing get a group of their own.
        member = sets.argmax(axis=0)
        self.of_source = numpy.where(sets.any(axis=0), member, len(sets))
        self.order = numpy.argsort(self.of_source, kind="stable")
        sorted_groups = self.of_source[self.order]
        self.starts = numpy.flatnonzero(numpy.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        # Column of the reduceat output that holds each group's maximum.
        slot = numpy.zeros(len(sets) + 1, dtype="int64")
        slot[sorted_groups[self.starts]] = numpy.arange(len(self.starts))
        self.source_slot = slot[self.of_source]
        self.target_slot = slot[self.of_target]

    def __call__(self, x: numpy.ndarray) -> numpy.ndarray:
        with numpy.errstate(divide="ignore", under="ignore", invalid="ignore"):
            if self.dense:
                full = x[:, :, None] + self.scores[None]
                shift = _finite_or_zero(full.max(axis=1, keepdims=True))
                return numpy.log(numpy.exp(full - shift).sum(axis=1)) + shift[:, 0]
            group_max = numpy.maximum.reduceat(x[:, self.order], self.starts, axis=1)
            # An all -inf group: any finite shift works (its exp terms are 0).
            numpy.maximum(group_max, _LOWEST, out=group_max)
            total = numpy.exp(x - group_max[:, self.source_slot]) @ self.exp_scores
            return numpy.log(total) + group_max[:, self.target_slot] + self.col_shift


_LOWEST = -1.0e30


def _finite_or_zero(x: numpy.ndarray) -> numpy.ndarray:
    return numpy.where(numpy.isfinite(x), x, 0.0).astype(x.dtype)


class Chain(NamedTuple):
    """Transition, start and end scores (-inf where forbidden) with their log-space
    steps forwards and backwards, built once per decode call, not once per group."""

    trans: numpy.ndarray
    start: numpy.ndarray
    end: numpy.ndarray
    step: HostLogStep
    step_back: HostLogStep


def make_chain(trans: numpy.ndarray, start: numpy.ndarray, end: numpy.ndarray) -> Chain:
    return Chain(trans, start, end, HostLogStep(trans),
                 HostLogStep(numpy.ascontiguousarray(trans.T)))


def forward_backward_numpy(
    emissions: numpy.ndarray, lengths: numpy.ndarray, chain: Chain,
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """alpha, beta (ndarray[B, T, K]) and log Z (ndarray[B]) of padded rows.

    alpha[b, t, j]: log-sum of all allowed prefixes ending in tag j at t;
    beta[b, t, i]: of all allowed continuations after tag i at t (end score
    included). Past a row's length both are undefined.
    """
    batch, length, _ = emissions.shape
    # Longest rows first, as in viterbi_decode_numpy: the rows still running at
    # step t are a prefix, so each step works on those rows only.
    order = numpy.argsort(-lengths, kind="stable")
    em, lens = emissions[order], lengths[order]
    running = (lens[None, :] > numpy.arange(length)[:, None]).sum(axis=1)
    alphas = numpy.empty_like(em)
    alphas[:, 0] = chain.start[None, :] + em[:, 0]
    for t in range(1, length):
        n = running[t]
        alphas[:n, t] = chain.step(alphas[:n, t - 1]) + em[:n, t]
    # A row's last position is followed by the end score alone.
    betas = numpy.empty_like(em)
    betas[:] = chain.end
    for t in range(length - 2, -1, -1):
        n = running[t + 1]
        betas[:n, t] = chain.step_back(betas[:n, t + 1] + em[:n, t + 1])
    final = alphas[numpy.arange(batch), lens - 1] + chain.end[None, :]
    shift = _finite_or_zero(final.max(axis=1, keepdims=True))
    with numpy.errstate(divide="ignore", under="ignore"):
        log_z = numpy.log(numpy.exp(final - shift).sum(axis=1)) + shift[:, 0]
    unsort = numpy.empty_like(order)
    unsort[order] = numpy.arange(batch)
    return alphas[unsort], betas[unsort], log_z[unsort]
