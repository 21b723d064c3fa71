"""The results table as a figure (`python -m spacy_rnn results --plot`): every system's
test F1 and PER F1 side by side, one panel per test set (drawn as plotting.py explains)."""
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Union

from ..errors import Errors
from .plotting import new_figure, save_figure


def _plot_label(row: Dict, usual_budget: str) -> str:
    """A results row's name in the plot: its config, plus what sets it apart."""
    label = row["config"]
    if row["eval_on"]:
        label += f" (trained on {row['dataset']})"
    if row.get("tokens") == "spaCy":
        label += " [spaCy tokens]"
    if row.get("budget", "") not in ("", usual_budget):
        label += f" [{row['budget']}]"
    return label


def plot_results(table: Sequence[Dict], png_path: Union[str, Path]) -> Path:
    """Systems side by side per test set: test F1 and PER F1 (mean, ± std over seeds).

    One panel per test set. A cross-domain row (a model scored on another
    dataset's test split) appears in the panel of the set it was scored on;
    rows scored on the person type only have no overall bar. Rows trained on
    spaCy's re-tokenization rather than the corpus's tokens say so, and so do
    rows given another budget than most rows were.

    table (Sequence[Dict]): rows from `spacy_rnn.lab.results.aggregate`.
    png_path (Union[str, Path]): where to write the PNG.
    RETURNS (Path): png_path.
    """
    panels: Dict[str, List[Dict]] = {}
    for row in table:
        panels.setdefault(row["eval_on"] or row["dataset"], []).append(row)
    if not panels:
        raise ValueError(Errors.RNN048)
    ordered = sorted(panels.items())
    budgets = Counter(row.get("budget", "") for row in table)
    usual_budget = budgets.most_common(1)[0][0]
    height = sum(len(rows) for _, rows in ordered) * 0.45 + 1.2 * len(ordered)
    fig = new_figure((8, max(3.0, height)))
    axes = fig.subplots(len(ordered), 1, squeeze=False,
                        height_ratios=[len(rows) + 1 for _, rows in ordered])[:, 0]
    for ax, (test_set, rows) in zip(axes, ordered):
        names = [_plot_label(row, usual_budget) for row in rows]
        ys = list(range(len(rows)))
        for offset, key, label in ((-0.2, "f1", "test F1"), (0.2, "per_f1", "test PER F1")):
            shown = [not (key == "f1" and row.get("types")) for row in rows]
            values = [row[key][0] if show else 0.0 for row, show in zip(rows, shown)]
            errors = [(row[key][1] or 0.0) if show else 0.0 for row, show in zip(rows, shown)]
            ax.barh([y + offset for y in ys], values, height=0.4, xerr=errors, label=label)
        ax.set_yticks(ys, names)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_title(test_set)
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=2, fontsize=9)
    axes[-1].set_xlabel("F1 (seqeval, strict IOB2, test split)")
    return save_figure(fig, png_path)
