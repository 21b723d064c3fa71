"""Another layer's vectors appended to the token embedding (e.g. a sourced,
frozen tok2vec through a listener)."""
from typing import List

from spacy.tokens import Doc
from thinc.api import Model
from thinc.layers.concatenate import forward as concatenate_forward
from thinc.layers.concatenate import init as concatenate_init
from thinc.types import Floats2d

from ..errors import Errors


def WithFeatures(
    embed: Model[List[Doc], List[Floats2d]],
    features: Model[List[Doc], List[Floats2d]],
) -> Model[List[Doc], List[Floats2d]]:
    """Append `features`' vectors to `embed`'s, so the encoder reads both.

    Both widths must be known when the model is built (the encoder is sized from
    them). Thinc's `concatenate()` learns its width only at initialization, and
    when its first argument is itself a concatenation it appends to that layer
    instead of making a new one, so this builds its own node on the same forward.
    """
    widths = {}
    for role, layer in (("embed", embed), ("features", features)):
        if not layer.has_dim("nO"):
            raise ValueError(Errors.RNN001.format(
                setting=role, value=layer.name, expected="a layer with its output width (nO) set"))
        widths[role] = layer.get_dim("nO")
    return Model(
        "with_features",
        concatenate_forward,
        init=concatenate_init,
        dims={"nO": widths["embed"] + widths["features"]},
        layers=[embed, features],
    )
