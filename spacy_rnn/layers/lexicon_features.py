"""Lexicon (gazetteer) features: where each named phrase list matches, embedded.

A list of first names or surnames tells the tagger what a word often is, which
helps most with names it never saw in training (Ratinov & Roth 2009; Chiu &
Nichols 2016 for a BiLSTM). Each list marks its matches per token with a BILUO
code: B, I, L for the first, inside and last token of a multi-token match, U
for a one-token match, none elsewhere. A token carries one code per list, and
its feature vector is the sum of one learned row per (list, code) it has: a
multi-hot vector over 4 * n_lists cells, projected. The width does not depend
on how many lists there are, so the lists can come at `initialize`.

Matching rules:

- A phrase is its tokens split on whitespace, matched against the doc's tokens
  (spaCy may cut "Jean-Luc" into three tokens: a list for spaCy-tokenized text
  should hold phrases tokenized the same way). At most MAX_PHRASE_TOKENS tokens.
- Case ("lexicon_case"): "exact" compares ORTH with the phrase as written;
  "lower" (the default) compares LOWER with the lowercased phrase; "title" is
  "lower" where every token of the match also starts with a capital letter
  ("Rose", "ROSE" and "McRose" match "rose"; "rose" does not). "lower" is the
  default because TokenEmbed's other features (SHAPE, the character CNN)
  already say whether a token is capitalized and the Maxout after the
  concatenation combines the two, and because it still fires on lowercased or
  all-caps text; "title" is for a model without those features.
- Within one list, the longest match wins where matches overlap, and of two
  overlapping matches of the same length the leftmost wins (spaCy's
  `filter_spans` rule). Lists are independent: "Harry" can be U for first
  names and B for a list of full names at once. Matches never cross docs.

Matching is vectorized over the batch: the hashes of each n-gram (n up to the
longest phrase) are looked up with one `searchsorted` per length in a sorted
table of phrase keys, each with a bitmask of the lists that hold the phrase.

Lexicon dropout: in training, each match is hidden with probability
`lexicon_dropout` (the whole match, so no B comes without its L), so the tagger
learns to read the context too rather than trust a list blindly; a list is
never complete, and it holds common words. Never at inference.

The lists are read at `initialize` and kept, normalized, in the layer's attrs,
so they are saved with the weights and a loaded pipeline predicts identically
without the list files.
"""
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy
from spacy.attrs import IDX, LOWER, ORTH
from spacy.strings import get_string_id
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Ragged

from ..errors import Errors

CASES = ("exact", "lower", "title")
MAX_PHRASE_TOKENS = 8
MAX_LISTS = 64  # one bit per list in a uint64 mask
# Per-token codes, per list (BILUO, as spaCy names entity tags).
NONE, B, I, L, U = 0, 1, 2, 3, 4
N_CODES = 4  # learned rows per list: B, I, L, U (none adds nothing)
_MIX = numpy.uint64(0x9E3779B97F4A7C15)  # odd: (a * M) ^ b keeps a and b apart

# Compiled tables per phrase list, kept outside `model.attrs` so that they are
# never serialized (the phrases are the source of truth). Keyed by the phrases
# object's id, holding the object itself so the id cannot be reused while cached.
Tables = Dict[int, Tuple[numpy.ndarray, numpy.ndarray]]
_TABLE_CACHE: Dict[int, Tuple[object, Tables]] = {}
_TABLE_CACHE_SIZE = 8

# The node that carries the phrase lists: initialize finds it by this name.
NODE_NAME = "lexicon_embed"


