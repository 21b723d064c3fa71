"""Brown-cluster bit-string prefixes as embedded token features.

Brown clusters group words by the contexts they occur in, as a binary tree:
a word's cluster is its path, a bit string, and a prefix of it names a
coarser cluster. Prefixes at several lengths are the classic NER feature
(Ratinov & Roth 2009; Turian et al. 2010): a name never seen in training
still lands in the cluster of names like it. spaCy v2 models used the same
feature; spaCy's own table (`spacy-lookups-data`, `en_lexeme_cluster`: about
a million case-sensitive words) stores each path little-endian, so the n-bit
prefix is `cluster & (2**n - 1)` (spaCy v2's init-model: `int(bits[::-1], 2)`).

The table is read once, at `initialize`, from spacy-lookups-data or a file,
and kept in the layer's attrs as two arrays (sorted string hashes and their
clusters), so it is saved with the weights and a loaded pipeline needs
neither the package nor the file. Lookup is one `searchsorted` per batch;
a word missing in its own case falls back to its lowercase form.
"""
import gzip
import json
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import LOWER, ORTH
from spacy.strings import get_string_id
from spacy.tokens import Doc
from thinc.api import HashEmbed, Model, chain, concatenate, with_array
from thinc.types import Ragged

from ..errors import Errors

LOOKUPS = "spacy-lookups-data"
NO_CLUSTER = numpy.uint64(0)  # the key of a word the table does not have
FOUND = numpy.uint64(1 << 40)  # set on every found prefix, so prefix 0 != missing

# The node that carries the cluster table: initialize finds it by this name.
NODE_NAME = "cluster_keys"


def ClusterFeatures(width: int, prefixes: Sequence[int], rows: int = 2048
                    ) -> Model[List[Doc], Ragged]:
    """One embedding per cluster-prefix length, concatenated: width * len(prefixes).

    width (int): Output width per prefix length.
    prefixes (Sequence[int]): Prefix lengths in bits, e.g. [4, 6, 10, 20].
    rows (int): Rows of each hash table (there are at most a few thousand
        distinct prefixes: 1,000 clusters in spaCy's table).
    """
    for setting, value in [("cluster_width", width), ("cluster_rows", rows)] + [
            ("cluster_prefixes", p) for p in prefixes]:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(Errors.RNN001.format(
                setting=setting, value=value, expected="an integer >= 1"))
    if not prefixes:
        raise ValueError(Errors.RNN001.format(
            setting="cluster_prefixes", value=list(prefixes), expected="one length or more"))
    keys: Model[List[Doc], Ragged] = Model(
        NODE_NAME, _cluster_keys_forward, init=_cluster_keys_init,
        attrs={"prefixes": [int(p) for p in prefixes], "keys": None, "clusters": None})
    return chain(keys, with_array(concatenate(*[
        HashEmbed(width, rows, column=i, seed=41 + i, dropout=0.0)
        for i in range(len(prefixes))])))


def set_cluster_table(model: Model, keys: numpy.ndarray, clusters: numpy.ndarray) -> None:
    """Install a table (string hashes -> little-endian cluster paths) on a cluster_keys node."""
    order = numpy.argsort(keys, kind="stable")
    model.attrs["keys"] = numpy.ascontiguousarray(keys[order], dtype="uint64")
    model.attrs["clusters"] = numpy.ascontiguousarray(clusters[order], dtype="uint64")


