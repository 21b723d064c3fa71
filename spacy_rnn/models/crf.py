"""Linear-chain CRF and constrained Viterbi decoding, batched in PyTorch.

Pure functions over padded tensors, so both decoders share them:

* softmax decoder: Viterbi over per-token log-probabilities, with the
  allowed-transition mask as the only transition scores;
* CRF decoder: the same Viterbi over emission scores plus learned transition,
  start and end scores, on top of the same mask; trained by the negative
  log-likelihood, which also handles partial annotation (missing gold tags are
  marginalised, never read as "O").

Shapes: B = batch, T = longest sequence, K = number of tags.
"""
from typing import Tuple

import numpy
import torch


def _masked_forward(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    trans: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Log partition function by the forward algorithm.

    Each step is a matrix product in shifted probability space,
    log(exp(alpha - max) @ exp(trans)) + max, rather than a logsumexp over a
    [B, K, K] tensor: the same value, several times faster on CPU, where the
    per-step cost dominates for tag sets this small.

    emissions (Tensor[B, T, K]): per-token tag scores (may hold FORBIDDEN entries).
    mask (BoolTensor[B, T]): True for real tokens; each row is a prefix of Trues.
    trans (Tensor[K, K]): trans[i, j] scores tag i followed by tag j.
    start, end (Tensor[K]): scores for the first and last tag.
    RETURNS (Tensor[B]): log-sum-exp of the scores of all paths.
    """
    # Shift trans so exp() cannot overflow; the shift is added back per step.
    trans_max = trans.max()
    exp_trans = torch.exp(trans - trans_max)
    alpha = start.unsqueeze(0) + emissions[:, 0]  # [B, K]
    for t in range(1, emissions.shape[1]):
        shift = alpha.max(dim=1, keepdim=True).values
        # A tag reachable only from forbidden states sums to ~0: clamp so its
        # log stays finite (~ -69) and its gradient is 0, never NaN.
        total = (torch.exp(alpha - shift) @ exp_trans).clamp_min(1e-30)
        step = torch.log(total) + shift + trans_max + emissions[:, t]
        # Finished sequences keep their alpha, so padding never contributes.
        alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
    return torch.logsumexp(alpha + end.unsqueeze(0), dim=1)


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
    trans, start, end: transition scores, constraints already applied.
    RETURNS (Tensor[B]): the loss per sequence, >= 0.
    """
    n_tags = emissions.shape[2]
    known = gold >= 0
    allowed = torch.nn.functional.one_hot(gold.clamp(min=0), n_tags).bool()
    allowed = allowed | ~known.unsqueeze(2)
    penalty = torch.zeros((), dtype=emissions.dtype, device=emissions.device)
    # Not -inf: an entirely disallowed row must not turn into NaN gradients.
    gold_emissions = torch.where(allowed, emissions, penalty - 1.0e4)
    # Both partition functions in one batched pass: half the per-step overhead.
    both = _masked_forward(
        torch.cat([emissions, gold_emissions]), torch.cat([mask, mask]), trans, start, end)
    log_z, log_z_gold = both.split(emissions.shape[0])
    return log_z - log_z_gold


def constrained_scores(
    trans: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    allowed: Tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    forbidden: float,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Apply boolean allowed-transition masks to transition scores."""
    a_trans, a_start, a_end = allowed
    fill = torch.full((), forbidden, dtype=trans.dtype, device=trans.device)
    return (
        torch.where(a_trans, trans, fill),
        torch.where(a_start, start, fill),
        torch.where(a_end, end, fill),
    )


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
