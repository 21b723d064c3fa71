"""The calibration plots of a run's report (run_report.py): a reliability diagram and PER's
precision/recall by threshold, drawn from the "calibration" entry of an evaluation's metrics."""
from pathlib import Path
from typing import Dict, List, Union

from .plotting import new_figure, save_figure

RELIABILITY_PNG = "reliability.png"
PRECISION_RECALL_PNG = "precision_recall_by_threshold.png"


def plot_reliability(calibration: Dict, png_path: Union[str, Path], title: str = "") -> Path:
    """Accuracy against mean confidence per bin, bar width by bin, the diagonal as ideal.

    calibration (Dict): evaluate_model's metrics["calibration"].
    RETURNS (Path): The PNG path.
    """
    fig = new_figure(figsize=(5.5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    for name, rel, color in (("all entities", calibration["all"], "#1f77b4"),
                             (calibration["label"], calibration["per_label"], "#d62728")):
        points = [(b["confidence"], b["accuracy"], b["count"]) for b in rel["bins"] if b["count"]]
        if not points:
            continue
        xs, ys, counts = zip(*points)
        ece = rel["ece"]
        ax.plot(xs, ys, marker="o", color=color, label=f"{name}: ECE {100 * ece:.2f}% (n={rel['n']})")
        for x, y, n in zip(xs, ys, counts):
            ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7,
                        color=color)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("mean confidence in bin")
    ax.set_ylabel("fraction exactly right")
    ax.set_title(title or "Reliability of entity confidences")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return save_figure(fig, png_path)


def plot_precision_recall(calibration: Dict, png_path: Union[str, Path], title: str = "") -> Path:
    """Precision and recall of the label's entities kept at each confidence threshold."""
    curve = calibration["curve"]
    fig = new_figure(figsize=(6.5, 4.5))
    ax = fig.subplots()
    ax.plot(curve["threshold"], [100 * p for p in curve["precision"]], label="precision",
            color="#d62728")
    ax.plot(curve["threshold"], [100 * r for r in curve["recall"]], label="recall",
            color="#1f77b4")
    for target, point in calibration["thresholds"].items():
        if point is not None:
            ax.axvline(point["threshold"], color="grey", linestyle=":", linewidth=1)
            # Text on the side of the line with more room, so it stays in the axes.
            left = point["threshold"] > 0.5
            ax.annotate(f"P>={100 * float(target):g}%: t={point['threshold']:.3f}, "
                        f"R={100 * point['recall']:.1f}%",
                        (point["threshold"], 100 * point["recall"]), fontsize=7,
                        textcoords="offset points", xytext=(-6 if left else 6, -14),
                        ha="right" if left else "left")
    ax.set_xlim(0, 1)
    ax.set_xlabel("threshold (keep entities with confidence >= t)")
    ax.set_ylabel("%")
    ax.set_title(title or f"{calibration['label']}: precision and recall by threshold")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower left")
    return save_figure(fig, png_path)


def calibration_markdown(calibration: Dict) -> List[str]:
    """The report's calibration section: ECE and the thresholds for precision targets."""
    label = calibration["label"]
    lines = ["## Entity confidence", "",
             f"Expected calibration error ({len(calibration['all']['bins'])} bins): "
             f"{_pct(calibration['all']['ece'])} over {calibration['all']['n']} predicted "
             f"entities, {_pct(calibration['per_label']['ece'])} over {label} "
             f"({calibration['per_label']['n']}).", ""]
    for target, point in calibration["thresholds"].items():
        if point is None:
            lines.append(f"- No threshold gives {label} precision >= {100 * float(target):g}%.")
        else:
            lines.append(f"- {label} precision >= {100 * float(target):g}%: threshold "
                         f"{point['threshold']:.3f} keeps recall {100 * point['recall']:.1f}% "
                         f"(precision {100 * point['precision']:.1f}%).")
    lines += ["", f"![Reliability]({RELIABILITY_PNG})", "",
              f"![{label} precision and recall by threshold]({PRECISION_RECALL_PNG})", ""]
    return lines


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"
