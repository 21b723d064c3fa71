"""Best valid tag sequences on the host: constrained scores, grouping by length,
and the softmax decoder's shortcut (a valid per-token argmax is the Viterbi path).
"""
from typing import List, Tuple

import numpy
from thinc.api import Ops
from thinc.types import Floats2d

from ..tags import Masks
from .crf import viterbi_decode_numpy


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
