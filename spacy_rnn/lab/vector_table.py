"""How a static vectors table shares its rows between words, per entity type.

A pruned table such as en_core_web_md's maps many keys onto few rows (684,830
keys onto 20,000 vectors): a rare word reads the vector of the row it was
mapped to, so a surname can read like a country ("Costa" shares its row with
"america" and "germany"). Published BiLSTM-CRF scores read a table with a row
per word (e.g. GloVe, 400,000 words). These counts show what a table gives each
entity type's tokens before any model is trained, so that a gap to those
scores can be traced to the input rather than guessed.
"""
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Set, Union

from spacy.attrs import IDS
from spacy.strings import StringStore
from spacy.tokens import Doc, Token
from spacy.vectors import Vectors

from ..errors import Errors

OUTSIDE = "O"
_ATTR_NAMES = {value: name for name, value in IDS.items()}


def is_keyed_table(vectors: Vectors) -> bool:
    """A table of rows looked up by key: not floret's subword vectors, which
    give every token a vector, and not empty."""
    return vectors.mode == "default" and vectors.shape[0] > 0 and len(vectors.key2row) > 0


def read_table(path: Union[str, Path]) -> Vectors:
    """The keyed vectors table of the pipeline directory at `path`, with its strings.

    Only the vocab's files are read: the components play no part here.

    path (Union[str, Path]): A pipeline directory, e.g. en_core_web_md's.
    RETURNS (Vectors): The table; its `strings` map its keys back to words.
    """
    vocab_dir = Path(path) / "vocab"
    if not vocab_dir.is_dir():
        raise ValueError(Errors.RNN054.format(path=path, problem=f"has no folder {vocab_dir}"))
    try:
        vectors = Vectors(strings=StringStore()).from_disk(vocab_dir)
    except (OSError, ValueError) as err:
        raise ValueError(Errors.RNN054.format(
            path=path, problem=f"has vectors files in {vocab_dir} that cannot be read "
            f"({type(err).__name__}: {err})")) from None
    if not is_keyed_table(vectors):
        problem = ("has floret vectors, which give every token a vector"
                   if vectors.mode == "floret" else "has no static vectors")
        raise ValueError(Errors.RNN054.format(path=path, problem=problem))
    return vectors


def key_attr(vectors: Vectors) -> str:
    """The token attribute the table is looked up by ("orth", "lower", ...).

    StaticVectors looks rows up by `doc.to_array(vectors.attr)`; a table read
    from disk is keyed by ORTH (spaCy 3.8 does not save `attr`).
    """
    return _ATTR_NAMES[vectors.attr].lower()


def has_row(vectors: Vectors, token: Token) -> bool:
    """Whether the table has a row for the token, looked up as StaticVectors does."""
    return getattr(token, key_attr(vectors)) in vectors.key2row


def words_per_row(vectors: Vectors) -> Dict[int, int]:
    """How many different words (case folded) share each used row.

    Case variants ("Costa", "COSTA") are one word: a table that gives them one
    row loses nothing a lower-cased table would keep. A key missing from the
    table's strings counts as a word of its own.
    """
    words: Dict[int, Set[str]] = defaultdict(set)
    strings = vectors.strings
    for key, row in vectors.key2row.items():
        words[row].add(strings[key].lower() if key in strings else str(key))
    return {row: len(group) for row, group in words.items()}


def table_summary(vectors: Vectors) -> Dict[str, int]:
    """Keys, rows, and rows by how many words share them (1, 2-9, 10 or more)."""
    sharing = words_per_row(vectors)
    return {
        "keys": len(vectors.key2row),
        "rows": int(vectors.shape[0]),
        "rows_one_word": sum(n == 1 for n in sharing.values()),
        "rows_2_to_9_words": sum(2 <= n < 10 for n in sharing.values()),
        "rows_10_plus_words": sum(n >= 10 for n in sharing.values()),
    }


def coverage_by_type(
    vectors: Vectors, docs: Iterable[Doc], label_of: Callable[[str], str] = str
) -> Dict[str, Dict]:
    """What the table gives the tokens of each gold entity type, and of the rest ("O").

    vectors (Vectors): A keyed table, e.g. from `read_table`.
    docs (Iterable[Doc]): Docs with gold entities.
    label_of (Callable[[str], str]): Maps a dataset's label to the reported
        one (e.g. `evaluate.normalize_label`, so "person" is "PER").
    RETURNS (Dict[str, Dict]): {label: {"tokens", "no_vector" (the share with
        no row), "median_words_per_row" (over the tokens with a row: how many
        words read the same vector as a typical token of that type; None if
        no token has a row)}}, entity types first, "O" last.
    """
    sharing = words_per_row(vectors)
    attr = key_attr(vectors)
    tokens: Counter = Counter()
    missing: Counter = Counter()
    shared: Dict[str, List[int]] = defaultdict(list)
    for doc in docs:
        for token in doc:
            label = label_of(token.ent_type_) if token.ent_type_ else OUTSIDE
            tokens[label] += 1
            row = vectors.key2row.get(getattr(token, attr))
            if row is None:
                missing[label] += 1
            else:
                shared[label].append(sharing[row])
    return {
        label: {
            "tokens": tokens[label],
            "no_vector": missing[label] / tokens[label],
            "median_words_per_row": statistics.median(shared[label]) if shared[label] else None,
        }
        for label in sorted(tokens, key=lambda label: (label == OUTSIDE, label))
    }


def summary_markdown(table: Dict[str, int], coverage: Dict[str, Dict]) -> str:
    """`table_summary` and `coverage_by_type` as Markdown, for a terminal or a report."""
    lines = [
        f"{table['keys']:,} keys on {table['rows']:,} rows; rows holding one word "
        f"(case folded): {table['rows_one_word']:,}, 2-9 words: "
        f"{table['rows_2_to_9_words']:,}, 10 or more: {table['rows_10_plus_words']:,}",
    ]
    if coverage:
        lines += ["", "| type | tokens | no vector | median words per row |",
                  "| --- | ---: | ---: | ---: |"]
    for label, row in coverage.items():
        median = row["median_words_per_row"]
        lines.append(f"| {label} | {row['tokens']:,} | {100 * row['no_vector']:.1f}% | "
                     f"{'n/a' if median is None else f'{median:g}'} |")
    return "\n".join(lines) + "\n"
