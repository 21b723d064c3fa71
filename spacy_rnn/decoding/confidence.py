"""Exact entity confidences: P(this exact span with this label | doc), on the host in NumPy.

For a predicted entity over tokens s..e with label X, the confidence is the
total probability of the valid tag paths that contain its segment (B-X I-X ...
L-X, or U-X for one token), under the same distribution the decoder maximises:

* CRF decoder: emissions plus learned transition, start and end scores;
* softmax decoder: per-token log-probabilities, with the allowed-transition
  mask as the only transition scores (so the distribution is the per-token
  model restricted to valid sequences).

Inside the segment the path is fixed, so one forward pass (alpha up to s - 1),
one backward pass (beta from e) and the segment's own score give it exactly:

    log P = logsumexp_i(alpha[s-1, i] + trans[i, first]) + score(segment) + beta[e, last] - log Z

The recursions use the same per-group shift as training (see
forward_backward.py): exact for forbidden (-inf) transitions whatever the
emission scale. NumPy rather than torch because, as for Viterbi, each time
step is a handful of tiny array operations whose per-call overhead is the
whole cost.

Shapes: B = docs, T = longest doc, K = tags, E = entities.
"""
from typing import List, NamedTuple, Tuple

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


def segment_log_probs(
    emissions: numpy.ndarray, lengths: numpy.ndarray, chain: Chain,
    rows: numpy.ndarray, starts: numpy.ndarray, ends: numpy.ndarray, labels: numpy.ndarray,
) -> numpy.ndarray:
    """log P(tokens starts..ends of row `rows` form one entity of label `labels`).

    emissions (ndarray[B, T, K]): BILUO tag scores, tags ordered as
        tags.biluo_tag_names gives them ("O", then B, I, L, U per label).
    chain (Chain): transition, start and end scores, -inf where forbidden (make_chain).
    rows, starts, ends, labels (ndarray[E]): each entity's doc, first and last
        token (inclusive) and label index.
    RETURNS (ndarray[E]): log-probabilities (<= 0).
    """
    alphas, betas, log_z = forward_backward_numpy(emissions, lengths, chain)
    trans, start = chain.trans, chain.start
    first = 1 + 4 * labels + numpy.where(starts == ends, 3, 0)  # B-X, or U-X alone
    last = 1 + 4 * labels + numpy.where(starts == ends, 3, 2)  # L-X, or U-X
    inside = 1 + 4 * labels + 1  # I-X
    # Entering the segment: from the start, or from any tag at s - 1.
    prev = alphas[rows, numpy.maximum(starts - 1, 0)]
    entry = chain.step(prev)[numpy.arange(len(rows)), first]
    entry = numpy.where(starts == 0, start[first], entry)
    # The fixed path inside: emissions of B (or U), the I's and L, and its transitions.
    score = entry + emissions[rows, starts, first]
    n_inside = ends - starts - 1
    # Running sums of each label's I- emission (columns 2, 6, 10, ...), so a
    # segment's inside costs two lookups whatever its length.
    cum_inside = numpy.cumsum(emissions[:, :, 2::4], axis=1)
    multi = ends > starts
    through = numpy.where(
        n_inside > 0,
        trans[first, inside] + numpy.maximum(n_inside - 1, 0) * trans[inside, inside]
        + trans[inside, last], trans[first, last])
    inner = (cum_inside[rows, numpy.maximum(ends - 1, 0), labels]
             - cum_inside[rows, starts, labels])
    score = score + numpy.where(multi, through + inner + emissions[rows, ends, last], 0.0)
    return score + betas[rows, ends, last] - log_z[rows]


def entity_confidences(
    emissions: numpy.ndarray, lengths: numpy.ndarray, best: numpy.ndarray, chain: Chain,
) -> List[numpy.ndarray]:
    """Exact probabilities of the entities of each row's best BILUO path.

    emissions (ndarray[B, T, K]), best (ndarray[B, T]) padded; lengths (ndarray[B]).
    RETURNS (List[ndarray]): per row, its entities' probabilities, by start.
    """
    inside = numpy.arange(best.shape[1])[None, :] < lengths[:, None]
    code = numpy.where(inside & (best > 0), (best - 1) % 4, -1)  # 0 B, 1 I, 2 L, 3 U
    rows, starts = numpy.nonzero((code == 0) | (code == 3))
    _, ends = numpy.nonzero((code == 2) | (code == 3))
    probs = numpy.zeros((0,), dtype="float32")
    if len(rows):
        labels = (best[rows, starts] - 1) // 4
        log_p = segment_log_probs(emissions, lengths, chain, rows, starts, ends, labels)
        probs = numpy.clip(numpy.exp(log_p), 0.0, 1.0).astype("float32")
    return numpy.split(probs, numpy.cumsum(numpy.bincount(rows, minlength=len(best)))[:-1])
