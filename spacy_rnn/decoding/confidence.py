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

alpha, beta and log Z come from forward_backward_numpy.py (the training
recursion's per-group shift, on the host): exact for forbidden (-inf)
transitions whatever the emission scale.

Shapes: B = docs, T = longest doc, K = tags, E = entities.
"""
from typing import List

import numpy

from .forward_backward_numpy import Chain, forward_backward_numpy


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
