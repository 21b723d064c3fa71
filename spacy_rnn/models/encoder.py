"""The recurrent core: torch.nn.RNN / LSTM / GRU over packed sequences, wrapped for Thinc.

Why packing: a bidirectional RNN run over a padded batch starts its backward
direction on padding, so a doc's output would depend on the longest doc in its
batch (thinc's PyTorchRNNWrapper has this flaw). Packing by length makes each
doc's output independent of its batch, which the tests check.
"""
from typing import Callable, List, Tuple

import torch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2, torch2xp, xp2torch
from thinc.types import Floats2d, Floats3d
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import Errors

CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


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
        """X (Tensor[B, T, nI]), lengths (LongTensor[B], on CPU) -> Tensor[B, T, nO]."""
        packed = pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)
        output, _ = self.rnn(packed)
        padded, _ = pad_packed_sequence(output, batch_first=True, total_length=X.shape[1])
        return padded


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
    # One padded array and one host->device copy per batch, not per doc.
    Xp = ops.pad(Xs) if Xs else ops.alloc3f(0, 0, model.get_dim("nI"))
    Xt = xp2torch(Xp, requires_grad=is_train)
    # pack_padded_sequence wants lengths on the CPU.
    Lt = torch.tensor(lengths, dtype=torch.long)

    def convert_dX(dX: ArgsKwargs) -> List[Floats2d]:
        dXp = torch2xp(dX.args[0])
        return ops.unpad(dXp, lengths)

    return ArgsKwargs(args=(Xt, Lt), kwargs={}), convert_dX


def _convert_outputs(
    model: Model, inputs_outputs: Tuple[List[Floats2d], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    Xs, Yt = inputs_outputs
    lengths = [len(X) for X in Xs]
    Yp: Floats3d = torch2xp(Yt)
    Ys = model.ops.unpad(Yp, lengths)

    def convert_dY(dYs: List[Floats2d]) -> ArgsKwargs:
        dYp = model.ops.pad(dYs)
        dYt = xp2torch(dYp)
        return ArgsKwargs(args=(Yt,), kwargs={"grad_tensors": dYt})

    return Ys, convert_dY
