"""Exact forward-backward for a linear chain with forbidden (-inf) transitions.

The forward algorithm's step, out[b, j] = logsumexp_i(alpha[b, i] + trans[i, j]),
is fastest as a matrix product in shifted probability space,
exp(alpha - shift) @ exp(trans). With one shift per row (the row's maximum)
that product underflows: under the BILUO constraints, I-X and L-X can only be
reached from B-X or I-X, and when those score more than float32's ~87 nats of
exp range below the row's best tag, the true (finite) score of I-X reads as 0.
A forbidden path could then dominate log Z.

The fix keeps the matrix product but shifts each *group of predecessors* by
its own maximum. Tags with the same set of allowed predecessors form a group
(for BILUO: {O, B-*, U-*} are reached from {O, L-*, U-*}, and {I-X, L-X} from
{B-X, I-X}), and these predecessor sets partition the tags, so each column's
sum runs over one group only and is shifted by that group's maximum: its best
term is exp(0) (times a transition score), never an underflow, whatever the
emission scale. The same holds backwards with successor sets. A mask whose
sets overlap (no such structure) falls back to a dense [B, K, K] logsumexp,
exact but several times slower.

The gradient of log Z is computed from the marginals (one backward
recursion), not by autograd through the time loop, which would record and
replay a dozen small ops per step.

Shapes: B = batch, T = longest sequence, K = number of tags, G = groups.
"""
from typing import NamedTuple, Optional

import torch


class ShiftGroups(NamedTuple):
    """How tags share predecessor sets under a transition mask (see module docstring)."""

    of_source: torch.Tensor  # LongTensor[K]: the group each tag belongs to as a predecessor
    of_target: torch.Tensor  # LongTensor[K]: the group each tag's predecessors form
    n_groups: int


def shift_groups(allowed: torch.Tensor) -> Optional[ShiftGroups]:
    """Group tags by their allowed predecessor sets, or None if the sets overlap.

    allowed (BoolTensor[K, K]): allowed[i, j] says tag j may follow tag i.
    RETURNS (Optional[ShiftGroups]): None when a tag is an allowed predecessor
        in two different sets (then one shift per group cannot be exact).
    """
    sets, of_target = torch.unique(allowed.t(), dim=0, return_inverse=True)  # [G, K]
    membership = sets.sum(dim=0)
    if bool((membership > 1).any()):
        return None
    n_groups = sets.shape[0]
    of_source = sets.long().argmax(dim=0)
    # A tag that precedes nothing gets a group of its own, so its score never
    # shifts (and so never underflows) a real group.
    of_source = torch.where(membership == 0, torch.full_like(of_source, n_groups), of_source)
    return ShiftGroups(of_source, of_target, n_groups + 1)


def _group_max(scores: torch.Tensor, groups: ShiftGroups) -> torch.Tensor:
    """Maximum of `scores` [..., K] within each source group, [..., G]; 0 for an all -inf group."""
    index = groups.of_source.expand(scores.shape)
    out = scores.new_full((*scores.shape[:-1], groups.n_groups), -torch.inf)
    out = out.scatter_reduce(-1, index, scores, reduce="amax", include_self=True)
    return out.nan_to_num(neginf=0.0)


