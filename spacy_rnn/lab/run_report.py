"""One run's report (`python -m spacy_rnn report`): a learning curve, per-type F1 bars,
the calibration of entity confidences, gradient flow, and a Markdown summary (figures
drawn as plotting.py explains)."""
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from ..errors import Errors
from ..training.diagnostics import pool_distance_profiles, read_diagnostics_log
from .calibration_plots import (
    PRECISION_RECALL_PNG,
    RELIABILITY_PNG,
    calibration_markdown,
    plot_precision_recall,
    plot_reliability,
)
from .evaluate import PERSON, metrics_markdown
from .plotting import new_figure, save_figure

TRAINING_CURVE_PNG = "training_curve.png"
PER_TYPE_PNG = "per_type_f1.png"
GRADIENT_FLOW_PNG = "gradient_flow.png"
SUMMARY_MD = "README.md"
# Dev-set scores drawn on the learning curve, with their legend names.
CURVE_SCORES = {"ents_f": "F1", "ents_p": "precision", "ents_r": "recall"}
PERSON_COLOR = "#d62728"
OTHER_COLOR = "#1f77b4"


def read_training_log(path: Union[str, Path]) -> List[Dict]:
    """Read the JSON-lines training log (spacy_rnn.TrainingLogger.v1 or ConsoleLogger.v3).

    Each line holds one evaluation: {"epoch": int, "step": int, "losses":
    {component: float}, "scores": {"ents_f": float in 0-100, ...}, "score":
    float in 0-1}, plus "seconds" and "words" from TrainingLogger.v1. Blank lines are skipped.

    path (Union[str, Path]): The log file.
    RETURNS (List[Dict]): One dict per line, in file order.
    """
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8") as file_:
        for line_no, line in enumerate(file_, start=1):
            if line.strip():
                rows.append(_parse_log_line(line, path, line_no))
    return rows


def plot_training_curve(
    log_rows: Sequence[Dict], png_path: Union[str, Path], title: str = ""
) -> Path:
    """Draw training loss and dev-set entity scores against the training step.

    log_rows (Sequence[Dict]): Rows from `read_training_log`.
    png_path (Union[str, Path]): Where to write the PNG.
    title (str): Figure title.
    RETURNS (Path): The PNG path.
    """
    fig = new_figure(figsize=(11, 4.2))
    loss_ax, score_ax = fig.subplots(1, 2)
    steps = [row["step"] for row in log_rows]
    for component in sorted({name for row in log_rows for name in row["losses"]}):
        losses = [row["losses"].get(component) for row in log_rows]
        loss_ax.plot(steps, losses, marker=".", label=f"loss {component}")
    _style_axes(loss_ax, "Training loss", "loss (since previous evaluation)")
    for key, name in CURVE_SCORES.items():
        if any(key in row["scores"] for row in log_rows):
            values = [row["scores"].get(key) for row in log_rows]
            style = {"linewidth": 2.2} if key == "ents_f" else {"linewidth": 1.2, "alpha": 0.8}
            score_ax.plot(steps, values, marker=".", label=f"dev {name}", **style)
    _mark_best(score_ax, log_rows)
    score_ax.set_ylim(0, 100)
    _style_axes(score_ax, "Dev-set entity scores", "score (%)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, png_path)


def plot_per_type_f1(metrics: Dict, png_path: Union[str, Path], title: str = "") -> Path:
    """Draw the test F1 of each entity type as horizontal bars.

    PER is drawn first and in its own colour; the overall (micro) F1 is a
    dashed vertical line; each bar is annotated with its F1 and tick labels
    show the support.

    metrics (Dict): The output of `evaluate_model` (or `seqeval_report`).
    png_path (Union[str, Path]): Where to write the PNG.
    title (str): Figure title.
    RETURNS (Path): The PNG path.
    """
    per_type = metrics["per_type"]
    labels = [PERSON] + sorted(label for label in per_type if label != PERSON)
    f1s = [100 * per_type.get(label, {}).get("f1", 0.0) for label in labels]
    supports = [per_type.get(label, {}).get("support", 0) for label in labels]
    overall_f1 = 100 * metrics["overall"]["f1"]
    fig = new_figure(figsize=(8, 1.4 + 0.5 * len(labels)))
    ax = fig.subplots()
    colors = [PERSON_COLOR if label == PERSON else OTHER_COLOR for label in labels]
    bars = ax.barh(range(len(labels)), f1s, color=colors, height=0.6)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels([f"{label} (n={n})" for label, n in zip(labels, supports)])
    ax.invert_yaxis()  # PER on top, in reading order
    # Highlight the label too: a PER bar at 0 F1 has no colour to show.
    person_tick = ax.get_yticklabels()[0]
    person_tick.set_color(PERSON_COLOR)
    person_tick.set_fontweight("bold")
    for bar, value in zip(bars, f1s):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{value:.1f}",
                va="center", fontsize=9)
    ax.axvline(overall_f1, color="black", linestyle="--", linewidth=1.2,
               label=f"overall F1 {overall_f1:.1f}")
    # Room on the right for the annotation of a bar at 100.
    ax.set_xlim(0, 110)
    ax.set_xlabel("test F1 (%)")
    # Below the axes, so that it can never hide a bar or its annotation.
    fig.legend(loc="outside lower center", fontsize=9, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or "Test F1 per entity type")
    return save_figure(fig, png_path)


