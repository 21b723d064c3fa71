"""A trained pipeline as a package: build with spacy package, pip install, load by name."""
import json
import subprocess
import sys

import pytest
import srsly
from thinc.api import fix_random_seed

from spacy_rnn import __version__
from spacy_rnn.lab.packaging import REQUIREMENT, package_meta

from ..corpus import make_examples, make_nlp, train

TEXTS = ["Harry Potter met Hermione Granger in London", "Teddy bears are on sale",
         "Ron Weasley and Luna Lovegood left Hogwarts"]
METRICS = {"overall": {"precision": 0.9, "recall": 0.8, "f1": 0.847},
           "per_type": {"PER": {"precision": 1.0, "recall": 0.9, "f1": 0.947, "support": 3}},
           "dataset": "toy", "config": "lstm", "seed": 0, "n_docs": 3}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    fix_random_seed(0)
    nlp = make_nlp()
    train(nlp, make_examples(nlp), n_iter=25)
    path = tmp_path_factory.mktemp("model")
    nlp.to_disk(path)
    return path


def test_meta_carries_scores_recipe_and_requirement(model_dir):
    meta = package_meta(model_dir, "rnn_toy", "1.2.3", METRICS)
    assert meta["name"] == "rnn_toy" and meta["version"] == "1.2.3"
    assert REQUIREMENT in meta["requirements"] and REQUIREMENT.endswith(__version__)
    assert meta["performance"]["ents_f"] == 0.847
    assert meta["performance"]["ents_per_type"]["PER"]["f"] == 0.947
    assert meta["spacy_rnn"]["config"] == "lstm" and "84.70" in meta["description"]


def test_folder_without_meta_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="RNN064"):
        package_meta(tmp_path, "x", "0.0.1")


@pytest.mark.slow
def test_built_package_installs_and_predicts_like_the_folder(model_dir, tmp_path):
    metrics_path = tmp_path / "metrics.json"
    srsly.write_json(metrics_path, METRICS)
    # Through the CLI the project's `package` step runs.
    cli = subprocess.run([sys.executable, "-m", "spacy_rnn", "package", str(model_dir),
                          str(tmp_path / "packages"), "--name", "rnn_toy", "--version", "0.0.1",
                          "--metrics", str(metrics_path)],
                         check=True, capture_output=True, text=True)
    archive = tmp_path / "packages" / "en_rnn_toy-0.0.1" / "dist" / "en_rnn_toy-0.0.1.tar.gz"
    assert f"pip install {archive}" in cli.stdout
    target = tmp_path / "site"
    # --no-deps: spacy and spacy-rnn are already here; no build isolation: the
    # sdist builds with this environment's setuptools, offline.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(archive)],
                   check=True, capture_output=True, text=True)
    script = (
        "import json, sys, spacy\n"
        f"sys.path.insert(0, {str(target)!r})\n"
        "nlp = spacy.load('en_rnn_toy')\n"
        f"docs = list(nlp.pipe({TEXTS!r}))\n"
        "print(json.dumps({'meta': nlp.meta, 'out': [[(e.start, e.end, e.label_) for e in d.ents]"
        " + [d.spans['rnn_ents'].attrs['scores']] for d in docs]}))\n")
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                            text=True)
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    import spacy

    nlp = spacy.load(model_dir)
    expected = [[(e.start, e.end, e.label_) for e in d.ents] + [d.spans["rnn_ents"].attrs["scores"]]
                for d in nlp.pipe(TEXTS)]
    assert json.loads(json.dumps(expected)) == loaded["out"]
    assert loaded["meta"]["performance"]["ents_f"] == METRICS["overall"]["f1"]
    assert REQUIREMENT in loaded["meta"]["requirements"]
