"""Hashed left and right bigram embeddings per token: for character-level Chinese,
where a character bigram stands in for the word."""
from typing import Callable, List, Tuple

import numpy
from spacy.attrs import IDS as ATTR_IDS
from spacy.strings import get_string_id
from spacy.tokens import Doc
from thinc.api import HashEmbed, Model, chain, concatenate, with_array
from thinc.types import Ragged

from ..errors import Errors
from .settings import check_positive

# Neighbour keys at the edges of a doc: hashes of strings no token carries.
_BOS_KEY = numpy.uint64(get_string_id("<spacy_rnn:bos>"))
_EOS_KEY = numpy.uint64(get_string_id("<spacy_rnn:eos>"))
_BIGRAM_MIX = numpy.uint64(0x9E3779B97F4A7C15)  # odd: (a * M) ^ b keeps a and b apart


def doc_bigram_keys(doc: Doc, attr: str = "NORM") -> numpy.ndarray:
    """Each token's left and right bigram (previous+this, this+next) as uint64 keys.

    RETURNS (numpy.ndarray): shape (len(doc), 2); column 0 the left bigram,
        column 1 the right one; doc edges pair with a begin/end marker.
    """
    keys = doc.to_array(ATTR_IDS[attr]).astype("uint64")
    left = numpy.concatenate([[_BOS_KEY], keys[:-1]]) if len(keys) else keys
    right = numpy.concatenate([keys[1:], [_EOS_KEY]]) if len(keys) else keys
    with numpy.errstate(over="ignore"):
        return numpy.stack([(left * _BIGRAM_MIX) ^ keys, (keys * _BIGRAM_MIX) ^ right], axis=1)


def BigramFeatures(width: int, rows: int, attr: str = "NORM") -> Model[List[Doc], Ragged]:
    """Hashed embeddings of each token's left and right bigrams, concatenated.

    In character-level Chinese NER a character alone is ambiguous, and the
    character bigram is the cheapest stand-in for the word it belongs to (Zhang &
    Yang 2018's "bichar" features; Peng & Dredze 2015 for Weibo). Bigrams are
    hashed (thinc's HashEmbed, four hashes per key), so the table stays bounded
    however many distinct pairs the corpus holds.

    width (int): Output width per bigram; the layer outputs 2 * width per token.
    rows (int): Rows of each hash table.
    attr (str): Token attribute the bigrams are over.
    """
    check_positive("bigram_width", width)
    check_positive("bigram_rows", rows)
    if attr.upper() not in ATTR_IDS:
        raise ValueError(Errors.RNN001.format(
            setting="bigram_attr", value=attr, expected="a spaCy token attribute, e.g. NORM"))
    keys: Model[List[Doc], Ragged] = Model(
        "bigram_keys", _bigram_keys_forward, attrs={"attr": attr.upper()})
    return chain(
        keys,
        with_array(concatenate(
            HashEmbed(width, rows, column=0, seed=31, dropout=0.0),
            HashEmbed(width, rows, column=1, seed=32, dropout=0.0),
        )),
    )


def _bigram_keys_forward(
    model: Model[List[Doc], Ragged], docs: List[Doc], is_train: bool
) -> Tuple[Ragged, Callable]:
    attr = model.attrs["attr"]
    per_doc = [doc_bigram_keys(doc, attr) for doc in docs]
    keys = numpy.concatenate(per_doc) if per_doc else numpy.zeros((0, 2), dtype="uint64")
    lengths = model.ops.asarray1i([len(doc) for doc in docs])
    return Ragged(model.ops.asarray(keys), lengths), lambda dY: []
