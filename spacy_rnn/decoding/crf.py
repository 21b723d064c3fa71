"""The linear-chain CRF's training objective, batched in PyTorch: the negative
log-likelihood of the gold tags under the allowed transitions, which also handles
partial annotation (missing gold tags are marginalised, never read as "O").

Pure functions over padded tensors; the exact log partition function and its
gradient are in forward_backward.py, the learned transition scores in
layers/crf_transitions.py, and decoding (for both decoders) in viterbi.py.

Shapes: B = batch, T = longest sequence, K = number of tags.
"""
import math

import torch

from .forward_backward import LogPartition


def _masked_forward(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    trans: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Log partition function, exact under -inf constraints, with its exact gradient
    (see forward_backward.py).

    emissions (Tensor[B, T, K]): per-token tag scores; -inf rules a tag out.
    mask (BoolTensor[B, T]): True for real tokens; each row is a prefix of Trues.
    trans (Tensor[K, K]): trans[i, j] scores tag i followed by tag j; -inf forbids it.
    start, end (Tensor[K]): scores for the first and last tag; -inf forbids.
    RETURNS (Tensor[B]): log-sum-exp of the scores of all allowed paths
        (-inf for a row with none).
    """
    return LogPartition.apply(emissions, mask, trans, start, end)


def crf_nll(
    emissions: torch.Tensor,
    gold: torch.Tensor,
    mask: torch.Tensor,
    trans: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Negative log-likelihood of the gold tags under a linear-chain CRF.

    Missing annotation is marginalised: a position whose gold index is -1 may
    take any tag, so the loss is log Z(all paths) - log Z(paths agreeing with
    the annotated positions). With full annotation this is the usual CRF NLL;
    a fully unannotated sequence contributes exactly 0.

    emissions (Tensor[B, T, K]): per-token tag scores.
    gold (LongTensor[B, T]): gold tag index, or -1 where annotation is missing
        (padding is ignored through `mask`).
    mask (BoolTensor[B, T]): True for real tokens.
    trans, start, end: transition scores, -inf where forbidden
        (layers/crf_transitions.py).
    RETURNS (Tensor[B]): the loss per sequence, >= 0; +inf for a sequence
        whose annotated tags no allowed path agrees with.
    """
    n_tags = emissions.shape[2]
    known = gold >= 0
    allowed = torch.nn.functional.one_hot(gold.clamp(min=0), n_tags).bool()
    allowed = allowed | ~known.unsqueeze(2)
    # -inf, not a large negative number: a finite penalty is one more score a
    # path can outweigh; the forward-backward (forward_backward.py) keeps -inf
    # exact, with zero gradients.
    gold_emissions = emissions.masked_fill(~allowed, -math.inf)
    # Both partition functions in one batched pass: half the per-step overhead.
    both = _masked_forward(
        torch.cat([emissions, gold_emissions]), torch.cat([mask, mask]), trans, start, end)
    log_z, log_z_gold = both.split(emissions.shape[0])
    return log_z - log_z_gold
