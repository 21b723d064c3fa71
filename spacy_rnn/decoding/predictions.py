"""From tag scores to what `predict` returns: the best valid tag sequence per
doc and, when asked, each predicted entity's exact probability.

The component supplies what it owns (the allowed transitions and the transition
scores, learned or not); this module batches the docs by length, runs the
decoder (viterbi.py) and the confidences (confidence.py) on the host.
"""
from typing import List, Optional, Tuple

import numpy
from thinc.api import Ops
from thinc.types import Floats2d

from ..tags import Masks
from .confidence import entity_confidences
from .forward_backward_numpy import make_chain
from .viterbi import decode_padded, length_groups


class TagPredictions(list):
    """What `predict` returns: one array of tag indices per doc (a list, as
    spaCy's Tagger returns), plus `confidences`, one array per doc of its
    entities' probabilities in order of their start (None when off)."""

    confidences: Optional[List[numpy.ndarray]] = None


def empty_predictions(n_docs: int, confidence: bool) -> TagPredictions:
    """Predictions for docs without tokens."""
    out = TagPredictions(numpy.zeros((0,), dtype="int64") for _ in range(n_docs))
    if confidence:
        out.confidences = [numpy.zeros((0,), dtype="float32") for _ in range(n_docs)]
    return out


def decode_tags(
    ops: Ops, scores: List[Floats2d], allowed: Masks, transitions: Tuple[numpy.ndarray, ...],
    *, softmax: bool, confidence_scale: Optional[float],
) -> TagPredictions:
    """Best valid tag sequence per doc: Viterbi under the allowed transitions.

    transitions: the constrained transition, start and end scores on the host
        (-inf = forbidden; zeros elsewhere for the softmax decoder).
    softmax (bool): decode per-token log-probabilities (softmax decoder) rather
        than the raw scores (CRF decoder).
    confidence_scale (Optional[float]): None = no confidences; otherwise they are
        computed with every score (emissions and transitions) multiplied by it,
        1 / temperature, which leaves the best path as it is.

    Runs on the host, in NumPy, after one device->host copy per group of docs of
    similar length, so padding at most doubles a group's size (see viterbi.py).
    """
    lengths = numpy.asarray([len(s) for s in scores], dtype="int64")
    out = empty_predictions(len(scores), confidence_scale is not None)
    trans, start, end = transitions
    scale = 1.0 if confidence_scale is None else confidence_scale
    chain = None if confidence_scale is None else make_chain(
        trans * scale, start * scale, end * scale)
    for group in length_groups(lengths):
        emissions, best = decode_padded(
            ops, [scores[i] for i in group], lengths[group], transitions, allowed,
            softmax=softmax)
        for row, i in enumerate(group):
            out[i] = best[row, : lengths[i]]
        if chain is not None:
            for i, probs in zip(group, entity_confidences(
                    emissions * scale, lengths[group], best, chain)):
                out.confidences[i] = probs  # type: ignore[index]
    return out
