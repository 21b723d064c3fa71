"""The CRF's learned transition, start and end scores, as a Thinc layer.

Input: the allowed-transition masks (tags.allowed_biluo_transitions), which the
component owns because it owns the label set. Output: the learned scores with
every forbidden entry set to -inf, so no emission score, however large, can
make a forbidden path win. The backward pass adds the incoming gradients of the
allowed entries to the parameters, so the optimizer updates them with every
other weight and `to_disk` saves them; the loss (decoding/losses.py) and the
decoder (the component) call this layer rather than read its parameters.

It sits beside the network in `BiRNNTagger`, not after it: the scores it makes
do not depend on the doc, and the loss needs them with the emissions.
"""
from typing import Callable, Optional, Tuple

from thinc.api import Model
from thinc.types import Floats1d, Floats2d

from ..errors import Errors
from ..tags import Masks

PARAMS = ("T", "start", "end")
Scores = Tuple[Floats2d, Floats1d, Floats1d]


def CRFTransitions(nO: Optional[int] = None) -> Model[Masks, Scores]:
    """Learned start / transition / end scores of a linear-chain CRF.

    nO (Optional[int]): the number of tags K; set by the tagger at initialization.
    """
    return Model(
        "crf_transitions",
        _forward,
        init=_init,
        params={name: None for name in PARAMS},
        dims={"nO": nO},
    )


def _forward(model: Model[Masks, Scores], allowed: Masks,
             is_train: bool) -> Tuple[Scores, Callable[[Scores], Masks]]:
    xp = model.ops.xp
    masks = tuple(model.ops.asarray(a).astype(bool) for a in allowed)
    scores = tuple(xp.where(mask, model.get_param(name), -xp.inf).astype("float32")
                   for name, mask in zip(PARAMS, masks))

    def backprop(d_scores: Scores) -> Masks:
        # The gradient of masking: forbidden entries get none.
        for name, mask, d in zip(PARAMS, masks, d_scores):
            model.inc_grad(name, xp.where(mask, d, 0.0).astype("float32"))
        return allowed  # the masks are not differentiable: handed back as they are

    return scores, backprop  # type: ignore[return-value]


def _init(model: Model[Masks, Scores], X: Optional[Masks] = None,
          Y: Optional[Scores] = None) -> None:
    n = model.get_dim("nO")  # set by the tagger once it knows the labels
    if n is None and X is not None:
        n = int(X[1].shape[0])
        model.set_dim("nO", n)
    if n is None:
        raise ValueError(Errors.RNN001.format(
            setting="nO of crf_transitions", value=None,
            expected="the number of tags, or the masks as X at initialize"))
    # Zeros: the constraint mask already encodes what must not happen, and the
    # learned scores start neutral.
    model.set_param("T", model.ops.alloc2f(n, n))
    model.set_param("start", model.ops.alloc1f(n))
    model.set_param("end", model.ops.alloc1f(n))
