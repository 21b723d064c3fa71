"""Document memory: each token's encoder state, plus the mean state of every token
of its document with the same lowercase form.

Why: a name's later, shorter mention ("Blackburn") is hard alone and easy given
its first one ("Peter Blackburn", two sentences earlier). Ratinov & Roth (2009)
gained over 1 F1 on CoNLL-2003 by aggregating a document's predictions for
repeated tokens; this is the same idea on the BiLSTM's states, trained end to
end and cheap (one pass over the doc, no extra recurrence). With one sentence
per Doc it only pools repeats within the sentence.
"""
from typing import Callable, List, Tuple

import numpy
from spacy.attrs import LOWER
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d


def DocumentMemory(
    inner: Model[List[Doc], List[Floats2d]],
) -> Model[List[Doc], List[Floats2d]]:
    """inner's states per token, concatenated with the mean of inner's states over
    the doc's tokens sharing the token's lowercase form (itself included).

    inner (Model[List[Doc], List[Floats2d]]): e.g. embed >> encoder.
    RETURNS (Model[List[Doc], List[Floats2d]]): 2 * inner's width per token.
    """
    return Model(
        "document_memory",
        _forward,
        init=_init,
        layers=[inner],
        dims={"nO": 2 * inner.get_dim("nO")},
    )


def _init(model: Model, X: object = None, Y: object = None) -> None:
    model.layers[0].initialize(X=X)


def same_form_groups(doc: Doc) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Per token, the index of its group (tokens of equal LOWER); group sizes."""
    keys = doc.to_array([LOWER]).reshape(-1) if len(doc) else numpy.zeros((0,), "uint64")
    _, group, sizes = numpy.unique(keys, return_inverse=True, return_counts=True)
    return group.reshape(-1), sizes


def _forward(
    model: Model[List[Doc], List[Floats2d]], docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    inner = model.layers[0]
    ops = model.ops
    Hs, backprop_inner = inner(docs, is_train)
    lengths = ops.asarray1i([len(H) for H in Hs])
    # One group index over the whole batch (each doc's groups offset past the
    # previous docs'), so pooling is one scatter and one gather per batch.
    groups, sizes, offset = [], [], 0
    for doc in docs:
        group, size = same_form_groups(doc)
        groups.append(group + offset)
        sizes.append(size)
        offset += len(size)
    group_i = ops.asarray1i(numpy.concatenate(groups) if groups else numpy.zeros((0,), "i"))
    scale = ops.asarray2f((1.0 / numpy.concatenate(sizes)).reshape(-1, 1).astype("f")
                          if sizes else numpy.zeros((0, 1), "f"))
    H = ops.flatten(Hs) if Hs else ops.alloc2f(0, inner.get_dim("nO"))
    sums = ops.alloc2f(offset, H.shape[1])
    ops.scatter_add(sums, group_i, H)
    Y = ops.xp.hstack([H, (sums * scale)[group_i]])
    Ys = ops.unflatten(Y, lengths)

    def backprop(dYs: List[Floats2d]) -> List[Doc]:
        dY = ops.flatten(dYs) if dYs else ops.alloc2f(0, 2 * H.shape[1])
        width = H.shape[1]
        d_means = ops.alloc2f(offset, width)
        ops.scatter_add(d_means, group_i, ops.xp.ascontiguousarray(dY[:, width:]))
        dH = dY[:, :width] + (d_means * scale)[group_i]
        return backprop_inner(ops.unflatten(dH, lengths))

    return Ys, backprop
