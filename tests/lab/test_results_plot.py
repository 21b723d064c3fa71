"""The results table as a figure."""
import pytest

from spacy_rnn.lab.results_plot import plot_results


def test_plot_results_needs_rows(tmp_path):
    with pytest.raises(ValueError, match="RNN048"):
        plot_results([], tmp_path / "x.png")