def plot_gradient_flow(
    runs: Dict[str, Sequence[Dict]], png_path: Union[str, Path], title: str = ""
) -> Path:
    """Gradient reach by distance (one line per run, e.g. per cell) and clipping over training.

    Left: mean ||dL_t/dx_k|| against the signed distance t - k, pooled over
    the whole run, on a log scale (positive = the forward direction's memory,
    negative = the backward direction's). Right: the share of updates in which
    gradient clipping fired, per evaluation interval.

    runs (Dict[str, Sequence[Dict]]): label -> rows of a diagnostics log
        (spacy_rnn.training.diagnostics.read_diagnostics_log).
    png_path (Union[str, Path]): Where to write the PNG.
    title (str): Figure title.
    RETURNS (Path): The PNG path.
    """
    fig = new_figure(figsize=(11, 4.2))
    reach_ax, clip_ax = fig.subplots(1, 2)
    for label, rows in runs.items():
        profile = pool_distance_profiles(rows)
        distances = sorted(d for d in profile if profile[d] > 0)
        reach_ax.plot(distances, [profile[d] for d in distances], marker=".", label=label)
        clip_ax.plot([row["step"] for row in rows], [100 * row["clip_rate"] for row in rows],
                     marker=".", label=label)
    reach_ax.set_yscale("log")
    reach_ax.set_title("Gradient reach: mean ||dL_t / dx_k||")
    reach_ax.set_xlabel("distance t - k (tokens; > 0: forward direction)")
    reach_ax.grid(alpha=0.3)
    if runs:
        reach_ax.legend(fontsize=9)
    clip_ax.set_ylim(-2, 102)
    _style_axes(clip_ax, "Gradient clipping", "updates clipped (%)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, png_path)


def write_report(
    metrics_json: Union[str, Path],
    log_path: Optional[Union[str, Path]],
    output_dir: Union[str, Path],
    diagnostics_path: Optional[Union[str, Path]] = None,
) -> Path:
    """Write the plots and a Markdown summary that links them.

    metrics_json (Union[str, Path]): Metrics written by `evaluate.write_metrics`.
    log_path (Optional[Union[str, Path]]): The training log (JSON lines), or None.
        If it is missing or empty, only the per-type plot is drawn and the
        summary says so.
    diagnostics_path (Optional[Union[str, Path]]): The gradient-flow log of
        spacy_rnn.TrainingLogger.v1; plotted when it has rows (it is empty
        when diagnostics were off).
    output_dir (Union[str, Path]): Where to write the PNGs and the summary.
    RETURNS (Path): The path of the Markdown summary.
    """
    metrics = _read_metrics(Path(metrics_json))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    name = _run_name(metrics)
    log_rows = _read_log_if_any(log_path)
    plot_per_type_f1(metrics, output_dir / PER_TYPE_PNG, title=f"Test F1 per entity type: {name}")
    if log_rows:
        plot_training_curve(log_rows, output_dir / TRAINING_CURVE_PNG, title=f"Training: {name}")
    diagnostics = _read_diagnostics_if_any(diagnostics_path)
    text = _summary_markdown(metrics, name, log_path, log_rows)
    calibration = metrics.get("calibration")
    if calibration is not None and calibration["all"]["n"]:
        # Two-line titles: a run's name is long, and these figures are narrow.
        plot_reliability(calibration, output_dir / RELIABILITY_PNG,
                         title=f"Reliability of entity confidences\n{name}")
        plot_precision_recall(calibration, output_dir / PRECISION_RECALL_PNG,
                              title=f"{calibration['label']} by confidence threshold\n{name}")
        text += "\n".join(calibration_markdown(calibration))
    if diagnostics:
        cell = diagnostics[0].get("cell", "model")
        plot_gradient_flow({cell: diagnostics}, output_dir / GRADIENT_FLOW_PNG,
                           title=f"Gradient flow: {name}")
        text += _diagnostics_summary(diagnostics)
    md_path = output_dir / SUMMARY_MD
    md_path.write_text(text, encoding="utf-8")
    return md_path


def _read_diagnostics_if_any(path: Optional[Union[str, Path]]) -> List[Dict]:
    if path is None or not Path(path).is_file():
        return []
    return read_diagnostics_log(path)


def _diagnostics_summary(rows: List[Dict]) -> str:
    updates = sum(row["updates"] for row in rows)
    clipped = sum(row["clipped_updates"] for row in rows)
    share = 100 * clipped / updates if updates else 0.0
    return "\n".join([
        "## Gradient flow", "",
        f"Gradient clipping fired in {clipped} of {updates} updates ({share:.1f}%).", "",
        f"![Gradient flow]({GRADIENT_FLOW_PNG})", ""])


# --- helpers ----------------------------------------------------------------


def _parse_log_line(line: str, path: Path, line_no: int) -> Dict:
    """Parse and check one log line; errors name the file and line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        problem = f"invalid JSON ({err})"
        raise ValueError(Errors.RNN020.format(path=path, line=line_no, problem=problem)) from None
    problem = _log_row_problem(row)
    if problem:
        raise ValueError(Errors.RNN020.format(path=path, line=line_no, problem=problem))
    return row


def _log_row_problem(row: object) -> Optional[str]:
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    if not isinstance(row.get("step"), int):
        return "missing or non-integer 'step'"
    for key in ("losses", "scores"):
        if not isinstance(row.get(key), dict):
            return f"missing or non-object {key!r}"
        # None is allowed: it is what spaCy writes for a score it could not compute.
        for name, value in row[key].items():
            if value is not None and not isinstance(value, (int, float)):
                return f"non-numeric value {value!r} for {key}.{name}"
    return None


def _read_metrics(path: Path) -> Dict:
    if not path.exists():
        raise ValueError(Errors.RNN044.format(path=path, key="overall"))
    metrics = json.loads(path.read_text(encoding="utf-8"))
    for key in ("overall", "per_type"):
        if key not in metrics:
            raise ValueError(Errors.RNN044.format(path=path, key=key))
    return metrics


def _read_log_if_any(log_path: Optional[Union[str, Path]]) -> List[Dict]:
    # A missing log is normal (e.g. evaluating a downloaded model): report it
    # in the summary instead of failing. A malformed log still raises.
    if log_path is None or not Path(log_path).is_file():
        return []
    return read_training_log(log_path)


def _run_name(metrics: Dict) -> str:
    parts = [str(metrics[key]) for key in ("dataset", "config") if metrics.get(key)]
    if metrics.get("seed") is not None:
        parts.append(f"seed {metrics['seed']}")
    return " / ".join(parts) or "model"


def _summary_markdown(
    metrics: Dict, name: str, log_path: Optional[Union[str, Path]], log_rows: List[Dict]
) -> str:
    lines = [f"# Evaluation report: {name}", ""]
    facts = []
    if metrics.get("n_docs") is not None:
        facts.append(f"test documents: {metrics['n_docs']}")
    if metrics.get("words_per_second"):
        facts.append(f"speed: {metrics['words_per_second']:,.0f} words/s")
    if facts:
        lines += ["; ".join(facts), ""]
    lines += ["## Test scores (seqeval, strict IOB2)", "", metrics_markdown(metrics)]
    lines += [f"![Test F1 per entity type]({PER_TYPE_PNG})", ""]
    lines += ["## Training", ""]
    if log_rows:
        lines += [_training_summary(log_rows), "", f"![Training curve]({TRAINING_CURVE_PNG})", ""]
    elif log_path is not None and Path(log_path).is_file():
        lines += [f"The training log {log_path} has no entries: no training curve.", ""]
    else:
        where = f" at {log_path}" if log_path is not None else ""
        lines += [f"No training log found{where}: no training curve.", ""]
    return "\n".join(lines)


def _training_summary(log_rows: List[Dict]) -> str:
    last = log_rows[-1]
    text = f"{len(log_rows)} evaluations, last at epoch {last.get('epoch')}, step {last['step']}."
    best = best_row(log_rows)
    if best is not None:
        text += f" Best dev ents_f: {best['scores']['ents_f']:.2f} at step {best['step']}."
    return text


def best_row(log_rows: Sequence[Dict]) -> Optional[Dict]:
    """The evaluation with the best dev ents_f (the one model-best holds); None if none."""
    scored = [row for row in log_rows if row["scores"].get("ents_f") is not None]
    return max(scored, key=lambda row: row["scores"]["ents_f"]) if scored else None


def _mark_best(ax, log_rows: Sequence[Dict]) -> None:
    """Mark the best dev F1: that is the checkpoint spaCy saves as model-best."""
    best = best_row(log_rows)
    if best is None:
        return
    step, value = best["step"], best["scores"]["ents_f"]
    ax.scatter([step], [value], s=80, facecolors="none", edgecolors="black", zorder=3,
               label=f"best F1 {value:.1f} (step {step})")


def _style_axes(ax, title: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9)
