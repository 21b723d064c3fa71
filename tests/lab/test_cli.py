"""The command line that project.yml calls."""
import pytest

from spacy_rnn.lab.cli import overrides_from_pairs

from ..conftest import optional_dependencies_imported_by


def test_overrides_from_pairs():
    """project.yml's `overrides` variable: one string of section.key=value pairs."""
    pairs = ("corpora.train.@readers=spacy_rnn.Documents.v1 "
             "components.rnn_tagger.model.context_width=32")
    assert overrides_from_pairs(pairs) == [
        "--corpora.train.@readers", "spacy_rnn.Documents.v1",
        "--components.rnn_tagger.model.context_width", "32"]
    assert overrides_from_pairs("") == []
    assert overrides_from_pairs("a.b=x=y") == ["--a.b", "x=y"]


@pytest.mark.parametrize("bad", ["a.b", "=1", "--a.b=1"])
def test_overrides_from_pairs_names_a_bad_pair(bad):
    with pytest.raises(ValueError, match=f"RNN001.*--overrides.*{bad}"):
        overrides_from_pairs(bad)


def test_startup_imports_no_optional_dependency():
    """The commands import seqeval (through evaluate) when they run, and the lab's
    modules import datasets, matplotlib and ray where they use them: `--help`,
    `results` or `annotate` start without them."""
    assert optional_dependencies_imported_by("spacy_rnn.lab.cli") == set()
