"""The two training losses, with respect to the tag scores: token-level softmax
cross-entropy and the CRF's sequence likelihood. Gold tags < 0 are missing:
masked out of the cross-entropy, marginalised in the CRF.
"""
from typing import List, Sequence, Tuple

import numpy
import torch
from thinc.api import Model, Ops, torch2xp, xp2torch
from thinc.types import Floats2d

from ..errors import Errors
from ..gold import MISSING
from .crf import crf_nll


def softmax_loss(
    ops: Ops, scores: List[Floats2d], gold: List[numpy.ndarray], n_tags: int
) -> Tuple[float, List[Floats2d]]:
    """Summed cross-entropy of the known tags, and its gradient per doc."""
    lengths = [len(s) for s in scores]
    X = ops.flatten(scores) if sum(lengths) else ops.alloc2f(0, n_tags)
    g = ops.asarray1i(numpy.concatenate(gold)) if gold else ops.alloc1i(0)
    known = g >= 0
    shifted = X - X.max(axis=1, keepdims=True)
    log_z = ops.xp.log(ops.xp.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_z
    rows = ops.xp.arange(len(g))[known]
    loss = -float(log_probs[rows, g[known]].sum())
    d_X = ops.xp.exp(log_probs)
    d_X[rows, g[known]] -= 1.0
    d_X[~known] = 0.0
    return loss, ops.unflatten(d_X, lengths) if lengths else []


def crf_loss(
    ops: Ops, scores: List[Floats2d], gold: List[numpy.ndarray], crf: Model,
    allowed: Tuple[numpy.ndarray, ...], tag_names: Sequence[str], name: str,
) -> Tuple[float, List[Floats2d]]:
    """Summed CRF negative log-likelihood under the allowed transitions.

    crf (Model): the tagger's `crf_transitions` layer (layers/crf_transitions.py):
        called on the masks for the constrained transition scores, and given
        their gradient back, so the optimizer updates them with the rest.
    tag_names, name: for the error when a doc's gold breaks the tag scheme.
    RETURNS (Tuple[float, List[Floats2d]]): the loss and its gradient per doc.
    """
    lengths = [len(s) for s in scores]
    keep = [i for i, n in enumerate(lengths) if n]
    d_scores = [ops.alloc2f(*s.shape) for s in scores]
    if not keep:
        return 0.0, d_scores
    emissions = xp2torch(ops.pad([scores[i] for i in keep]), requires_grad=True)
    mask = length_mask([lengths[i] for i in keep], emissions.device)
    gold_padded = numpy.full(mask.shape, MISSING, dtype="int64")
    for row, i in enumerate(keep):
        gold_padded[row, : lengths[i]] = gold[i]
    gold_t = torch.as_tensor(gold_padded, device=emissions.device)
    transitions, backprop_crf = crf(allowed, is_train=True)
    leaves = [xp2torch(x, requires_grad=True) for x in transitions]
    per_doc = crf_nll(emissions, gold_t, mask, *leaves)
    _check_gold_paths(per_doc.detach().cpu().numpy(), gold, keep, tag_names, name)
    loss = per_doc.sum()
    loss.backward()
    backprop_crf(tuple(torch2xp(leaf.grad) for leaf in leaves))
    d_padded = torch2xp(emissions.grad)
    for row, i in enumerate(keep):
        d_scores[i] = ops.as_contig(d_padded[row, : lengths[i]])
    return float(loss.item()), d_scores


def _check_gold_paths(per_doc: numpy.ndarray, gold: List[numpy.ndarray], rows: List[int],
                      tag_names: Sequence[str], name: str) -> None:
    """An infinite NLL means the annotation itself breaks the scheme: say so,
    rather than blame the learning rate (RNN015)."""
    bad = numpy.flatnonzero(numpy.isposinf(per_doc))
    if len(bad):
        doc = rows[int(bad[0])]
        tags = " ".join(tag_names[t] if t >= 0 else "-" for t in gold[doc])
        raise ValueError(Errors.RNN060.format(name=name, doc=doc, tags=tags))


def length_mask(lengths: Sequence[int], device: torch.device) -> torch.Tensor:
    lengths_t = torch.as_tensor(lengths, device=device)
    return torch.arange(int(max(lengths)), device=device).unsqueeze(0) < lengths_t.unsqueeze(1)
