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
import math

import numpy
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
