"""`spacy_rnn.TrainingLogger.v1`: the training logger every config of the package names.

spaCy's ConsoleLogger.v3 on the console; in its JSON-lines log, each evaluation
also says when it was reached (`seconds`, `words` seen), which is what the speed
benchmark compares across systems. With `diagnose_every > 0` it also turns on
the gradient-flow statistics of every rnn_tagger (training/diagnostics.py) and
writes them, one JSON line per component and evaluation, to `diagnostics_file`.
"""
import json
from pathlib import Path
from typing import IO, Callable, Dict, Optional, Tuple, Union

from spacy.language import Language
from spacy.training.loggers import console_logger_v3
from spacy.util import registry

from ..errors import Errors
from .diagnostics import GradientDiagnostics, cell_name, summary_line


@registry.loggers("spacy_rnn.TrainingLogger.v1")
def make_training_logger(
    progress_bar: Optional[str] = None,
    console_output: bool = True,
    output_file: Optional[Union[str, Path]] = None,
    diagnose_every: int = 0,
    diagnostics_file: Optional[Union[str, Path]] = None,
    max_distance: int = 50,
) -> Callable:
    """spaCy's ConsoleLogger.v3 with timed JSON lines, plus optional gradient-flow diagnostics.

    progress_bar, console_output, output_file: as spacy.ConsoleLogger.v3's,
        except that each line of output_file also has "seconds" and "words":
        wall time and words seen so far.
    diagnose_every (int): measure the gradient-by-distance profile of every
        rnn_tagger every N updates (0 = diagnostics off, no cost).
    diagnostics_file (Optional[Union[str, Path]]): JSON-lines file that gets
        one line per rnn_tagger per evaluation (created, possibly empty,
        whenever it is given).
    max_distance (int): the largest |t - k| recorded.
    """
    if not isinstance(diagnose_every, int) or isinstance(diagnose_every, bool) \
            or diagnose_every < 0:
        raise ValueError(Errors.RNN001.format(
            setting="diagnose_every", value=diagnose_every, expected="an integer >= 0"))
    # The JSON log is written here rather than by ConsoleLogger.v3 so that each
    # line also says when it was reached (seconds, words seen): wall time to a
    # dev score is what the speed benchmark compares across systems.
    console = console_logger_v3(progress_bar, console_output, None)

    def setup(nlp: Language, stdout: IO, stderr: IO) -> Tuple[Callable, Callable]:
        log_console, finalize_console = console(nlp, stdout, stderr)
        log_file = None
        if output_file is not None:
            Path(output_file).parent.mkdir(parents=True, exist_ok=True)
            log_file = Path(output_file).open("w", encoding="utf-8")
        pipes = [(name, pipe) for name, pipe in nlp.pipeline if hasattr(pipe, "diagnostics")]
        if diagnose_every:
            for _, pipe in pipes:
                pipe.diagnostics = GradientDiagnostics(diagnose_every, max_distance)
        out = None
        if diagnostics_file is not None:
            Path(diagnostics_file).parent.mkdir(parents=True, exist_ok=True)
            out = Path(diagnostics_file).open("w", encoding="utf-8")

        def log_step(info: Optional[Dict]) -> None:
            log_console(info)
            if info is not None and log_file is not None:
                log_file.write(json.dumps(training_log_row(info, nlp)) + "\n")
                log_file.flush()
            if info is None or info.get("score") is None or not diagnose_every:
                return
            for name, pipe in pipes:
                summary = pipe.diagnostics.summary()
                pipe.diagnostics.reset()
                row = {"step": info["step"], "epoch": info["epoch"], "pipe": name,
                       "cell": cell_name(pipe.model), **summary}
                if out is not None:
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                if console_output:
                    stdout.write(summary_line(row) + "\n")

        def finalize() -> None:
            finalize_console()
            if log_file is not None:
                log_file.close()
            for _, pipe in pipes:
                pipe.diagnostics = None
            if out is not None:
                out.close()

        return log_step, finalize

    return setup


# Its name in 0.3.0 and before, after its optional part: kept as an alias so that
# configs written by 0.3.0 still train. New configs name TrainingLogger.v1.
registry.loggers.register("spacy_rnn.DiagnosticsLogger.v1", func=make_training_logger)


def training_log_row(info: Dict, nlp: Language) -> Dict:
    """One evaluation as ConsoleLogger.v3 logs it (dev scores x 100), plus wall time.

    info (Dict): what spaCy's training loop passes to the logger.
    nlp (Language): the pipeline, for the names of the scores it weights.
    RETURNS (Dict): epoch, step, losses, scores, score, seconds and words (seen).
    """
    score_cols = [col for col, weight in nlp.config["training"]["score_weights"].items()
                  if weight is not None]
    scores = {}
    for col in score_cols:
        value = info["other_scores"].get(col, 0.0)
        if isinstance(value, (int, float)):
            scores[col] = float(value) * (1 if col == "speed" else 100)
    return {
        "epoch": info["epoch"],
        "step": info["step"],
        "losses": {name: float(loss) for name, loss in info["losses"].items()},
        "scores": scores,
        "score": float(info["score"]),
        "seconds": info.get("seconds"),
        "words": info.get("words"),
    }
