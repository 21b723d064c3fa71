"""The one-hot vocabulary (top-N words + UNK) as a row lookup, with UNK dropout
and rows optionally started from the static vectors."""
from collections import Counter
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import IDS as ATTR_IDS
from spacy.strings import get_string_id
from spacy.tokens import Doc
from spacy.vocab import Vocab
from thinc.api import Model
from thinc.types import Ragged

from ..errors import Errors
from .settings import check_positive, check_probability

UNK_ROW = 0  # row 0 of the one-hot vocabulary table is the UNK vector

# The layer's name in the model: initialize finds it by this to install the words.
NODE_NAME = "vocab_embed"


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
    check_positive("vocab_size", vocab_size)
    check_positive("vocab_width", width)
    check_probability("unk_dropout", unk_dropout)
    if attr.upper() not in ATTR_IDS:
        raise ValueError(Errors.RNN001.format(
            setting="vocab_attr", value=attr, expected="a spaCy token attribute, e.g. NORM"))
    return Model(
        NODE_NAME,
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


def rank_words(docs: Iterable[Doc], attr: str = "NORM") -> List[str]:
    """The docs' words (values of `attr`) by descending frequency, ties in
    alphabetical order: the one-hot vocabulary's order, wherever it is counted
    (the component at initialize, the project's preprocess step)."""
    counts: Counter = Counter()
    attr_id = ATTR_IDS[attr]
    strings = None
    for doc in docs:
        strings = doc.vocab.strings
        counts.update(doc.to_array(attr_id).tolist())
    if strings is None:
        return []
    words = [(strings[key], n) for key, n in counts.items()]
    return [w for w, _ in sorted(words, key=lambda wn: (-wn[1], wn[0]))]