class LogStep:
    """out[b, j] = logsumexp_i(x[b, i] + scores[i, j]) for a fixed [K, K] score matrix."""

    def __init__(self, scores: torch.Tensor) -> None:
        allowed = torch.isfinite(scores)
        self.groups = shift_groups(allowed)
        self.scores = scores
        # Per-column shift of the transition scores, so exp() cannot overflow.
        col_max = scores.amax(dim=0).nan_to_num(neginf=0.0)
        self.col_shift = col_max
        self.exp_scores = torch.exp(scores - col_max.unsqueeze(0))  # 0 where forbidden

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor[B, K]) -> Tensor[B, K]; -inf where no allowed predecessor is finite."""
        if self.groups is None:
            return dense_log_matmul(x, self.scores)
        shift = _group_max(x, self.groups)  # [B, G]
        total = torch.exp(x - shift[:, self.groups.of_source]) @ self.exp_scores
        return torch.log(total) + shift[:, self.groups.of_target] + self.col_shift


def dense_log_matmul(x: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """The same step over a [B, K, K] tensor, each column shifted by its own maximum."""
    full = x.unsqueeze(2) + scores.unsqueeze(0)
    shift = full.amax(dim=1, keepdim=True).nan_to_num(neginf=0.0)
    return torch.log(torch.exp(full - shift).sum(dim=1)) + shift.squeeze(1)


def log_sum(scores: torch.Tensor) -> torch.Tensor:
    """logsumexp over the last dimension; -inf (not NaN) where every entry is -inf."""
    shift = scores.amax(dim=-1, keepdim=True).nan_to_num(neginf=0.0)
    return (torch.log(torch.exp(scores - shift).sum(dim=-1, keepdim=True)) + shift).squeeze(-1)


def forward_scores(
    emissions: torch.Tensor, mask: torch.Tensor, step: LogStep, start: torch.Tensor
) -> torch.Tensor:
    """alpha[b, t, j]: log-sum of the scores of all allowed prefixes ending in tag j at t.

    Past a row's length alpha repeats its last real value, so alpha[:, -1] is
    every row's final alpha. RETURNS (Tensor[B, T, K]).
    """
    alphas = torch.empty_like(emissions)
    alpha = start.unsqueeze(0) + emissions[:, 0]
    alphas[:, 0] = alpha
    for t in range(1, emissions.shape[1]):
        alpha = torch.where(mask[:, t].unsqueeze(1), step(alpha) + emissions[:, t], alpha)
        alphas[:, t] = alpha
    return alphas


def backward_scores(
    emissions: torch.Tensor, mask: torch.Tensor, step_back: LogStep, end: torch.Tensor
) -> torch.Tensor:
    """beta[b, t, i]: log-sum of the scores of all allowed continuations after tag i at t
    (end score included, emission at t excluded). `step_back` runs over trans.T.
    RETURNS (Tensor[B, T, K])."""
    betas = torch.empty_like(emissions)
    beta = end.unsqueeze(0).expand(emissions.shape[0], -1)
    betas[:, -1] = beta
    for t in range(emissions.shape[1] - 2, -1, -1):
        # Where t + 1 is padding, t is the row's last token: only the end score follows.
        beta = torch.where(mask[:, t + 1].unsqueeze(1), step_back(beta + emissions[:, t + 1]),
                           beta)
        betas[:, t] = beta
    return betas


class LogPartition(torch.autograd.Function):
    """log Z of every row; its gradient is the expected tag and transition counts."""

    @staticmethod
    def forward(ctx, emissions, mask, trans, start, end):  # type: ignore[override]
        step = LogStep(trans)
        alphas = forward_scores(emissions, mask, step, start)
        log_z = log_sum(alphas[:, -1] + end.unsqueeze(0))
        ctx.save_for_backward(emissions, mask, trans, end, alphas, log_z)
        ctx.step = step
        return log_z

    @staticmethod
    def backward(ctx, grad_log_z):  # type: ignore[override]
        emissions, mask, trans, end, alphas, log_z = ctx.saved_tensors
        step: LogStep = ctx.step
        betas = backward_scores(emissions, mask, LogStep(trans.t()), end)
        # Rows with no allowed path (log Z = -inf) get no gradient.
        finite = torch.isfinite(log_z)
        weight = torch.where(finite, grad_log_z, torch.zeros_like(grad_log_z))
        log_z = torch.where(finite, log_z, torch.zeros_like(log_z))
        live = mask & finite.unsqueeze(1)
        d_emissions = tag_marginals(alphas, betas, log_z, live) * weight[:, None, None]
        lengths = mask.sum(dim=1).clamp(min=1)
        rows = torch.arange(len(lengths), device=lengths.device)
        d_start = d_emissions[:, 0].sum(dim=0)
        d_end = d_emissions[rows, lengths - 1].sum(dim=0)
        d_trans = _transition_counts(emissions, alphas, betas, log_z, live, weight, step)
        return d_emissions, None, d_trans, d_start, d_end


def tag_marginals(alphas: torch.Tensor, betas: torch.Tensor, log_z: torch.Tensor,
                  live: torch.Tensor) -> torch.Tensor:
    """P(tag j at t) = exp(alpha + beta - log Z), zero where `live` is False.

    Exact without a shift: alpha + beta (all paths through j at t) <= log Z.
    RETURNS (Tensor[B, T, K]).
    """
    probs = torch.exp(alphas + betas - log_z[:, None, None])
    return torch.where(live.unsqueeze(2), probs, torch.zeros_like(probs))


def _transition_counts(
    emissions: torch.Tensor, alphas: torch.Tensor, betas: torch.Tensor, log_z: torch.Tensor,
    live: torch.Tensor, weight: torch.Tensor, step: LogStep,
) -> torch.Tensor:
    """sum_b weight[b] sum_t P(tag i at t - 1, tag j at t), as one matrix product.

    P = exp(alpha[t-1, i] + trans[i, j] + emission[t, j] + beta[t, j] - log Z),
    split as exp(alpha - s) * exp(trans - c) * exp(emission + beta + s + c - log Z)
    with s the predecessor group's maximum (so the first factor is <= 1 and its
    best term exactly 1) and c the column shift of the transition scores;
    the last factor is then bounded by the spread of the learned transitions.
    RETURNS (Tensor[K, K]).
    """
    n_tags = emissions.shape[2]
    prev = alphas[:, :-1]
    if step.groups is None:
        pair = prev.unsqueeze(3) + step.scores + (emissions[:, 1:] + betas[:, 1:]).unsqueeze(2)
        pair = torch.exp(pair - log_z[:, None, None, None])
        pair = torch.where(live[:, 1:, None, None], pair, torch.zeros_like(pair))
        return torch.einsum("btij,b->ij", pair, weight)
    raw_shift = prev.new_full((*prev.shape[:-1], step.groups.n_groups), -torch.inf)
    raw_shift = raw_shift.scatter_reduce(-1, step.groups.of_source.expand(prev.shape), prev,
                                         reduce="amax", include_self=True)
    shift = raw_shift.nan_to_num(neginf=0.0)
    source = torch.exp(prev - shift[..., step.groups.of_source])
    target = (emissions[:, 1:] + betas[:, 1:] + shift[..., step.groups.of_target]
              + step.col_shift - log_z[:, None, None])
    # A tag no finite predecessor reaches has P = 0 at t; leaving its factor
    # unbounded would make inf * 0 = NaN in the product below.
    keep = live[:, 1:].unsqueeze(2) & torch.isfinite(raw_shift[..., step.groups.of_target])
    target = torch.where(keep, torch.exp(target), torch.zeros_like(target))
    target = target * weight[:, None, None]
    counts = source.reshape(-1, n_tags).t() @ target.reshape(-1, n_tags)
    return counts * step.exp_scores