def LexiconFeatures(width: int, dropout: float = 0.0, case: str = "lower"
                    ) -> Model[List[Doc], Ragged]:
    """The summed embedding of each token's match codes, one code per list.

    width (int): Output width per token.
    dropout (float): In training, the probability that a match is hidden.
    case (str): "exact", "lower" or "title" (see the module docstring).
    """
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ValueError(Errors.RNN001.format(
            setting="lexicon_width", value=width, expected="an integer >= 1"))
    if (not isinstance(dropout, (int, float)) or isinstance(dropout, bool)
            or not 0.0 <= dropout < 1.0):
        raise ValueError(Errors.RNN001.format(
            setting="lexicon_dropout", value=dropout, expected="a number in [0, 1)"))
    if case not in CASES:
        raise ValueError(Errors.RNN001.format(
            setting="lexicon_case", value=case, expected=f"one of {', '.join(CASES)}"))
    return Model(
        NODE_NAME,
        _lexicon_forward,
        init=_lexicon_init,
        params={"E": None},
        dims={"nO": width, "nV": None},
        attrs={"case": case, "dropout": float(dropout), "names": None, "phrases": None},
    )


def read_lexicons(files: Union[str, Path, Mapping[str, Union[str, Path]]]
                  ) -> Dict[str, List[str]]:
    """Read {list name: file}, or a folder of lists (each *.txt file one list, named
    by its stem), into {list name: phrases}, checking every file.

    The folder form lets a config say `lexicons = ${paths.lexicons}` and the
    project pass the folder its `name-lists` step writes.
    RETURNS (Dict[str, List[str]]): each file's phrases, whitespace-normalized,
        in file order, without duplicates.
    """
    if isinstance(files, (str, Path)):
        folder = Path(files)
        if not folder.is_dir():
            raise ValueError(Errors.RNN092.format(
                value=str(files), problem="it is not a folder (nor a dict of list name -> file)"))
        files = {path.stem: path for path in sorted(folder.glob("*.txt"))}
        if not files:
            raise ValueError(Errors.RNN092.format(
                value=str(folder), problem="the folder holds no *.txt list"))
    if not isinstance(files, Mapping) or not files:
        raise ValueError(Errors.RNN092.format(
            value=files, problem="it is not a non-empty dict of list name -> file"))
    if len(files) > MAX_LISTS:
        raise ValueError(Errors.RNN092.format(
            value=list(files), problem=f"it has {len(files)} lists, more than {MAX_LISTS}"))
    for name, path in files.items():
        if not isinstance(name, str) or not name:
            raise ValueError(Errors.RNN092.format(
                value=dict(files), problem=f"the list name {name!r} is not a non-empty string"))
        if not isinstance(path, (str, Path)):
            raise ValueError(Errors.RNN092.format(
                value=dict(files), problem=f"the file of {name!r} is {path!r}, not a path"))
    return {name: read_lexicon(Path(path)) for name, path in files.items()}


def read_lexicon(path: Path) -> List[str]:
    """One phrase per line (UTF-8; blank lines skipped), tokens split on whitespace."""
    if not path.exists():
        raise ValueError(Errors.RNN091.format(path=path, line=0, problem="does not exist",
                                              max=MAX_PHRASE_TOKENS))
    if not path.is_file():
        raise ValueError(Errors.RNN091.format(path=path, line=0, problem="is not a file",
                                              max=MAX_PHRASE_TOKENS))
    phrases: Dict[str, None] = {}
    for i, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8-sig" if i == 1 else "utf8")
        except UnicodeDecodeError as err:
            raise ValueError(Errors.RNN091.format(
                path=path, line=i, problem=f"is not UTF-8 ({err.reason} at byte {err.start})",
                max=MAX_PHRASE_TOKENS)) from None
        tokens = line.split()
        if len(tokens) > MAX_PHRASE_TOKENS:
            raise ValueError(Errors.RNN091.format(
                path=path, line=i, problem=f"has a phrase of {len(tokens)} tokens",
                max=MAX_PHRASE_TOKENS))
        if tokens:
            phrases[" ".join(tokens)] = None
    if not phrases:
        raise ValueError(Errors.RNN091.format(path=path, line=0, problem="has no phrases",
                                              max=MAX_PHRASE_TOKENS))
    return list(phrases)


