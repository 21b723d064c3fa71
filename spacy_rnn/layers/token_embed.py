"""Token features -> one vector per token: one-hot vocabulary, hashed lexical
attributes, a character CNN, pretrained static vectors, character bigrams, Brown
clusters and phrase lists, in any combination.

Each feature layer maps List[Doc] -> Ragged (rows = tokens, lengths = doc
lengths), so they concatenate the way spaCy's MultiHashEmbed does, before one
Maxout projection to the width the recurrent encoder reads.
"""
from typing import List, Optional, Sequence

from spacy.ml.staticvectors import StaticVectors
from spacy.tokens import Doc
from thinc.api import (
    Dropout,
    Maxout,
    Model,
    chain,
    concatenate,
    ragged2list,
    with_array,
)
from thinc.types import Floats2d, Ragged

from ..errors import Errors
from .bigram_features import BigramFeatures
from .char_cnn import CharCNN
from .cluster_features import ClusterFeatures
from .hash_features import HashFeatures
from .lexicon_features import LexiconFeatures
from .settings import check_positive, check_probability
from .vocab_embed import VocabEmbed


def TokenEmbed(
    width: int,
    vocab_size: Optional[int],
    vocab_width: int,
    vocab_attr: str,
    hash_attrs: Sequence[str],
    hash_rows: Sequence[int],
    hash_width: int,
    char_width: Optional[int],
    char_max_chars: int,
    include_static_vectors: bool,
    dropout: float,
    unk_dropout: float = 0.0,
    bigram_width: Optional[int] = None,
    bigram_rows: int = 50000,
    vocab_from_vectors: bool = False,
    cluster_width: Optional[int] = None,
    cluster_prefixes: Sequence[int] = (4, 6, 10, 20),
    lexicon_width: Optional[int] = None,
    lexicon_dropout: float = 0.0,
    lexicon_case: str = "lower",
) -> Model[List[Doc], List[Floats2d]]:
    """Combine the enabled feature groups and project them to `width` per token."""
    check_positive("width", width)
    check_probability("dropout", dropout)
    features: List[Model[List[Doc], Ragged]] = []
    concat_width = 0
    if vocab_size is not None:
        features.append(VocabEmbed(
            vocab_width, vocab_size, vocab_attr, unk_dropout, vocab_from_vectors))
        concat_width += vocab_width
    if hash_attrs:
        check_positive("hash_width", hash_width)
        features.append(HashFeatures(hash_width, hash_attrs, hash_rows))
        concat_width += hash_width * len(hash_attrs)
    if char_width is not None:
        features.append(CharCNN(char_width, max_chars=char_max_chars))
        concat_width += char_width
    if bigram_width is not None:
        features.append(BigramFeatures(bigram_width, bigram_rows, vocab_attr))
        concat_width += 2 * bigram_width
    if cluster_width is not None:
        features.append(ClusterFeatures(cluster_width, list(cluster_prefixes)))
        concat_width += cluster_width * len(cluster_prefixes)
    if lexicon_width is not None:
        features.append(LexiconFeatures(lexicon_width, lexicon_dropout, lexicon_case))
        concat_width += lexicon_width
    if include_static_vectors:
        features.append(StaticVectors(width, dropout=0.0))
        concat_width += width
    if not features:
        raise ValueError(Errors.RNN002)
    if vocab_from_vectors and vocab_size is None:
        raise ValueError(Errors.RNN001.format(
            setting="vocab_from_vectors", value=True,
            expected="false when vocab_size is null (there is no vocabulary to start)"))
    model = chain(
        concatenate(*features) if len(features) > 1 else features[0],
        with_array(Maxout(width, concat_width, nP=3, normalize=True)),
        with_array(Dropout(dropout)),
        ragged2list(),
    )
    model.set_dim("nO", width)
    return model
