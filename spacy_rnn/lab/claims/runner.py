"""Run the experiments and save their outputs (called by `python -m spacy_rnn experiment`);
writeup.py turns the outputs into EXPERIMENTS.md."""
import json
from pathlib import Path
from typing import List, Optional, Sequence

import spacy

from . import cells as cells_experiment
from . import conll_grid
from . import long_range as long_range_experiment
from .analysis import analyze_run, training_words

LONG_RANGE_JSON = "long_range.json"
CELLS_JSON = "cells.json"
CONLL_DIR = "conll"


def long_range(output: Path, cells: Sequence[str], distances: Sequence[int],
               seeds: Sequence[int], steps: int, jobs: int = 1) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    results = long_range_experiment.run_grid(cells, distances, seeds, steps=steps, jobs=jobs)
    path = output / LONG_RANGE_JSON
    path.write_text(json.dumps(results, indent=1))
    return path


def cells(corpus: Path, output: Path) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    result = cells_experiment.measure(corpus / "train.spacy")
    path = output / CELLS_JSON
    path.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return path


def conll(corpus: Path, output: Path, names: List[str], *, configs: Path, max_steps: int,
          vectors: Optional[Path], jobs: int) -> None:
    out = output / CONLL_DIR
    records = conll_grid.run_grid(names, corpus.resolve(), out.resolve(), configs.resolve(),
                                  max_steps=max_steps,
                                  vectors=str(vectors.resolve()) if vectors else None, jobs=jobs)
    seen = None
    for record in records:
        run_dir = out / record["name"]
        analysis_path = run_dir / "analysis.json"
        if record["returncode"] != 0 or analysis_path.exists():
            continue
        if seen is None:
            seen = training_words(corpus / "train.spacy", spacy.blank("en"))
        analysis = analyze_run(run_dir / "model-best", corpus, seen)
        analysis_path.write_text(json.dumps(analysis, indent=1))
        print(f"{record['name']}: test F1 {100 * analysis['test_f1']:.2f}", flush=True)
