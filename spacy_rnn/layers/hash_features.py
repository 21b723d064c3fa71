"""Hashed embeddings of lexical attributes (prefix, suffix, shape...), as spaCy's
MultiHashEmbed has them."""
from typing import List, Sequence, cast

from spacy.attrs import IDS as ATTR_IDS
from spacy.ml.featureextractor import FeatureExtractor
from spacy.tokens import Doc
from thinc.api import HashEmbed, Model, chain, concatenate, list2ragged, with_array
from thinc.types import Ints2d, Ragged

from ..errors import Errors
from .settings import check_positive


def HashFeatures(
    width: int, attrs: Sequence[str], rows: Sequence[int]
) -> Model[List[Doc], Ragged]:
    """Hashed embeddings of lexical attributes (spaCy's MultiHashEmbed features)."""
    if len(attrs) != len(rows):
        raise ValueError(Errors.RNN001.format(
            setting="hash_rows", value=list(rows),
            expected=f"one row count per attribute in hash_attrs ({len(attrs)})"))
    for attr in attrs:
        if attr.upper() not in ATTR_IDS:
            raise ValueError(Errors.RNN001.format(
                setting="hash_attrs", value=attr, expected="spaCy token attributes"))
    for n in rows:
        check_positive("hash_rows", n)
    embeddings = [
        HashEmbed(width, n, column=i, seed=8 + i, dropout=0.0) for i, n in enumerate(rows)
    ]
    return chain(
        FeatureExtractor([a.upper() for a in attrs]),
        cast(Model[List[Ints2d], Ragged], list2ragged()),
        with_array(concatenate(*embeddings)),
    )
