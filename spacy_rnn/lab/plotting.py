"""Figures drawn on matplotlib's Agg canvas directly (`Figure` + `FigureCanvasAgg`), not
through pyplot: no display is needed, pyplot's global backend and figure registry stay
untouched, and figures are freed as soon as they go out of scope. matplotlib is an
optional dependency (the "project" extra), so it is only imported when a plot is drawn."""
from pathlib import Path
from typing import TYPE_CHECKING, Union

from ..errors import Errors

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 120


def new_figure(figsize) -> "Figure":
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(Errors.RNN045) from None
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: "Figure", png_path: Union[str, Path]) -> Path:
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path)
    return png_path
