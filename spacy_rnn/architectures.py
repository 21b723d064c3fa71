"""Registered builders: every architecture a config can name, and nothing else.

Registration happens twice, as spaCy plugins do: through these decorators and
through the `spacy_architectures` entry point in setup.cfg, so `spacy.load` and
`spacy train` find them without `--code`.
"""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d, Ragged

from .models.embed import (
    BigramFeatures,
    CharCNN,
    HashFeatures,
    TokenEmbed,
    VocabEmbed,
    WithFeatures,
)
from .models.encoder import RNNEncoderLayer
from .models.tagger import BiRNNTagger


@registry.architectures("spacy_rnn.BiRNNTagger.v1")
def build_birnn_tagger(
    embed: Model[List[Doc], List[Floats2d]],
    cell: str = "lstm",
    hidden_width: int = 128,
    depth: int = 1,
    bidirectional: bool = True,
    dropout: float = 0.2,
    decoder: str = "softmax",
    nO: Optional[int] = None,
    context_width: Optional[int] = None,
    document_memory: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """Token features >> (bi)RNN/LSTM/GRU >> per-token tag scores (see BiRNNTagger).

    `context_width` (null = off) reads documents sentence by sentence, each with
    that many tokens of its neighbours on either side (models/context.py);
    `document_memory` adds to each token's state the mean state of its
    document's tokens of the same lowercase form (models/doc_memory.py).
    """
    return BiRNNTagger(embed, cell, hidden_width, depth, bidirectional, dropout, decoder, nO,
                       context_width, document_memory)


@registry.architectures("spacy_rnn.TokenEmbed.v1")
def build_token_embed(
    width: int = 128,
    vocab_size: Optional[int] = 20000,
    vocab_width: int = 64,
    vocab_attr: str = "NORM",
    hash_attrs: List[str] = ["PREFIX", "SUFFIX", "SHAPE"],  # noqa: B006 (read only)
    hash_rows: List[int] = [1000, 2500, 500],  # noqa: B006 (read only)
    hash_width: int = 32,
    char_width: Optional[int] = 32,
    char_max_chars: int = 20,
    include_static_vectors: bool = False,
    dropout: float = 0.1,
) -> Model[List[Doc], List[Floats2d]]:
    """One-hot vocabulary + hashed attributes + char CNN + static vectors -> width.

    Set `vocab_size` or `char_width` to null, or `hash_attrs` to [], to leave a
    feature group out; `include_static_vectors` reads `nlp.vocab.vectors`.
    """
    return TokenEmbed(
        width, vocab_size, vocab_width, vocab_attr, list(hash_attrs), list(hash_rows),
        hash_width, char_width, char_max_chars, include_static_vectors, dropout,
    )


@registry.architectures("spacy_rnn.TokenEmbed.v2")
def build_token_embed_v2(
    width: int = 128,
    vocab_size: Optional[int] = 20000,
    vocab_width: int = 64,
    vocab_attr: str = "NORM",
    hash_attrs: List[str] = ["PREFIX", "SUFFIX", "SHAPE"],  # noqa: B006 (read only)
    hash_rows: List[int] = [1000, 2500, 500],  # noqa: B006 (read only)
    hash_width: int = 32,
    char_width: Optional[int] = 32,
    char_max_chars: int = 20,
    include_static_vectors: bool = False,
    dropout: float = 0.1,
    unk_dropout: float = 0.0,
) -> Model[List[Doc], List[Floats2d]]:
    """TokenEmbed.v1 plus `unk_dropout`: in training, look a token up as UNK in
    the one-hot vocabulary with this probability, so that the UNK row every
    unseen word gets at test time is trained, and names are tagged from their
    spelling and context rather than recalled.
    """
    return TokenEmbed(
        width, vocab_size, vocab_width, vocab_attr, list(hash_attrs), list(hash_rows),
        hash_width, char_width, char_max_chars, include_static_vectors, dropout,
        unk_dropout,
    )


@registry.architectures("spacy_rnn.TokenEmbed.v3")
def build_token_embed_v3(
    width: int = 128,
    vocab_size: Optional[int] = 20000,
    vocab_width: int = 64,
    vocab_attr: str = "NORM",
    hash_attrs: List[str] = ["PREFIX", "SUFFIX", "SHAPE"],  # noqa: B006 (read only)
    hash_rows: List[int] = [1000, 2500, 500],  # noqa: B006 (read only)
    hash_width: int = 32,
    char_width: Optional[int] = 32,
    char_max_chars: int = 20,
    include_static_vectors: bool = False,
    dropout: float = 0.1,
    unk_dropout: float = 0.0,
    bigram_width: Optional[int] = None,
    bigram_rows: int = 50000,
) -> Model[List[Doc], List[Floats2d]]:
    """TokenEmbed.v2 plus hashed bigram features (`bigram_width` per side, null =
    off): each token also gets its left and right bigram over `vocab_attr`. For
    character-level Chinese, where a character bigram stands in for the word.
    """
    return TokenEmbed(
        width, vocab_size, vocab_width, vocab_attr, list(hash_attrs), list(hash_rows),
        hash_width, char_width, char_max_chars, include_static_vectors, dropout,
        unk_dropout, bigram_width, bigram_rows,
    )


@registry.architectures("spacy_rnn.TokenEmbed.v4")
def build_token_embed_v4(
    width: int = 128,
    vocab_size: Optional[int] = 20000,
    vocab_width: int = 64,
    vocab_attr: str = "NORM",
    hash_attrs: List[str] = ["PREFIX", "SUFFIX", "SHAPE"],  # noqa: B006 (read only)
    hash_rows: List[int] = [1000, 2500, 500],  # noqa: B006 (read only)
    hash_width: int = 32,
    char_width: Optional[int] = 32,
    char_max_chars: int = 20,
    include_static_vectors: bool = False,
    dropout: float = 0.1,
    unk_dropout: float = 0.0,
    bigram_width: Optional[int] = None,
    bigram_rows: int = 50000,
    vocab_from_vectors: bool = False,
    cluster_width: Optional[int] = None,
    cluster_prefixes: List[int] = [4, 6, 10, 20],  # noqa: B006 (read only)
    lexicon_width: Optional[int] = None,
    lexicon_dropout: float = 0.0,
    lexicon_case: str = "lower",
) -> Model[List[Doc], List[Floats2d]]:
    """TokenEmbed.v3 plus `vocab_from_vectors`: start each one-hot vocabulary row
    from the word's static vector and fine-tune it (Lample et al. 2016), instead
    of from random; `vocab_width` must then equal the vectors' width. And Brown
    cluster features: `cluster_width` per bit-string prefix length in
    `cluster_prefixes` (null = off; the table comes from
    [initialize.components.rnn_tagger] clusters, see models/clusters.py). And
    lexicon (gazetteer) features: `lexicon_width` for the BILUO matches of each
    phrase list (null = off; the lists come from [initialize.components.rnn_tagger]
    lexicons = {"first_name": "first_names.txt", ...}), each match hidden in
    training with probability `lexicon_dropout`, compared as `lexicon_case`
    ("exact", "lower" or "title"; see models/lexicon.py).
    """
    return TokenEmbed(
        width, vocab_size, vocab_width, vocab_attr, list(hash_attrs), list(hash_rows),
        hash_width, char_width, char_max_chars, include_static_vectors, dropout,
        unk_dropout, bigram_width, bigram_rows, vocab_from_vectors,
        cluster_width, list(cluster_prefixes), lexicon_width, lexicon_dropout, lexicon_case,
    )


@registry.architectures("spacy_rnn.WithFeatures.v1")
def build_with_features(
    embed: Model[List[Doc], List[Floats2d]],
    features: Model[List[Doc], List[Floats2d]],
) -> Model[List[Doc], List[Floats2d]]:
    """`embed`'s vectors with `features`' vectors appended, token by token.

    For a pretrained pipeline's tok2vec as extra input: `features` is a
    `spacy.Tok2VecListener.v1` listening to a sourced, frozen `tok2vec`.
    """
    return WithFeatures(embed, features)


@registry.architectures("spacy_rnn.BigramFeatures.v1")
def build_bigram_features(width: int, rows: int, attr: str = "NORM") -> Model[List[Doc], Ragged]:
    """Hashed left and right bigram embeddings per token (2 * width wide)."""
    return BigramFeatures(width, rows, attr)


@registry.architectures("spacy_rnn.VocabEmbed.v1")
def build_vocab_embed(width: int, vocab_size: int, attr: str = "NORM") -> Model[List[Doc], Ragged]:
    """The one-hot vocabulary (top-N words + UNK) as an embedding-row lookup."""
    return VocabEmbed(width, vocab_size, attr)


@registry.architectures("spacy_rnn.HashFeatures.v1")
def build_hash_features(width: int, attrs: List[str], rows: List[int]) -> Model[List[Doc], Ragged]:
    """Hashed embeddings of lexical attributes, one table per attribute."""
    return HashFeatures(width, attrs, rows)


@registry.architectures("spacy_rnn.CharCNN.v1")
def build_char_cnn(width: int, max_chars: int = 20) -> Model[List[Doc], Ragged]:
    """Character CNN with max-pooling per token."""
    return CharCNN(width, max_chars=max_chars)


@registry.architectures("spacy_rnn.RNNEncoder.v1")
def build_rnn_encoder(
    cell: str, width: int, hidden_width: int, depth: int = 1,
    bidirectional: bool = True, dropout: float = 0.0,
) -> Model[List[Floats2d], List[Floats2d]]:
    """The torch RNN/LSTM/GRU over packed sequences, as a Thinc layer."""
    return RNNEncoderLayer(cell, width, hidden_width, depth, bidirectional, dropout)
