"""Best valid tag sequences on the host, for both decoders: batched Viterbi in
NumPy, the softmax decoder's transition scores and its shortcut (a valid
per-token argmax is the Viterbi path), and grouping docs by length.

* softmax decoder: Viterbi over per-token log-probabilities, with the
  allowed-transition mask as the only transition scores;
* CRF decoder: the same Viterbi over emission scores plus the learned transition,
  start and end scores (layers/crf_transitions.py), on top of the same mask.
"""
from typing import List, Tuple

import numpy
from thinc.api import Ops
from thinc.types import Floats2d

from ..tags import Masks


def mask_scores(allowed: Masks) -> Tuple[numpy.ndarray, ...]:
    """The softmax decoder's transition, start and end scores (float32, on the
    host): 0 where allowed, -inf where forbidden, so no emission score, however
    large, can make a forbidden path win. (The CRF decoder's learned scores are
    masked the same way by layers/crf_transitions.py.)"""
    return tuple(numpy.where(numpy.asarray(a), 0.0, -numpy.inf).astype("float32")
                 for a in allowed)


def valid_paths(paths: numpy.ndarray, lengths: numpy.ndarray, allowed: Masks) -> numpy.ndarray:
    """Which rows of `paths` (padded tag indices) obey the allowed transitions."""
    a_trans, a_start, a_end = (numpy.asarray(a) for a in allowed)
    rows = numpy.arange(len(paths))
    valid = a_start[paths[:, 0]] & a_end[paths[rows, lengths - 1]]
    if paths.shape[1] > 1:
        inside = numpy.arange(1, paths.shape[1])[None, :] < lengths[:, None]
        steps = a_trans[paths[:, :-1], paths[:, 1:]]
        valid &= numpy.all(steps | ~inside, axis=1)
    return valid


def decode_padded(
    ops: Ops, scores: List[Floats2d], lengths: numpy.ndarray, scores_host: Tuple[numpy.ndarray, ...],
    allowed: Masks, softmax: bool,
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The emissions the decoder reads (ndarray[B, T, K]: the scores, or their
    log-softmax) and the best valid paths (ndarray[B, T]) of non-empty docs,
    padded to the longest.

    With the softmax decoder every allowed transition scores 0, so when a doc's
    per-token argmax is already a valid sequence it *is* the Viterbi path, and
    only the other docs go through the time loop.
    """
    trans, start, end = scores_host
    emissions = ops.to_numpy(ops.pad(scores)).astype("float32")
    if not softmax:
        return emissions, viterbi_decode_numpy(emissions, lengths, trans, start, end)
    emissions = log_softmax(emissions)
    best = emissions.argmax(axis=-1)
    redo = numpy.flatnonzero(~valid_paths(best, lengths, allowed))
    if len(redo):
        best[redo] = viterbi_decode_numpy(emissions[redo], lengths[redo], trans, start, end)
    return emissions, best


def length_groups(lengths: numpy.ndarray) -> List[numpy.ndarray]:
    """Indices of the non-empty docs, longest first, in groups whose lengths are
    all above half the group's longest, so padding a group at most doubles it.

    Why: padding a whole batch to its longest doc would make one long doc among
    many short ones cost batch size x its length (gigabytes for a 100k-token doc
    in a batch of 1000).
    """
    order = numpy.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    groups: List[numpy.ndarray] = []
    while len(order):
        n = int(numpy.count_nonzero(2 * lengths[order] > lengths[order[0]]))
        groups.append(order[:n])
        order = order[n:]
    return groups


def log_softmax(x: numpy.ndarray) -> numpy.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - numpy.log(numpy.exp(shifted).sum(axis=-1, keepdims=True))


def viterbi_decode_numpy(
    emissions: numpy.ndarray,
    lengths: numpy.ndarray,
    trans: numpy.ndarray,
    start: numpy.ndarray,
    end: numpy.ndarray,
) -> numpy.ndarray:
    """Best tag sequence per row, batched, on the host in NumPy.

    The time loop is inherently sequential, and with a tag set this small each
    step is a few tiny array operations, so per-operation overhead is the whole
    cost: NumPy's is several times lower than torch's (and a GPU's kernel
    launches are slower still), which made this loop two thirds of the
    inference time on a 10,000-token doc.

    emissions (ndarray[B, T, K]); lengths (ndarray[B], each >= 1);
    trans (ndarray[K, K]); start, end (ndarray[K]).
    RETURNS (ndarray[B, T]): int64 tag indices; positions past a row's length are 0.
    """
    batch, length, n_tags = emissions.shape
    lengths = numpy.asarray(lengths)
    # Rows longest first: at step t the rows still running are a prefix, so
    # each step works on those rows only, and a batch of short docs padded to
    # one long doc costs its tokens, not rows x longest.
    order = numpy.argsort(-lengths, kind="stable")
    emissions, lengths = emissions[order], lengths[order]
    running = (lengths[None, :] > numpy.arange(length)[:, None]).sum(axis=1)
    score = start[None, :] + emissions[:, 0]
    backpointers = numpy.zeros((max(length - 1, 0), batch, n_tags), dtype="int64")
    for t in range(1, length):
        n = running[t]
        candidates = score[:n, :, None] + trans[None, :, :]
        idx = candidates.argmax(axis=1)
        score[:n] = candidates.max(axis=1) + emissions[:n, t]
        backpointers[t - 1, :n] = idx
    current = (score + end[None, :]).argmax(axis=1)
    tags = numpy.zeros((batch, length), dtype="int64")
    tags[numpy.arange(batch), lengths - 1] = current
    for t in range(length - 1, 0, -1):
        # The rows whose last position is t or later: the first running[t].
        n = running[t]
        current[:n] = backpointers[t - 1, :n][numpy.arange(n), current[:n]]
        tags[:n, t - 1] = current[:n]
    unsorted = numpy.empty_like(tags)
    unsorted[order] = tags
    return unsorted
