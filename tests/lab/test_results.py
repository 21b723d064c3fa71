"""Collecting metrics files into the results table."""
import pytest
import srsly

from spacy_rnn.lab.cli import main
from spacy_rnn.lab.results import aggregate, read_metrics, results_markdown

from ..conftest import REPO


def metrics(dataset, config, seed, f1, per_f1, seconds=None):
    data = {"dataset": dataset, "config": config, "seed": seed,
            "overall": {"precision": f1, "recall": f1, "f1": f1},
            "per_type": {"PER": {"precision": per_f1, "recall": per_f1, "f1": per_f1,
                                 "support": 10}}}
    if seconds is not None:
        data["training"] = {"seconds": seconds, "hardware": "2-core CPU"}
    return data


def test_aggregate_mean_std_over_seeds(tmp_path):
    for seed, f1 in enumerate([0.90, 0.92, 0.94]):
        srsly.write_json(tmp_path / f"conll2003-lstm-{seed}.json",
                         metrics("conll2003", "lstm", seed, f1, 0.95, seconds=600))
    srsly.write_json(tmp_path / "conll2003-spacy-ner.json",
                     metrics("conll2003", "spacy-ner", 0, 0.85, 0.9))
    table = aggregate(read_metrics(tmp_path))
    lstm = next(r for r in table if r["config"] == "lstm")
    assert lstm["runs"] == 3 and lstm["seeds"] == [0, 1, 2]
    assert lstm["f1"][0] == pytest.approx(92.0)
    assert lstm["f1"][1] == pytest.approx(2.0)
    assert lstm["train_minutes"] == pytest.approx(10.0)
    text = results_markdown(table)
    assert "92.00 ± 2.00" in text and "85.00" in text
    assert "Lample et al. 2016" in text  # published anchors for conll2003


def test_bad_metrics_file_is_named(tmp_path):
    srsly.write_json(tmp_path / "broken.json", {"dataset": "x"})
    with pytest.raises(ValueError, match="broken.json"):
        read_metrics(tmp_path)


def test_person_only_rows_are_their_own_group(tmp_path):
    """A cross-domain or pretrained row scored on PER alone has no comparable overall F1."""
    srsly.write_json(tmp_path / "a.json", metrics("conll2003", "lstm", 0, 0.90, 0.95))
    per_only = metrics("conll2003", "lstm", 0, 0.70, 0.70)
    per_only.update({"eval_on": "wnut17", "types": ["PER"]})
    srsly.write_json(tmp_path / "b.json", per_only)
    table = aggregate(read_metrics(tmp_path))
    assert [(r["eval_on"], r["types"], r["runs"]) for r in table] == [
        ("", "", 1), ("wnut17", "PER", 1)]
    text = results_markdown(table)
    assert "| conll2003 → wnut17 | lstm | – | – | (PER only) | 70.00 |" in text
    assert "| conll2003 | lstm | – | – | 90.00 | 95.00 |" in text


