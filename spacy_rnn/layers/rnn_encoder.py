"""The recurrent core: torch.nn.RNN / LSTM / GRU over packed sequences, wrapped for Thinc.

Why packing: a bidirectional RNN run over a padded batch starts its backward
direction on padding, so a doc's output would depend on the longest doc in its
batch (thinc's PyTorchRNNWrapper has this flaw). Packing by length makes each
doc's output independent of its batch, which the tests check.

Why the Thinc layer packs straight from the concatenated tokens rather than
from a padded batch: a padded (docs x longest doc x width) array, and its
padded output, grow with the *longest* doc, so one long sentence among a
thousand short ones multiplied the memory traffic several times over (see
BENCHMARKS.md, "Inference cost vs batch size"). The packed layout is computed
with one argsort, and every array is as large as the tokens it holds.
"""
import os
from typing import Callable, List, Tuple

import numpy
import torch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2, torch2xp, xp2torch
from thinc.types import Floats2d
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..errors import Errors

CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def _single_torch_thread_in_child() -> None:
    # The encoder is where torch runs. Once torch has run its thread pool in a parent, a forked child (spaCy's
    # nlp.pipe(n_process=N), datasets.map(num_proc=N)) can hang on the inherited
    # pool. One intra-op thread per worker avoids it and is what N workers on N
    # cores want anyway; outputs are identical.
    torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_single_torch_thread_in_child)


def validate_encoder_settings(
    cell: str, width: int, hidden_width: int, depth: int, dropout: float
) -> None:
    """Fail at construction, naming the setting, rather than deep inside torch."""
    if cell not in CELLS:
        raise ValueError(Errors.RNN001.format(
            setting="cell", value=cell, expected="one of " + ", ".join(sorted(CELLS))))
    for setting, value in (("width", width), ("hidden_width", hidden_width), ("depth", depth)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(Errors.RNN001.format(
                setting=setting, value=value, expected="an integer >= 1"))
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(Errors.RNN001.format(
            setting="dropout", value=dropout, expected="a number in [0, 1)"))


class RNNEncoder(torch.nn.Module):
    """A (bi)directional, optionally stacked RNN/LSTM/GRU over variable-length input.

    Dropout is applied between stacked layers (torch's own `dropout` argument).
    """

    def __init__(
        self,
        cell: str,
        nI: int,
        nH: int,
        depth: int,
        bidirectional: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.rnn = CELLS[cell](
            input_size=nI,
            hidden_size=nH,
            num_layers=depth,
            bidirectional=bidirectional,
            dropout=dropout if depth > 1 else 0.0,
            batch_first=True,
        )

    def forward(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Run the RNN over every doc of a batch, in one of two layouts.

        X (Tensor[B, T, nI]) padded, or Tensor[N, nI], the docs' tokens
            concatenated (N = sum of lengths; what the Thinc layer passes).
        lengths (LongTensor[B], on CPU): tokens per doc.
        RETURNS (Tensor): Tensor[B, T, nO] (zeros past each length), or
            Tensor[N, nO] in the layout of X.
        """
        if X.dim() == 2:
            return self._forward_flat(X, lengths)
        packed = pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)
        output, _ = self.rnn(packed)
        padded, _ = pad_packed_sequence(output, batch_first=True, total_length=X.shape[1])
        return padded

    def _forward_flat(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        nO = self.rnn.hidden_size * (2 if self.rnn.bidirectional else 1)
        if X.shape[0] == 0:
            # Still a function of X, so that backprop of an all-empty batch
            # returns an empty gradient instead of failing in torch.autograd.
            return X @ X.new_zeros((X.shape[1], nO))
        order, batch_sizes = packing_order(lengths.numpy())
        order_t = torch.as_tensor(order, device=X.device)
        output, _ = self.rnn(PackedSequence(X[order_t], torch.as_tensor(batch_sizes)))
        Y = output.data.new_empty((X.shape[0], nO))
        Y[order_t] = output.data
        return Y


def packing_order(lengths: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Where each token of the concatenated docs goes in torch's packed layout.

    A PackedSequence holds time step 0 of every doc, then step 1 of every doc
    still running, and so on, docs longest first within each step.

    lengths (ndarray[B]): tokens per doc (zeros allowed: such docs hold no token).
    RETURNS (Tuple[ndarray, ndarray]): `order`, such that packed data =
        concatenated[order]; and `batch_sizes`, how many docs run at each step.
    """
    lengths = numpy.asarray(lengths, dtype="int64")
    n_docs = len(lengths)
    rank = numpy.empty(n_docs, dtype="int64")
    rank[numpy.argsort(-lengths, kind="stable")] = numpy.arange(n_docs)
    doc_of = numpy.repeat(numpy.arange(n_docs), lengths)
    step = numpy.arange(len(doc_of)) - (numpy.cumsum(lengths) - lengths)[doc_of]
    order = numpy.argsort(step * n_docs + rank[doc_of], kind="stable")
    return order, numpy.bincount(step).astype("int64")


def RNNEncoderLayer(
    cell: str,
    width: int,
    hidden_width: int,
    depth: int,
    bidirectional: bool,
    dropout: float,
) -> Model[List[Floats2d], List[Floats2d]]:
    """Thinc layer: one (n_tokens, width) array per doc -> (n_tokens, nO) per doc.

    Every size of the torch module is a config value, so the module is built
    here, at construction, and a saved pipeline loads without re-initializing.
    """
    validate_encoder_settings(cell, width, hidden_width, depth, dropout)
    module = RNNEncoder(cell, width, hidden_width, depth, bidirectional, dropout)
    model = PyTorchWrapper_v2(
        module, convert_inputs=_convert_inputs, convert_outputs=_convert_outputs
    )
    model.name = f"{'bi' if bidirectional else ''}{cell}"
    model.set_dim("nI", width)
    model.set_dim("nO", hidden_width * (2 if bidirectional else 1))
    return model


def _convert_inputs(
    model: Model, Xs: List[Floats2d], is_train: bool
) -> Tuple[ArgsKwargs, Callable]:
    ops = model.ops
    lengths = [len(X) for X in Xs]
    width = model.get_dim("nI")
    # One concatenated array and one host->device copy per batch, not per doc.
    Xf = ops.flatten(Xs) if Xs else ops.alloc2f(0, width)
    # torch's packed LSTM path does not check the width: a wider input would
    # run, on garbage, and return the wrong width.
    if Xf.ndim != 2 or Xf.shape[1] != width:
        raise ValueError(Errors.RNN061.format(expected=width, got=Xf.shape[-1]))
    Xt = xp2torch(Xf, requires_grad=is_train)
    # Packing wants lengths on the CPU.
    Lt = torch.tensor(lengths, dtype=torch.long)

    def convert_dX(dX: ArgsKwargs) -> List[Floats2d]:
        return ops.unflatten(torch2xp(dX.args[0]), ops.asarray1i(lengths))

    return ArgsKwargs(args=(Xt, Lt), kwargs={}), convert_dX


def _convert_outputs(
    model: Model, inputs_outputs: Tuple[List[Floats2d], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    Xs, Yt = inputs_outputs
    lengths = model.ops.asarray1i([len(X) for X in Xs])
    Ys = model.ops.unflatten(torch2xp(Yt), lengths)

    def convert_dY(dYs: List[Floats2d]) -> ArgsKwargs:
        dYt = xp2torch(model.ops.flatten(dYs)) if dYs else torch.zeros_like(Yt)
        return ArgsKwargs(args=(Yt,), kwargs={"grad_tensors": dYt})

    return Ys, convert_dY
