"""Token features -> one vector per token: one-hot vocabulary, hashed lexical
attributes, a character CNN and pretrained static vectors, in any combination.

Each feature layer maps List[Doc] -> Ragged (rows = tokens, lengths = doc
lengths), so they concatenate the way spaCy's MultiHashEmbed does, before one
Maxout projection to the width the recurrent encoder reads.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy
from spacy.attrs import IDS as ATTR_IDS
from spacy.attrs import IDX, LENGTH
from spacy.ml.featureextractor import FeatureExtractor
from spacy.ml.staticvectors import StaticVectors
from spacy.strings import get_string_id
from spacy.tokens import Doc
from spacy.vocab import Vocab
from thinc.api import (
    Dropout,
    HashEmbed,
    Maxout,
    Model,
    chain,
    concatenate,
    expand_window,
    list2ragged,
    ragged2list,
    reduce_max,
    with_array,
)
from thinc.layers.concatenate import forward as concatenate_forward
from thinc.layers.concatenate import init as concatenate_init
from thinc.types import Floats2d, Ints2d, Ragged

from ..errors import Errors
from .clusters import ClusterFeatures
from .lexicon import LexiconFeatures

UNK_ROW = 0  # row 0 of the one-hot vocabulary table is the UNK vector


def _check_probability(setting: str, value: object) -> None:
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not 0.0 <= value < 1.0):
        raise ValueError(Errors.RNN001.format(
            setting=setting, value=value, expected="a number in [0, 1)"))


def _check_positive(setting: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(Errors.RNN001.format(
            setting=setting, value=value, expected="an integer >= 1"))


def VocabEmbed(
    width: int, vocab_size: int, attr: str = "NORM", unk_dropout: float = 0.0,
    from_vectors: bool = False,
) -> Model[List[Doc], Ragged]:
    """The one-hot vocabulary input, as a row lookup.

    A one-hot x_t (top-N words + UNK) times W_xh *is* a row of W_xh, so this is
    an embedding table with vocab_size + 1 rows, row 0 for UNK. The vocabulary
    itself (a list of strings) is set by the component's `initialize` from the
    whole training set (not the 10-example sample Thinc's init sees), and kept
    in the layer's attrs so it is saved and loaded with the weights.

    width (int): Output width per token.
    vocab_size (int): N, the maximum number of words kept (most frequent first).
    attr (str): Token attribute the vocabulary is over ("NORM", "LOWER", "ORTH").
    unk_dropout (float): In training, the probability that a token is looked up
        as UNK instead of its own row. A vocabulary counted from the training
        set holds nearly every training word, so without this the UNK row is
        almost never trained, yet it is what every unseen test name gets; and
        the tagger learns to recall names rather than read their context
        (Lample et al. 2016 replace singletons by UNK for the same reason).
    from_vectors (bool): Start each word's row from its pretrained static
        vector (`nlp.vocab.vectors`, which must be `width` wide) and fine-tune
        it, as Lample et al. 2016 do; words without a vector, and UNK, start
        random at the vectors' scale. The frozen StaticVectors feature keeps the
        table as it is; this copy is free to move, and gives every training word
        its own row even where a pruned table (en_core_web_md: 20,000 rows for
        685k keys) shares one among many.
    """
    _check_positive("vocab_size", vocab_size)
    _check_positive("vocab_width", width)
    _check_probability("unk_dropout", unk_dropout)
    if attr.upper() not in ATTR_IDS:
        raise ValueError(Errors.RNN001.format(
            setting="vocab_attr", value=attr, expected="a spaCy token attribute, e.g. NORM"))
    return Model(
        "vocab_embed",
        _vocab_forward,
        init=_vocab_init,
        params={"E": None},
        dims={"nO": width, "nV": None},
        attrs={"attr": attr.upper(), "vocab_size": vocab_size, "words": None,
               "unk_dropout": float(unk_dropout), "from_vectors": bool(from_vectors)},
    )


def set_vocab_words(model: Model, words: Sequence[str]) -> None:
    """Install the one-hot vocabulary (most frequent first) on a VocabEmbed layer."""
    words = list(words)[: model.attrs["vocab_size"]]
    model.attrs["words"] = words
    if model.has_dim("nV") and model.get_dim("nV") != len(words) + 1:
        # Re-initializing with a new vocabulary: the table must be rebuilt.
        model.set_dim("nV", len(words) + 1, force=True)
        model.set_param("E", None)


def _vocab_init(model: Model, X: Optional[List[Doc]] = None, Y: object = None) -> None:
    words = model.attrs["words"]
    if words is None:
        # Initialized outside the component (e.g. a bare Thinc test): build the
        # vocabulary from the sample, which is better than an empty table.
        counts: Dict[str, int] = {}
        attr = ATTR_IDS[model.attrs["attr"]]
        for doc in X or []:
            for key in doc.to_array(attr):
                word = doc.vocab.strings[key]
                counts[word] = counts.get(word, 0) + 1
        set_vocab_words(model, sorted(counts, key=lambda w: (-counts[w], w)))
        words = model.attrs["words"]
    model.set_dim("nV", len(words) + 1, force=True)
    nO = model.get_dim("nO")
    if model.attrs.get("from_vectors"):
        E_np = vectors_table(words, X[0].vocab if X else None, nO)
    else:
        E_np = numpy.random.uniform(-0.1, 0.1, (len(words) + 1, nO)).astype("float32")
    model.set_param("E", model.ops.asarray2f(E_np))


def vectors_table(words: Sequence[str], vocab: Optional[Vocab], width: int) -> numpy.ndarray:
    """The initial vocabulary table from static vectors: row 0 UNK, row i+1 words[i].

    Rows of words the vectors do not cover, and the UNK row, are drawn uniformly
    with the same standard deviation as the vectors, so that no row stands out
    by its scale alone (a small random row would read as "rare word").
    """
    if vocab is None or vocab.vectors.shape[0] == 0:
        raise ValueError(Errors.RNN004)
    vectors = vocab.vectors
    if vectors.shape[1] != width:
        raise ValueError(Errors.RNN001.format(
            setting="vocab_width", value=width,
            expected=f"the width of the static vectors ({vectors.shape[1]}) when "
                     "vocab_from_vectors is true"))
    data = vectors.data.get() if hasattr(vectors.data, "get") else numpy.asarray(vectors.data)
    used = (numpy.unique(numpy.fromiter(vectors.key2row.values(), dtype="int64"))
            if vectors.mode != "floret" and len(vectors.key2row) else slice(None))
    # Uniform on [-a, a] has std a / sqrt(3); the scale is over rows in use only
    # (a table grown by set_vector keeps spare zero rows).
    scale = float(data[used].std()) * numpy.sqrt(3.0) or 0.1
    table = numpy.random.uniform(-scale, scale, (len(words) + 1, width)).astype("float32")
    if vectors.mode == "floret":
        for i, word in enumerate(words):
            table[i + 1] = vocab.get_vector(word)
        return table
    # key2row directly rather than Vectors.find, whose result is on the vectors'
    # device (cupy after to_gpu).
    key2row = vectors.key2row
    rows = numpy.asarray([key2row.get(get_string_id(w), -1) for w in words], dtype="int64")
    covered = numpy.nonzero(rows >= 0)[0]
    table[covered + 1] = data[rows[covered]]
    return table


# Sorted key arrays per vocabulary list, kept outside `model.attrs` so that they
# are never serialized (the words are the source of truth). Keyed by the list's
# id, holding the list itself so the id cannot be reused while cached.
_KEY_CACHE: Dict[int, Tuple[List[str], numpy.ndarray, numpy.ndarray]] = {}
_KEY_CACHE_SIZE = 16


def _vocab_keys(model: Model) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Sorted string hashes of the vocabulary and their table rows (cached)."""
    words = model.attrs["words"]
    cached = _KEY_CACHE.get(id(words))
    if cached is None or cached[0] is not words:
        keys = numpy.asarray([get_string_id(w) for w in words], dtype="uint64")
        order = numpy.argsort(keys, kind="stable")
        cached = (words, keys[order], (order + 1).astype("int64"))
        if len(_KEY_CACHE) >= _KEY_CACHE_SIZE:
            _KEY_CACHE.pop(next(iter(_KEY_CACHE)))
        _KEY_CACHE[id(words)] = cached
    return cached[1], cached[2]


def vocab_rows(model: Model, keys: numpy.ndarray) -> numpy.ndarray:
    """Map token attribute hashes to table rows, UNK -> 0, without a Python loop."""
    sorted_keys, rows = _vocab_keys(model)
    if len(sorted_keys) == 0:
        return numpy.zeros(len(keys), dtype="int64")
    pos = numpy.searchsorted(sorted_keys, keys)
    pos = numpy.minimum(pos, len(sorted_keys) - 1)
    return numpy.where(sorted_keys[pos] == keys, rows[pos], UNK_ROW)


def _vocab_forward(
    model: Model[List[Doc], Ragged], docs: List[Doc], is_train: bool
) -> Tuple[Ragged, Callable]:
    attr = ATTR_IDS[model.attrs["attr"]]
    lengths = [len(doc) for doc in docs]
    keys = (numpy.concatenate([doc.to_array(attr) for doc in docs])
            if docs else numpy.zeros((0,), dtype="uint64"))
    rows_np = vocab_rows(model, keys.astype("uint64"))
    unk_dropout = model.attrs.get("unk_dropout", 0.0)
    if is_train and unk_dropout > 0.0:
        # numpy's global generator: seeded by spaCy's fix_random_seed.
        rows_np = numpy.where(numpy.random.random(len(rows_np)) < unk_dropout, UNK_ROW, rows_np)
    rows = model.ops.asarray1i(rows_np)
    E = model.get_param("E")
    output = Ragged(E[rows], model.ops.asarray1i(lengths))
    nV = E.shape[0]

    def backprop(dY: Ragged) -> List[Doc]:
        dE = model.ops.alloc2f(nV, E.shape[1])
        model.ops.scatter_add(dE, rows, dY.data)
        model.inc_grad("E", dE)
        return []

    return output, backprop


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
        _check_positive("hash_rows", n)
    embeddings = [
        HashEmbed(width, n, column=i, seed=8 + i, dropout=0.0) for i, n in enumerate(rows)
    ]
    return chain(
        FeatureExtractor([a.upper() for a in attrs]),
        cast(Model[List[Ints2d], Ragged], list2ragged()),
        with_array(concatenate(*embeddings)),
    )


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
    _check_positive("bigram_width", width)
    _check_positive("bigram_rows", rows)
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
    _check_positive("char_width", width)
    _check_positive("char_max_chars", max_chars)
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
    _check_positive("width", width)
    _check_probability("dropout", dropout)
    features: List[Model[List[Doc], Ragged]] = []
    concat_width = 0
    if vocab_size is not None:
        features.append(VocabEmbed(
            vocab_width, vocab_size, vocab_attr, unk_dropout, vocab_from_vectors))
        concat_width += vocab_width
    if hash_attrs:
        _check_positive("hash_width", hash_width)
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