def set_lexicons(model: Model, lexicons: Mapping[str, Sequence[str]]) -> None:
    """Install phrase lists ({name: phrases}) on a lexicon_embed node.

    The phrases are normalized for the node's case mode (lowercased unless
    "exact"), deduplicated and sorted, and the lists ordered by name, so the
    same lists give the same model whatever order they come in.
    """
    if not lexicons or len(lexicons) > MAX_LISTS:
        raise ValueError(Errors.RNN092.format(
            value=list(lexicons or []), problem=f"it needs 1 to {MAX_LISTS} lists"))
    lower = model.attrs["case"] != "exact"
    names = sorted(lexicons)
    phrases: List[List[str]] = []
    for name in names:
        normalized = {" ".join(p.lower().split() if lower else p.split()) for p in lexicons[name]}
        normalized.discard("")
        if not normalized:
            raise ValueError(Errors.RNN092.format(
                value=name, problem="the list has no phrases"))
        too_long = [p for p in normalized if len(p.split()) > MAX_PHRASE_TOKENS]
        if too_long:
            raise ValueError(Errors.RNN092.format(
                value=name, problem=f"the phrase {too_long[0]!r} has more than "
                                    f"{MAX_PHRASE_TOKENS} tokens"))
        phrases.append(sorted(normalized))
    model.attrs["names"] = names
    model.attrs["phrases"] = phrases
    n_rows = N_CODES * len(names)
    if model.has_dim("nV") and model.get_dim("nV") != n_rows:
        # Re-initializing with another number of lists: the table must be rebuilt.
        model.set_param("E", None)
        model.set_dim("nV", n_rows, force=True)


def compile_tables(phrases: Sequence[Sequence[str]]) -> Tables:
    """Per phrase length n: sorted n-gram keys and the bitmask of lists holding each.

    phrases (Sequence[Sequence[str]]): per list, its phrases (space-separated tokens).
    RETURNS (Dict[int, Tuple[ndarray, ndarray]]): n -> (keys uint64, masks uint64).
    """
    by_length: Dict[int, Tuple[List[List[int]], List[int]]] = {}
    for k, lexicon in enumerate(phrases):
        for phrase in lexicon:
            tokens = phrase.split()
            hashes, lists = by_length.setdefault(len(tokens), ([], []))
            hashes.append([get_string_id(t) for t in tokens])
            lists.append(k)
    tables: Tables = {}
    for n, (hashes, lists) in by_length.items():
        keys = ngram_keys(numpy.asarray(hashes, dtype="uint64").reshape(-1, n))
        masks = numpy.left_shift(numpy.uint64(1), numpy.asarray(lists, dtype="uint64"))
        order = numpy.argsort(keys, kind="stable")
        keys, masks = keys[order], masks[order]
        # One entry per key, its lists' bits OR-ed together.
        first = numpy.concatenate([[True], keys[1:] != keys[:-1]])
        starts = numpy.nonzero(first)[0]
        tables[n] = (keys[starts], numpy.bitwise_or.reduceat(masks, starts))
    return tables


def ngram_keys(hashes: numpy.ndarray) -> numpy.ndarray:
    """One uint64 key per row of token hashes (ndarray[m, n]): a fold of (k * M) ^ h."""
    key = numpy.zeros(hashes.shape[0], dtype="uint64")
    for j in range(hashes.shape[1]):
        key = (key * _MIX) ^ hashes[:, j]
    return key


