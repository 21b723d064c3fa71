"""Character CNN with max-pooling per token: spelling, for words the vocabulary
does not have."""
from typing import Callable, List, Optional, Tuple

import numpy
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc
from thinc.api import (
    HashEmbed,
    Maxout,
    Model,
    chain,
    expand_window,
    reduce_max,
    with_array,
)
from thinc.types import Ragged

from .settings import check_positive


def CharCNN(
    width: int, char_embed_width: int = 16, rows: int = 2000, max_chars: int = 20,
    window: int = 1,
) -> Model[List[Doc], Ragged]:
    """Character CNN: embed each character, convolve over a window, max-pool per token.

    Characters are hashed by code point, so any script works with a bounded
    table. Tokens are cut to their first `max_chars` characters (bounds memory on
    pathological tokens such as long URLs; the hash features still see the
    whole word's suffix).
    """
    check_positive("char_width", width)
    check_positive("char_max_chars", max_chars)
    cnn = chain(
        with_array(HashEmbed(char_embed_width, rows, seed=101, dropout=0.0)),
        expand_window(window_size=window),
        with_array(Maxout(width, char_embed_width * (2 * window + 1), nP=2, normalize=False)),
        reduce_max(),
    )
    return Model(
        "char_cnn",
        _char_cnn_forward,
        init=_char_cnn_init,
        layers=[cnn],
        dims={"nO": width},
        attrs={"max_chars": max_chars},
    )


def doc_char_codes(doc: Doc, max_chars: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Code points of each token's first `max_chars` characters, vectorized per doc.

    RETURNS (Tuple[ndarray, ndarray]): flat uint64 codes, and per-token counts.
    """
    if len(doc) == 0:
        return numpy.zeros((0,), dtype="uint64"), numpy.zeros((0,), dtype="int32")
    codes = numpy.frombuffer(doc.text.encode("utf-32-le"), dtype="<u4")
    spans = doc.to_array([IDX, LENGTH]).astype("int64")
    counts = numpy.minimum(spans[:, 1], max_chars)
    total = int(counts.sum())
    token_of = numpy.repeat(numpy.arange(len(doc)), counts)
    first = numpy.cumsum(counts) - counts
    offset = numpy.arange(total) - first[token_of]
    return codes[spans[token_of, 0] + offset].astype("uint64"), counts.astype("int32")


def _docs_to_chars(model: Model, docs: List[Doc]) -> Ragged:
    """All tokens' (truncated) characters as one Ragged, one row per character."""
    max_chars = model.attrs["max_chars"]
    per_doc = [doc_char_codes(doc, max_chars) for doc in docs]
    codes = numpy.concatenate([c for c, _ in per_doc]) if per_doc else numpy.zeros(0, "uint64")
    counts = numpy.concatenate([n for _, n in per_doc]) if per_doc else numpy.zeros(0, "int32")
    ops = model.ops
    return Ragged(ops.asarray(codes), ops.asarray1i(counts))


def _char_cnn_init(model: Model, X: Optional[List[Doc]] = None, Y: object = None) -> None:
    sample = _docs_to_chars(model, X) if X else None
    model.layers[0].initialize(X=sample if sample is not None and len(sample.data) else None)


def _char_cnn_forward(
    model: Model[List[Doc], Ragged], docs: List[Doc], is_train: bool
) -> Tuple[Ragged, Callable]:
    ops = model.ops
    chars = _docs_to_chars(model, docs)
    doc_lengths = ops.asarray1i([len(doc) for doc in docs])
    if len(chars.lengths) == 0:
        return Ragged(ops.alloc2f(0, model.get_dim("nO")), doc_lengths), lambda dY: []
    token_vectors, bp_cnn = model.layers[0](chars, is_train)
    output = Ragged(token_vectors, doc_lengths)

    def backprop(dY: Ragged) -> List[Doc]:
        bp_cnn(dY.data)
        return []

    return output, backprop
