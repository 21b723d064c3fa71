"""Registered builders: every architecture a config can name, and nothing else.

Registration happens twice, as spaCy plugins do: through these decorators and
through the `spacy_architectures` entry point in setup.cfg, so `spacy.load` and
`spacy train` find them without `--code` (tests/test_plugin.py checks both).
Before 1.0 an architecture changes in place (see CHANGELOG.md).
"""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from .layers.birnn_tagger import BiRNNTagger
from .layers.token_embed import TokenEmbed
from .layers.with_features import WithFeatures


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
    that many tokens of its neighbours on either side (layers/sentence_context.py);
    `document_memory` adds to each token's state the mean state of its
    document's tokens of the same lowercase form (layers/document_memory.py).
    """
    return BiRNNTagger(embed, cell=cell, hidden_width=hidden_width, depth=depth,
                       bidirectional=bidirectional, dropout=dropout, decoder=decoder, nO=nO,
                       context_width=context_width, document_memory=document_memory)


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
    """Every token input, each a setting, projected to `width` per token.

    - The one-hot vocabulary: the top `vocab_size` training words by `vocab_attr`
      plus UNK (null = off), `vocab_width` wide; in training a token is read as
      UNK with probability `unk_dropout`, so the UNK row every unseen word gets
      at test time is trained; `vocab_from_vectors` starts each row from the
      word's static vector (Lample et al. 2016; `vocab_width` = the vectors' width).
    - Hashed attributes `hash_attrs` (capitalisation and affixes carry much of the
      signal for unseen names), `hash_rows` rows each, `hash_width` wide.
    - A character CNN, `char_width` wide over the first `char_max_chars` characters
      (null = off).
    - Static vectors from `nlp.vocab.vectors` (`include_static_vectors`).
    - Hashed left/right bigrams over `vocab_attr`, `bigram_width` per side (null =
      off): for character-level Chinese, where a bigram stands in for the word.
    - Brown-cluster bit-string prefixes of the lengths in `cluster_prefixes`,
      `cluster_width` each (null = off); the table comes from
      [initialize.components.rnn_tagger] clusters (layers/cluster_features.py).
    - Phrase-list (gazetteer) matches, BILUO per list, `lexicon_width` wide (null =
      off); the lists come from [initialize.components.rnn_tagger] lexicons, each
      match hidden in training with probability `lexicon_dropout`, compared as
      `lexicon_case` ("exact", "lower" or "title"; layers/lexicon_features.py).
    """
    return TokenEmbed(
        width=width, vocab_size=vocab_size, vocab_width=vocab_width, vocab_attr=vocab_attr,
        hash_attrs=list(hash_attrs), hash_rows=list(hash_rows), hash_width=hash_width,
        char_width=char_width, char_max_chars=char_max_chars,
        include_static_vectors=include_static_vectors, dropout=dropout,
        unk_dropout=unk_dropout, bigram_width=bigram_width, bigram_rows=bigram_rows,
        vocab_from_vectors=vocab_from_vectors, cluster_width=cluster_width,
        cluster_prefixes=list(cluster_prefixes), lexicon_width=lexicon_width,
        lexicon_dropout=lexicon_dropout, lexicon_case=lexicon_case,
    )


# TokenEmbed's names before 0.3.0 (each added settings, all now in v1, with the same
# defaults): kept as aliases so that pipelines saved with 0.2.x, whose configs name
# them, still load. New configs name v1.
LEGACY_TOKEN_EMBED = ("spacy_rnn.TokenEmbed.v2", "spacy_rnn.TokenEmbed.v3",
                      "spacy_rnn.TokenEmbed.v4")
for _name in LEGACY_TOKEN_EMBED:
    registry.architectures.register(_name, func=build_token_embed)


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
