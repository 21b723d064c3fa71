"""Every trainable tensor of a model: Thinc's own parameters and those of the
torch modules inside its PyTorchShims.

Gradient diagnostics, data-parallel training and parameter counts all walk the
same tensors in the same order. This is the one place that reaches into a shim's
private `_model` (Thinc has no public accessor for it), so a change in Thinc
breaks one function rather than three.
"""
from typing import Any, Iterator, NamedTuple, Optional

import torch
from thinc.api import Model


class Parameter(NamedTuple):
    """A Thinc parameter (`name` set, `tensor` None) or a torch one (`tensor` set)."""

    node: Model
    name: Optional[str]
    tensor: Optional[torch.nn.Parameter]

    @property
    def size(self) -> int:
        if self.tensor is not None:
            return int(self.tensor.numel())
        return int(self.node.get_param(self.name).size)

    def pending_grad(self) -> Optional[Any]:
        """The gradient waiting for the optimizer, or None."""
        if self.tensor is not None:
            return self.tensor.grad
        return self.node.get_grad(self.name) if self.node.has_grad(self.name) else None


def model_parameters(model: Model) -> Iterator[Parameter]:
    """Thinc params by walk order and name, each node's torch parameters after its
    own (in module order): a fixed order, so data-parallel workers line up."""
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name) and node.get_param(name) is not None:
                yield Parameter(node, name, None)
        for shim in node.shims:
            for tensor in torch_module(shim).parameters():
                yield Parameter(node, None, tensor)


def torch_module(shim: Any) -> torch.nn.Module:
    """The torch module a PyTorchShim wraps."""
    return shim._model