def read_cluster_table(source: str, lang: str) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The cluster table from spacy-lookups-data (source "spacy-lookups-data") or a file.

    Files: JSON (optionally .gz) {word: cluster int, as spaCy stores them}, or
    a Brown paths file as wcluster writes it ("bits<TAB>word<TAB>count" per line).
    RETURNS: string hashes (uint64) and clusters (uint64), same length.
    """
    if source == LOOKUPS:
        from spacy.lookups import load_lookups

        try:
            table = load_lookups(lang, ["lexeme_cluster"]).get_table("lexeme_cluster")
        except (ValueError, KeyError, ImportError) as err:
            raise ValueError(Errors.RNN080.format(source=source, lang=lang, reason=err)) from None
        keys = numpy.fromiter(table.keys(), dtype="uint64", count=len(table))
        return keys, numpy.fromiter(table.values(), dtype="uint64", count=len(table))
    return _read_cluster_file(Path(source))


def _read_cluster_file(path: Path) -> Tuple[numpy.ndarray, numpy.ndarray]:
    if not path.is_file():
        raise ValueError(Errors.RNN081.format(path=path, line=0, problem="does not exist"))
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf8") as file_:
        if path.name.endswith((".json", ".json.gz")):
            try:
                mapping: Dict[str, int] = json.load(file_)
            except json.JSONDecodeError as err:
                raise ValueError(Errors.RNN081.format(path=path, line=err.lineno,
                                                      problem=err.msg)) from None
            return _arrays(path, list(mapping.items()))
        pairs = []
        for i, line in enumerate(file_, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or not parts[0] or set(parts[0]) - {"0", "1"}:
                raise ValueError(Errors.RNN081.format(
                    path=path, line=i, problem="expected 'bits<TAB>word<TAB>count'"))
            pairs.append((parts[1], int(parts[0][::-1], 2)))
    return _arrays(path, pairs)


def _arrays(path: Path, pairs: List[Tuple[str, object]]) -> Tuple[numpy.ndarray, numpy.ndarray]:
    if not pairs:
        raise ValueError(Errors.RNN081.format(path=path, line=0, problem="has no entries"))
    for word, value in pairs:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(Errors.RNN081.format(
                path=path, line=0, problem=f"{word!r} has cluster {value!r}, not an int >= 0"))
    keys = numpy.asarray([get_string_id(w) for w, _ in pairs], dtype="uint64")
    return keys, numpy.asarray([v for _, v in pairs], dtype="uint64")


def cluster_keys(orth: numpy.ndarray, lower: numpy.ndarray, keys: numpy.ndarray,
                 clusters: numpy.ndarray, prefixes: Sequence[int]) -> numpy.ndarray:
    """Per token, one key per prefix length (ndarray[n_tokens, len(prefixes)], uint64).

    orth, lower (ndarray[n_tokens]): the tokens' ORTH and LOWER hashes.
    """
    found, value = _lookup(orth, keys, clusters)
    if not found.all():
        # Not in its own case: try the lowercase form ("REUTERS" -> "reuters").
        low_found, low_value = _lookup(lower, keys, clusters)
        value = numpy.where(found, value, low_value)
        found = found | low_found
    masks = numpy.asarray([(1 << p) - 1 for p in prefixes], dtype="uint64")
    out = (value[:, None] & masks[None, :]) | FOUND
    return numpy.where(found[:, None], out, NO_CLUSTER)


def _lookup(hashes: numpy.ndarray, keys: numpy.ndarray,
            clusters: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
    index = numpy.minimum(numpy.searchsorted(keys, hashes), len(keys) - 1)
    found = keys[index] == hashes
    return found, numpy.where(found, clusters[index], 0).astype("uint64")


def _cluster_keys_init(model: Model, X: Optional[List[Doc]] = None, Y: object = None) -> None:
    if model.attrs["keys"] is None:
        raise ValueError(Errors.RNN082)


def _cluster_keys_forward(
    model: Model[List[Doc], Ragged], docs: List[Doc], is_train: bool
) -> Tuple[Ragged, Callable]:
    keys, clusters = model.attrs["keys"], model.attrs["clusters"]
    if keys is None:
        raise ValueError(Errors.RNN082)
    prefixes = model.attrs["prefixes"]
    # One lookup for the whole batch, not one per doc.
    arrays = [doc.to_array([ORTH, LOWER]).astype("uint64").reshape(-1, 2) for doc in docs]
    both = numpy.concatenate(arrays) if arrays else numpy.zeros((0, 2), dtype="uint64")
    out = cluster_keys(both[:, 0], both[:, 1], keys, clusters, prefixes)
    lengths = model.ops.asarray1i([len(doc) for doc in docs])
    return Ragged(model.ops.asarray(out), lengths), lambda dY: []