def test_results_command_writes_table_and_plot(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    for seed, f1 in enumerate([0.90, 0.92]):
        srsly.write_json(metrics_dir / f"c-{seed}.json", metrics("conll2003", "lstm", seed, f1, 0.95))
    cross = metrics("conll2003", "lstm", 0, 0.6, 0.6)
    cross.update({"eval_on": "wnut17", "types": ["PER"]})
    srsly.write_json(metrics_dir / "x.json", cross)
    out, png = tmp_path / "RESULTS.md", tmp_path / "results.png"
    assert main(["results", str(metrics_dir), "--output", str(out), "--plot", str(png)]) == 0
    assert "91.00 ± 1.41" in out.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_unseen_person_recall_column(tmp_path):
    """Averaged over the runs that recorded it; '–' for rows without it."""
    for seed, recall in enumerate([0.80, 0.90]):
        run = metrics("conll2003", "lstm", seed, 0.9, 0.95)
        run["recall_by_novelty"] = {"seen": {}, "unseen": {"PER": {"recall": recall,
                                                                   "support": 5}}}
        srsly.write_json(tmp_path / f"a{seed}.json", run)
    srsly.write_json(tmp_path / "b.json", metrics("conll2003", "spacy-ner", 0, 0.8, 0.85))
    table = aggregate(read_metrics(tmp_path))
    lstm = next(r for r in table if r["config"] == "lstm")
    assert lstm["per_unseen_recall"][0] == pytest.approx(85.0)
    text = results_markdown(table)
    assert ("| conll2003 | lstm | – | – | 90.00 ± 0.00 | 95.00 ± 0.00 | 85.00 ± 7.07 | 2 (0, 1) |"
            in text)
    assert "| conll2003 | spacy-ner | – | – | 80.00 | 85.00 | – | 1 (0) |" in text


def _trained(dataset, config, seed, f1, per_f1, vectors, gold_preproc=None):
    data = metrics(dataset, config, seed, f1, per_f1, seconds=60)
    data["training"]["overrides"] = {"paths.vectors": "vectors_dir" if vectors else None}
    if gold_preproc is not None:  # None: a record from before train_meta had the field
        data["training"]["gold_preproc"] = gold_preproc
    return data


def test_margins_pair_systems_with_spacy_ner_of_the_same_vectors_setting(tmp_path):
    from spacy_rnn.lab.results import margins
    runs = [
        _trained("conll2003", "lstm-vectors", 0, 0.86, 0.90, True),
        _trained("conll2003", "lstm-vectors", 1, 0.88, 0.92, True),
        _trained("conll2003", "lstm-crf", 0, 0.84, 0.88, False),
        _trained("conll2003", "spacy-ner-accuracy", 0, 0.80, 0.80, True),
        _trained("conll2003", "spacy-ner-efficiency-vectors", 0, 0.82, 0.85, True),
        _trained("conll2003", "spacy-ner-efficiency-vectors", 1, 0.84, 0.85, True),
        _trained("wnut17", "lstm-vectors", 0, 0.30, 0.45, True),  # no spaCy row: left out
        metrics("conll2003", "legacy", 0, 0.99, 0.99),  # no training record: left out
    ]
    for i, run in enumerate(runs):
        srsly.write_json(tmp_path / f"{i}.json", run)
    table = aggregate(read_metrics(tmp_path))
    rows = margins(table)
    # lstm-crf had no vectors and the only spaCy rows had them: no comparison.
    assert [(r["dataset"], r["config"], r["baseline"]) for r in rows] == [
        ("conll2003", "lstm-vectors", "spacy-ner-efficiency-vectors")]
    assert rows[0]["f1_delta"] == pytest.approx(87.0 - 83.0)
    assert rows[0]["per_delta"] == pytest.approx(91.0 - 85.0)
    assert rows[0]["runs"] == (2, 2)
    assert rows[0]["tokens"] == "spaCy"  # no gold_preproc recorded, none overridden
    assert ("| conll2003 | lstm-vectors | spacy-ner-efficiency-vectors | vectors_dir | spaCy | – "
            "| +4.00 | +6.00 | 2 / 2 |") in results_markdown(table)  # no budget recorded


def test_one_config_given_other_vectors_is_another_row_and_pair(tmp_path):
    """en_core_web_md (20,000 shared rows) and GloVe (a row per word) are different
    inputs: the same config trained on each gives two rows, each compared only with
    the spaCy `ner` given the same table."""
    from spacy_rnn.lab.results import margins

    def run(config, seed, f1, vectors):
        data = _trained("conll2003", config, seed, f1, f1, True)
        data["training"]["overrides"]["paths.vectors"] = vectors
        return data

    runs = [run("lstm-vectors-unk", 0, 0.86, "../../shared/models/en_core_web_md"),
            run("lstm-vectors-unk", 1, 0.89, "assets/vectors/glove-6b-50d"),
            run("spacy-ner-efficiency-vectors", 0, 0.84, "en_core_web_md"),
            run("spacy-ner-efficiency-vectors", 0, 0.87, "assets/vectors/glove-6b-50d"),
            _trained("conll2003", "lstm", 0, 0.83, 0.83, False),
            _trained("conll2003", "spacy-ner-efficiency", 0, 0.80, 0.80, False)]
    for i, data in enumerate(runs):
        srsly.write_json(tmp_path / f"{i}.json", data)
    table = aggregate(read_metrics(tmp_path))
    assert sorted((r["config"], r["vectors"], r["runs"]) for r in table) == [
        ("lstm", "", 1), ("lstm-vectors-unk", "en_core_web_md", 1),
        ("lstm-vectors-unk", "glove-6b-50d", 1), ("spacy-ner-efficiency", "", 1),
        ("spacy-ner-efficiency-vectors", "en_core_web_md", 1),
        ("spacy-ner-efficiency-vectors", "glove-6b-50d", 1)]
    pairs = {(r["config"], r["vectors"]): r["f1_delta"] for r in margins(table)}
    assert pairs == {("lstm-vectors-unk", "en_core_web_md"): pytest.approx(2.0),
                     ("lstm-vectors-unk", "glove-6b-50d"): pytest.approx(2.0),
                     ("lstm", ""): pytest.approx(3.0)}
    text = results_markdown(table)
    assert "| conll2003 | lstm-vectors-unk | glove-6b-50d | spaCy |" in text
    assert "| conll2003 | lstm | no | spaCy |" in text


def test_runs_on_gold_and_spacy_tokens_are_separate_rows_and_pairs(tmp_path):
    """A gold-token test score of a model trained on spaCy's re-tokenization is
    another experiment: the two never share a row, and each is compared with the
    spaCy `ner` trained on the same tokens."""
    from spacy_rnn.lab.results import margins
    old = _trained("conll2003", "lstm", 0, 0.85, 0.88, True)
    old["training"]["overrides"]["corpora.train.gold_preproc"] = True  # set by override
    runs = [old,
            _trained("conll2003", "lstm", 1, 0.87, 0.90, True, gold_preproc=True),
            _trained("conll2003", "lstm", 0, 0.80, 0.85, True, gold_preproc=False),
            _trained("conll2003", "spacy-ner-efficiency", 0, 0.83, 0.86, True, gold_preproc=True),
            _trained("conll2003", "spacy-ner-efficiency", 0, 0.79, 0.82, True),
            metrics("conll2003", "en_core_web_md", 0, 0.5, 0.9)]  # no training record
    for i, run in enumerate(runs):
        srsly.write_json(tmp_path / f"{i}.json", run)
    table = aggregate(read_metrics(tmp_path))
    lstm = {r["tokens"]: r for r in table if r["config"] == "lstm"}
    assert lstm["gold"]["runs"] == 2 and lstm["gold"]["f1"][0] == pytest.approx(86.0)
    assert lstm["spaCy"]["runs"] == 1 and lstm["spaCy"]["f1"][0] == pytest.approx(80.0)
    pairs = {r["tokens"]: r["f1_delta"] for r in margins(table)}
    assert pairs == {"gold": pytest.approx(86.0 - 83.0), "spaCy": pytest.approx(80.0 - 79.0)}
    text = results_markdown(table)
    assert "| conll2003 | lstm | vectors_dir | gold | 86.00 ± 1.41 |" in text
    assert "| conll2003 | en_core_web_md | – | – | 50.00 |" in text


def test_runs_with_different_budgets_are_separate_rows_and_pairs(tmp_path):
    """A longer run is another experiment: it gets its own row, and it is only
    compared with a spaCy `ner` given the same budget."""
    from spacy_rnn.lab.results import margins
    runs = [_trained("msra", "lstm", 0, 0.85, 0.80, False),
            _trained("msra", "lstm", 0, 0.88, 0.84, False),
            _trained("msra", "spacy-ner-efficiency", 0, 0.70, 0.70, False)]
    runs[0]["training"]["overrides"]["training.max_steps"] = 4000  # an older record
    runs[1]["training"].update({"max_steps": 8000, "max_epochs": 0})
    runs[2]["training"].update({"max_steps": 4000, "max_epochs": 0})
    for i, run in enumerate(runs):
        srsly.write_json(tmp_path / f"{i}.json", run)
    table = aggregate(read_metrics(tmp_path))
    lstm = {r["budget"]: r["f1"][0] for r in table if r["config"] == "lstm"}
    assert lstm == {"4,000 steps": pytest.approx(85.0), "8,000 steps": pytest.approx(88.0)}
    assert [(r["config"], r["budget"], r["f1_delta"]) for r in margins(table)] == [
        ("lstm", "4,000 steps", pytest.approx(85.0 - 70.0))]
    text = results_markdown(table)
    assert "| 1 (0) | 8,000 steps | 1.0 min |" in text
    assert "| msra | lstm | spacy-ner-efficiency | no | spaCy | 4,000 steps | +15.00 |" in text
    # The plot names the budget only where it is not the usual one.
    from spacy_rnn.lab.results_plot import _plot_label
    names = sorted(_plot_label(r, "4,000 steps") for r in table)
    assert names == ["lstm [spaCy tokens]", "lstm [spaCy tokens] [8,000 steps]",
                     "spacy-ner-efficiency [spaCy tokens]"]


def test_a_tagger_with_a_sourced_tok2vec_is_not_credited_over_a_baseline_without(tmp_path):
    """A pretrained tok2vec brings its pipeline's training corpus along: the margin
    rule that keeps vectors and budgets apart keeps sourced components apart too."""
    from spacy_rnn.lab.results import margins
    runs = [
        _trained("conll2003", "lstm-vectors-unk", 0, 0.86, 0.90, True),
        _trained("conll2003", "lstm-vectors-unk-t2v", 0, 0.87, 0.91, True),
        _trained("conll2003", "spacy-ner-efficiency-vectors", 0, 0.84, 0.88, True),
        _trained("conll2003", "spacy-ner-efficiency-t2v", 0, 0.85, 0.89, True),
    ]
    runs[1]["training"]["sourced_components"] = ["tok2vec"]
    runs[2]["training"]["sourced_components"] = []
    runs[3]["training"]["sourced_components"] = ["tok2vec"]
    for i, run in enumerate(runs):
        srsly.write_json(tmp_path / f"{i}.json", run)
    table = aggregate(read_metrics(tmp_path))
    assert {r["config"]: r["sourced"] for r in table} == {
        "lstm-vectors-unk": "", "lstm-vectors-unk-t2v": "tok2vec",
        "spacy-ner-efficiency-vectors": "", "spacy-ner-efficiency-t2v": "tok2vec"}
    assert sorted((r["config"], r["baseline"], r["f1_delta"]) for r in margins(table)) == [
        ("lstm-vectors-unk", "spacy-ner-efficiency-vectors", pytest.approx(86.0 - 84.0)),
        ("lstm-vectors-unk-t2v", "spacy-ner-efficiency-t2v", pytest.approx(87.0 - 85.0))]


@pytest.mark.parametrize("training,label", [
    ({"max_steps": 4000, "max_epochs": 30}, "30 epochs or 4,000 steps"),
    ({"max_steps": 0, "max_epochs": 0}, "no limit"),
    ({"max_steps": 4000, "max_epochs": -1}, "4,000 steps"),  # -1: streamed, no epoch limit
    ({}, ""),  # neither recorded nor overridden: unknown, not guessed
])
def test_budget_labels(training, label):
    from spacy_rnn.lab.results import _budget_label
    assert _budget_label({"training": {"overrides": {}, **training}}) == label


def test_truncated_metrics_file_is_named(tmp_path):
    """An evaluate killed mid-write used to leave half a JSON file, and the results
    step failed with "Expected object or value", naming no file."""
    (tmp_path / "cut.json").write_text('{"overall": ', encoding="utf8")
    with pytest.raises(ValueError, match=r"RNN049.*cut.json is not valid JSON"):
        read_metrics(tmp_path)


def test_template_numbers_come_from_the_records(tmp_path):
    """{{FIELD DATASET/CONFIG filters}} in the results header becomes the records'
    number; a placeholder matching no row, or several, is named (RNN097)."""
    from spacy_rnn.lab.results import fill_template

    def run(seed, f1, vectors):
        data = _trained("conll2003", "lstm-vectors-unk", seed, f1, f1 + 0.01, True,
                        gold_preproc=True)
        data["training"]["overrides"]["paths.vectors"] = vectors
        return data

    runs = [run(0, 0.86, "en_core_web_md"), run(1, 0.88, "en_core_web_md"),
            run(0, 0.89, "assets/vectors/glove-6b-50d")]
    for i, data in enumerate(runs):
        srsly.write_json(tmp_path / f"{i}.json", data)
    table = aggregate(read_metrics(tmp_path))
    text = ("md {{f1 conll2003/lstm-vectors-unk vectors=en_core_web_md}} over "
            "{{runs conll2003/lstm-vectors-unk vectors=en_core_web_md}} runs (seeds "
            "{{seeds conll2003/lstm-vectors-unk vectors=en_core_web_md}}); GloVe PER "
            "{{per_f1 conll2003/lstm-vectors-unk vectors=glove-6b-50d}}")
    assert fill_template(text, table) == (
        "md 87.00 ± 1.41 over 2 runs (seeds 0, 1); GloVe PER 90.00")
    with pytest.raises(ValueError, match=r"RNN097.*2 rows match"):
        fill_template("{{f1 conll2003/lstm-vectors-unk}}", table)
    with pytest.raises(ValueError, match=r"RNN097.*0 rows match"):
        fill_template("{{f1 wnut17/lstm-vectors-unk}}", table)
    with pytest.raises(ValueError, match=r"RNN097.*fields"):
        fill_template("{{recall conll2003/lstm-vectors-unk}}", table)
    with pytest.warns(UserWarning, match="RNN097"):
        lenient = fill_template("x {{f1 wnut17/lstm}} y", table, strict=False)
    assert lenient == "x (no record: f1 wnut17/lstm) y"


def test_template_dash_asks_for_rows_without_the_value(tmp_path):
    """tokens=- picks a record with no training (a pretrained pipeline's), vectors=-
    a run without vectors, steps=- one with no recorded budget."""
    from spacy_rnn.lab.results import fill_template

    pretrained = metrics("wnut17", "en_core_web_md", None, 0.30, 0.35)
    pretrained["types"] = ["PER"]
    runs = [pretrained,
            _trained("wnut17", "lstm-crf-unk", 0, 0.30, 0.40, False, gold_preproc=True),
            _trained("wnut17", "lstm-crf-unk", 0, 0.32, 0.42, True, gold_preproc=True)]
    for i, data in enumerate(runs):
        srsly.write_json(tmp_path / f"{i}.json", data)
    table = aggregate(read_metrics(tmp_path))
    text = ("{{per_f1 wnut17/en_core_web_md tokens=-}} {{f1 wnut17/lstm-crf-unk vectors=-}} "
            "{{f1 wnut17/lstm-crf-unk vectors=vectors_dir steps=-}}")
    assert fill_template(text, table) == "35.00 30.00 32.00"
    with pytest.raises(ValueError, match=r"RNN097.*0 rows match"):
        fill_template("{{per_f1 wnut17/en_core_web_md}}", table)  # tokens=gold by default
    with pytest.raises(ValueError, match=r"RNN097.*2 rows match"):
        fill_template("{{f1 wnut17/lstm-crf-unk}}", table)


def test_the_committed_results_header_resolves_against_the_committed_records():
    """Every number the narrative takes from the records is there, exactly once."""
    from spacy_rnn.lab.results import PLACEHOLDER, fill_template

    header = (REPO / "project" / "results_header.md").read_text(encoding="utf8")
    assert PLACEHOLDER.search(header)
    table = aggregate(read_metrics(REPO / "project" / "metrics"))
    assert not PLACEHOLDER.search(fill_template(header, table))  # strict: raises if one fails
