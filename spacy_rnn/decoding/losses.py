"""The two training losses, with respect to the tag scores: token-level softmax
cross-entropy and the CRF's sequence likelihood. Gold tags < 0 are missing:
masked out of the cross-entropy, marginalised in the CRF.
"""
from typing import List, Sequence, Tuple

import numpy
import torch
from thinc.api import Model, Ops, torch2xp, xp2torch
from thinc.types import Floats2d

from ..gold import MISSING
from .crf import constrained_scores, crf_nll

CRF_PARAMS = ("T", "start", "end")


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
    allowed: Tuple[numpy.ndarray, ...],
) -> Tuple[float, List[Floats2d], numpy.ndarray, List[int]]:
    """Summed CRF negative log-likelihood under the allowed transitions.

    The gradient w.r.t. the scores is returned; that of the transition scores
    is added to the `crf` node's parameters (`inc_grad`), so the optimizer
    updates them with the rest.

    RETURNS (Tuple): the loss, the gradient per doc, the NLL per non-empty doc
        (+inf: no valid path agrees with that doc's gold) and those docs' indices.
    """
    lengths = [len(s) for s in scores]
    keep = [i for i, n in enumerate(lengths) if n]
    d_scores = [ops.alloc2f(*s.shape) for s in scores]
    if not keep:
        return 0.0, d_scores, numpy.zeros((0,), dtype="float32"), keep
    emissions = xp2torch(ops.pad([scores[i] for i in keep]), requires_grad=True)
    mask = length_mask([lengths[i] for i in keep], emissions.device)
    gold_padded = numpy.full(mask.shape, MISSING, dtype="int64")
    for row, i in enumerate(keep):
        gold_padded[row, : lengths[i]] = gold[i]
    gold_t = torch.as_tensor(gold_padded, device=emissions.device)
    leaves = [xp2torch(crf.get_param(name), requires_grad=True) for name in CRF_PARAMS]
    masks = tuple(torch.as_tensor(a, device=emissions.device) for a in allowed)
    trans, start, end = constrained_scores(*leaves, masks)  # type: ignore[arg-type]
    per_doc = crf_nll(emissions, gold_t, mask, trans, start, end)
    loss = per_doc.sum()
    loss.backward()
    for name, leaf in zip(CRF_PARAMS, leaves):
        crf.inc_grad(name, torch2xp(leaf.grad))
    d_padded = torch2xp(emissions.grad)
    for row, i in enumerate(keep):
        d_scores[i] = ops.as_contig(d_padded[row, : lengths[i]])
    return float(loss.item()), d_scores, per_doc.detach().cpu().numpy(), keep


def length_mask(lengths: Sequence[int], device: torch.device) -> torch.Tensor:
    lengths_t = torch.as_tensor(lengths, device=device)
    return torch.arange(int(max(lengths)), device=device).unsqueeze(0) < lengths_t.unsqueeze(1)
