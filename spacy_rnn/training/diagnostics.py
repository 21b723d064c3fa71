"""Gradient-flow diagnostics: how far back does the loss reach, and how often does clipping fire?

Two measurements, taken while the tagger trains:

1. **Gradient by distance.** Every `every` updates, for each doc in the batch
   (up to `max_docs`), one output position t is drawn and the token loss there,
   L_t = -log softmax(scores_t)[gold_t], is back-propagated to the encoder's
   input x_k (the token embeddings) at every position k. ||dL_t/dx_k|| is
   accumulated by the signed distance t - k. In a bidirectional encoder the
   gradient for k < t can only flow through the forward direction and for
   k > t only through the backward one, so the two halves of the profile are
   the two directions' memories. (For the CRF decoder L_t is the same local
   emission loss: the transition scores do not depend on x.) One extra forward
   and backward pass over the batch per measurement, nothing in between.

2. **Gradient norms and clipping.** On every update, before the optimizer
   runs: the norm of each parameter's gradient, the global norm over all of
   them, and whether Thinc's `grad_clip` will fire. Thinc clips *each
   parameter tensor's* gradient to the threshold separately (not the global
   norm, as torch's clip_grad_norm_ does), so "after clipping" is computed the
   same way: sqrt(sum_i min(||g_i||, c)^2).

Off by default and free when off: the component holds `diagnostics = None`
and checks it once per update. Training turns it on through the
`spacy_rnn.TrainingLogger.v1` logger (training/logger.py, `diagnose_every > 0`),
which also writes the statistics, one JSON line per evaluation, next to its log.
"""
import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
import torch
from thinc.api import Model, Optimizer, torch2xp, xp2torch

from ..errors import Errors
from .parameters import model_parameters, torch_module

ENCODER_REF = "encoder"