def find_matches(
    keys: numpy.ndarray, lengths: Sequence[int], tables: Tables, n_lists: int,
    capital: Optional[numpy.ndarray] = None,
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """The matches kept after the longest-match rule, over a batch of docs.

    keys (ndarray[n_tokens]): the tokens' ORTH or LOWER hashes, docs concatenated.
    lengths (Sequence[int]): the docs' lengths.
    tables: from `compile_tables`.
    capital (Optional[ndarray[n_tokens]]): for "title": whether each token
        starts with a capital letter; every token of a match must.
    RETURNS (Tuple[ndarray, ndarray, ndarray]): list index, first token and
        length of each match (int64 each).
    """
    n_tokens = len(keys)
    lengths = numpy.asarray(lengths, dtype="int64")
    room = numpy.repeat(numpy.cumsum(lengths), lengths) - numpy.arange(n_tokens)
    cap_sum = (numpy.concatenate([[0], numpy.cumsum(capital, dtype="int64")])
               if capital is not None else None)
    keys = keys.astype("uint64")
    hits: Dict[int, numpy.ndarray] = {}
    key = numpy.zeros(n_tokens, dtype="uint64")
    for n in range(1, max(tables, default=0) + 1):
        shifted = numpy.zeros(n_tokens, dtype="uint64")
        shifted[: max(n_tokens - n + 1, 0)] = keys[n - 1:]
        key = (key * _MIX) ^ shifted  # the n-gram starting at each token
        if n not in tables or n_tokens == 0:
            continue
        valid = room >= n
        if cap_sum is not None:
            ends = numpy.minimum(numpy.arange(n_tokens) + n, n_tokens)
            valid &= (cap_sum[ends] - cap_sum[:n_tokens]) == n
        table_keys, table_masks = tables[n]
        pos = numpy.minimum(numpy.searchsorted(table_keys, key), len(table_keys) - 1)
        hit = valid & (table_keys[pos] == key)
        if hit.any():
            hits[n] = numpy.where(hit, table_masks[pos], numpy.uint64(0))
    found: List[Tuple[int, numpy.ndarray, int]] = []
    for k in range(n_lists):
        bit = numpy.uint64(1 << k)
        taken = numpy.zeros(n_tokens, dtype="int64")
        for n in sorted(hits, reverse=True):  # longest first
            starts = numpy.nonzero(hits[n] & bit)[0]
            if not len(starts):
                continue
            used = numpy.concatenate([[0], numpy.cumsum(taken)])
            starts = starts[used[starts + n] == used[starts]]
            if n > 1 and len(starts) > 1 and (numpy.diff(starts) < n).any():
                starts = _leftmost(starts, n)
            taken[(starts[:, None] + numpy.arange(n)).ravel()] = 1
            found.append((k, starts, n))
    if not found:
        empty = numpy.zeros(0, dtype="int64")
        return empty, empty, empty
    return (numpy.concatenate([numpy.full(len(s), k, dtype="int64") for k, s, _ in found]),
            numpy.concatenate([s for _, s, _ in found]).astype("int64"),
            numpy.concatenate([numpy.full(len(s), n, dtype="int64") for _, s, n in found]))


def _leftmost(starts: numpy.ndarray, n: int) -> numpy.ndarray:
    """Of overlapping same-length matches (sorted starts), keep the leftmost.

    Only multi-token matches of one length that overlap each other reach this
    loop: rare, and never one per token.
    """
    kept = []
    end = -1
    for s in starts.tolist():
        if s >= end:
            kept.append(s)
            end = s + n
    return numpy.asarray(kept, dtype="int64")


def match_codes(n_tokens: int, n_lists: int, lists: numpy.ndarray, starts: numpy.ndarray,
                sizes: numpy.ndarray) -> numpy.ndarray:
    """The BILUO code of every token for every list (ndarray[n_tokens, n_lists], uint8)."""
    codes = numpy.zeros((n_tokens, n_lists), dtype="uint8")
    offsets = numpy.arange(int(sizes.sum())) - numpy.repeat(numpy.cumsum(sizes) - sizes, sizes)
    size = numpy.repeat(sizes, sizes)
    code = numpy.where(size == 1, U, numpy.where(
        offsets == 0, B, numpy.where(offsets == size - 1, L, I)))
    codes[numpy.repeat(starts, sizes) + offsets, numpy.repeat(lists, sizes)] = code
    return codes


def _tables(model: Model) -> Tables:
    phrases = model.attrs["phrases"]
    if phrases is None:
        raise ValueError(Errors.RNN090)
    cached = _TABLE_CACHE.get(id(phrases))
    if cached is None or cached[0] is not phrases:
        cached = (phrases, compile_tables(phrases))
        if len(_TABLE_CACHE) >= _TABLE_CACHE_SIZE:
            _TABLE_CACHE.pop(next(iter(_TABLE_CACHE)))
        _TABLE_CACHE[id(phrases)] = cached
    return cached[1]


def doc_capitals(doc: Doc) -> numpy.ndarray:
    """Whether each token starts with a capital letter (ndarray[len(doc)], bool)."""
    if len(doc) == 0:
        return numpy.zeros(0, dtype="bool")
    codes = numpy.frombuffer(doc.text.encode("utf-32-le"), dtype="<u4")
    first = codes[doc.to_array(IDX).astype("int64")].copy().view("<U1")
    return numpy.char.isupper(first)


def batch_codes(model: Model, docs: List[Doc], is_train: bool) -> numpy.ndarray:
    """Every token's code per list for a batch (ndarray[n_tokens, n_lists], uint8),
    with lexicon dropout applied when `is_train`."""
    tables = _tables(model)
    case = model.attrs["case"]
    attr = ORTH if case == "exact" else LOWER
    lengths = [len(doc) for doc in docs]
    keys = (numpy.concatenate([doc.to_array(attr).astype("uint64") for doc in docs])
            if docs else numpy.zeros(0, dtype="uint64"))
    capital = None
    if case == "title" and docs:
        capital = numpy.concatenate([doc_capitals(doc) for doc in docs])
    n_lists = len(model.attrs["names"])
    lists, starts, sizes = find_matches(keys, lengths, tables, n_lists, capital)
    dropout = model.attrs["dropout"]
    if is_train and dropout > 0.0 and len(starts):
        # numpy's global generator: seeded by spaCy's fix_random_seed.
        keep = numpy.random.random(len(starts)) >= dropout
        lists, starts, sizes = lists[keep], starts[keep], sizes[keep]
    return match_codes(len(keys), n_lists, lists, starts, sizes)


def _lexicon_init(model: Model, X: Optional[List[Doc]] = None, Y: object = None) -> None:
    names = model.attrs["names"]
    if names is None:
        raise ValueError(Errors.RNN090)
    n_rows = N_CODES * len(names)
    model.set_dim("nV", n_rows, force=True)
    E = numpy.random.uniform(-0.1, 0.1, (n_rows, model.get_dim("nO"))).astype("float32")
    model.set_param("E", model.ops.asarray2f(E))


def _lexicon_forward(
    model: Model[List[Doc], Ragged], docs: List[Doc], is_train: bool
) -> Tuple[Ragged, Callable]:
    codes = batch_codes(model, docs, is_train)
    token_np, list_np = numpy.nonzero(codes)
    ops = model.ops
    # One host->device copy of the (sparse) matched cells.
    tokens = ops.asarray1i(token_np)
    rows = ops.asarray1i(list_np * N_CODES + codes[token_np, list_np].astype("int64") - 1)
    E = model.get_param("E")
    output = ops.alloc2f(codes.shape[0], E.shape[1])
    if len(token_np):
        ops.scatter_add(output, tokens, E[rows])
    lengths = ops.asarray1i([len(doc) for doc in docs])

    def backprop(dY: Ragged) -> List[Doc]:
        dE = ops.alloc2f(*E.shape)
        if len(token_np):
            ops.scatter_add(dE, rows, dY.data[tokens])
        model.inc_grad("E", dE)
        return []

    return Ragged(output, lengths), backprop