class GradientDiagnostics:
    """Accumulates gradient-by-distance and gradient-norm statistics between reads."""

    def __init__(self, every: int = 50, max_distance: int = 50, max_docs: int = 32,
                 seed: int = 0) -> None:
        for setting, value in (("diagnose_every", every), ("max_distance", max_distance),
                               ("max_docs", max_docs)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(Errors.RNN001.format(
                    setting=setting, value=value, expected="an integer >= 1"))
        self.every = every
        self.max_distance = max_distance
        self.max_docs = max_docs
        self._rng = numpy.random.RandomState(seed)
        self.n_updates = 0
        self.reset()

    def reset(self) -> None:
        """Start a new reporting interval (the update counter keeps running)."""
        size = 2 * self.max_distance + 1
        self.norm_sum = numpy.zeros(size, dtype="float64")
        self.count = numpy.zeros(size, dtype="int64")
        self.global_norms: List[float] = []
        self.clipped_norms: List[float] = []
        self.encoder_norms: List[float] = []
        self.n_clipped_updates = 0
        self.n_clipped_tensors = 0
        self.n_tensors = 0
        self.n_nonfinite = 0

    # --- measurement 1: gradient by distance ---------------------------------

    def due(self) -> bool:
        """Whether this update is one where the distance profile is measured."""
        return self.n_updates % self.every == 0

    def record_distances(self, model: Model, docs: Sequence, gold: Sequence[numpy.ndarray]) -> None:
        """Add ||dL_t/dx_k|| by distance t - k for one position t per doc.

        model: the BiRNNTagger (refs "embed", "encoder", "output").
        gold: gold tag index per token (negative = missing), per doc.
        """
        picks = self._pick_positions(gold)
        if not picks:
            return
        docs = [docs[i] for i, _ in picks]
        positions = [t for _, t in picks]
        targets = [int(gold[i][t]) for i, t in picks]
        embedded = model.get_ref("embed").predict(docs)
        norms = input_gradient_norms(model, embedded, positions, targets)
        for doc_norms, t in zip(norms, positions):
            distance = t - numpy.arange(len(doc_norms))
            keep = numpy.abs(distance) <= self.max_distance
            numpy.add.at(self.norm_sum, distance[keep] + self.max_distance, doc_norms[keep])
            numpy.add.at(self.count, distance[keep] + self.max_distance, 1)

    def _pick_positions(self, gold: Sequence[numpy.ndarray]) -> List[Tuple[int, int]]:
        picks = []
        for i, tags in enumerate(gold):
            known = numpy.flatnonzero(numpy.asarray(tags) >= 0)
            if len(known):
                picks.append((i, int(self._rng.choice(known))))
        if len(picks) > self.max_docs:
            chosen = self._rng.choice(len(picks), self.max_docs, replace=False)
            picks = [picks[j] for j in sorted(chosen)]
        return picks

    # --- measurement 2: gradient norms and clipping --------------------------

    def record_gradients(self, model: Model, sgd: Optional[Optimizer]) -> None:
        """Norms of the pending gradients, before the optimizer clips and applies them."""
        self.n_updates += 1
        threshold = _clip_threshold(sgd)
        norms, encoder_norms = _gradient_norms(model)
        if not norms:
            return
        norms_arr = numpy.asarray(norms, dtype="float64")
        if not numpy.all(numpy.isfinite(norms_arr)):
            self.n_nonfinite += 1
            return
        self.global_norms.append(float(math.sqrt((norms_arr ** 2).sum())))
        self.encoder_norms.append(float(math.sqrt(sum(n * n for n in encoder_norms))))
        self.n_tensors += len(norms)
        if threshold > 0:
            clipped = norms_arr >= threshold  # Thinc's test: norm >= threshold
            self.n_clipped_tensors += int(clipped.sum())
            self.n_clipped_updates += int(clipped.any())
            after = numpy.minimum(norms_arr, threshold)
        else:
            after = norms_arr
        self.clipped_norms.append(float(math.sqrt((after ** 2).sum())))

    # --- reading ---------------------------------------------------------------

    def summary(self) -> Dict:
        """JSON-ready statistics of the current interval (sums, so intervals can be pooled)."""
        n = len(self.global_norms)
        nonzero = self.count > 0
        return {
            "updates": n,
            "nonfinite_updates": self.n_nonfinite,
            "grad_norm": _describe(self.global_norms),
            "grad_norm_after_clip": _describe(self.clipped_norms),
            "encoder_grad_norm": _describe(self.encoder_norms),
            "clipped_updates": self.n_clipped_updates,
            "clip_rate": self.n_clipped_updates / n if n else 0.0,
            "clipped_tensor_rate": (self.n_clipped_tensors / self.n_tensors
                                    if self.n_tensors else 0.0),
            "distance": (numpy.flatnonzero(nonzero) - self.max_distance).tolist(),
            "distance_norm_sum": self.norm_sum[nonzero].tolist(),
            "distance_count": self.count[nonzero].tolist(),
        }


def input_gradient_norms(
    model: Model, embedded: List, positions: Sequence[int], targets: Sequence[int]
) -> List[numpy.ndarray]:
    """||dL_t/dx_k|| for every k, one chosen t (and its gold tag) per doc.

    Runs the encoder's torch module and the output layer directly in torch, in
    training mode with every dropout set to 0 (see _train_mode_without_dropout),
    so the measurement leaves every parameter, every gradient and the training
    state as they were. The docs are independent, so one backward pass of the
    summed losses gives each doc's own gradients.
    """
    encoder = model.get_ref(ENCODER_REF)
    module = torch_module(encoder.shims[0])
    output = model.get_ref("output")
    ops = model.ops
    lengths = [len(x) for x in embedded]
    X = xp2torch(ops.pad(embedded), requires_grad=True)
    W = xp2torch(output.get_param("W"))
    b = xp2torch(output.get_param("b"))
    with _train_mode_without_dropout(module), torch.enable_grad():
        hidden = module(X, torch.tensor(lengths, dtype=torch.long))
        rows = torch.arange(len(positions), device=hidden.device)
        h_t = hidden[rows, torch.as_tensor(positions, device=hidden.device)]
        logits = h_t @ W.T + b
        loss = torch.nn.functional.cross_entropy(
            logits, torch.as_tensor(targets, device=logits.device), reduction="sum")
        (grad,) = torch.autograd.grad(loss, X)
    norms = torch2xp(grad.norm(dim=-1))
    return [numpy.asarray(ops.to_numpy(norms[i, :n])) for i, n in enumerate(lengths)]


@contextmanager
def _train_mode_without_dropout(module: torch.nn.Module) -> Iterator[None]:
    """Training mode, dropout off, for a backward pass that must be deterministic.

    Not eval(): cuDNN refuses an RNN's backward outside training mode
    ("cudnn RNN backward can only be called in training mode"), so an
    eval-mode probe failed on a GPU. In training mode with p = 0 the RNN
    computes exactly what eval mode does (on the CPU, bit for bit). Mode and
    dropout rates are restored afterwards, whatever happens.
    """
    was_training = module.training
    saved = []
    for sub in module.modules():
        if isinstance(sub, (torch.nn.Dropout, torch.nn.RNNBase)):
            attr = "p" if isinstance(sub, torch.nn.Dropout) else "dropout"
            saved.append((sub, attr, getattr(sub, attr)))
            setattr(sub, attr, 0.0)
    module.train()
    try:
        yield
    finally:
        for sub, attr, value in saved:
            setattr(sub, attr, value)
        module.train(was_training)


def _gradient_norms(model: Model) -> Tuple[List[float], List[float]]:
    """One norm per parameter tensor with a pending gradient (Thinc params and torch shims)."""
    norms: List[float] = []
    encoder_norms: List[float] = []
    encoder_id = model.get_ref(ENCODER_REF).id if model.has_ref(ENCODER_REF) else None
    for param in model_parameters(model):
        grad = param.pending_grad()
        if grad is None:
            continue
        if param.tensor is None:
            norms.append(float(param.node.ops.xp.linalg.norm(grad)))
        else:
            norms.append(float(grad.norm()))
            if param.node.id == encoder_id:
                encoder_norms.append(norms[-1])
    return norms, encoder_norms


def _clip_threshold(sgd: Optional[Optimizer]) -> float:
    value = getattr(sgd, "grad_clip", 0.0) if sgd is not None else 0.0
    return float(value) if isinstance(value, (int, float)) else 0.0


def _describe(values: Sequence[float]) -> Dict[str, float]:
    if not values:
        return {}
    arr = numpy.asarray(values, dtype="float64")
    return {"mean": float(arr.mean()), "median": float(numpy.median(arr)),
            "p90": float(numpy.percentile(arr, 90)), "max": float(arr.max())}


def pool_distance_profiles(rows: Sequence[Dict]) -> Dict[int, float]:
    """Mean ||dL_t/dx_k|| per distance t - k, pooled over several logged intervals."""
    sums: Dict[int, float] = {}
    counts: Dict[int, int] = {}
    for row in rows:
        for d, s, c in zip(row["distance"], row["distance_norm_sum"], row["distance_count"]):
            sums[d] = sums.get(d, 0.0) + s
            counts[d] = counts.get(d, 0) + c
    return {d: sums[d] / counts[d] for d in sorted(sums) if counts[d]}


def read_diagnostics_log(path: Union[str, Path]) -> List[Dict]:
    """The gradient-flow JSON lines TrainingLogger.v1 wrote (blank lines skipped)."""
    rows = []
    with Path(path).open(encoding="utf-8") as file_:
        for line_no, line in enumerate(file_, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(Errors.RNN020.format(
                    path=path, line=line_no, problem=f"not a JSON line ({err})")) from None
    return rows


def cell_name(model: Model) -> str:
    """The encoder's name (e.g. "bilstm"), as a diagnostics row names the cell."""
    return model.get_ref(ENCODER_REF).name if model.has_ref(ENCODER_REF) else "?"


def summary_line(row: Dict) -> str:
    """One diagnostics row as a console line: median gradient norm, clipping, reach."""
    norm = row["grad_norm"].get("median", float("nan"))
    profile = pool_distance_profiles([row])
    far = max((d for d in profile if d > 0), default=0)
    reach = (f", |dL_t/dx_(t-{far})| / |dL_t/dx_t| = {profile[far] / profile[0]:.2e}"
             if far and profile.get(0) else "")
    return (f"[{row['pipe']} gradients] median |g| {norm:.3g}, clipped in "
            f"{100 * row['clip_rate']:.0f}% of {row['updates']} updates{reach}")
