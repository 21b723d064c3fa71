"""What `RNNTagger.initialize` does besides sizing the model: install the lookup
tables some layers carry (the one-hot vocabulary, the Brown cluster table, the
name lists), which are read once here and saved with the weights, and check the
settings that only show up as wrong once the labels, the vectors and the
pipeline are known (rather than deep inside the first update).
"""
import warnings
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Union

from spacy.language import Language
from spacy.pipeline import Tok2Vec
from spacy.tokens import Doc
from spacy.vocab import Vocab
from thinc.api import Model

from .errors import Errors, Warnings
from .layers import cluster_features, lexicon_features, vocab_embed
from .layers.cluster_features import read_cluster_table, set_cluster_table
from .layers.lexicon_features import read_lexicons, set_lexicons
from .layers.vocab_embed import rank_words, set_vocab_words


def nodes_named(model: Model, name: str) -> List[Model]:
    return [node for node in model.walk() if node.name == name]


def install_vocabulary(model: Model, vocab: Optional[Union[str, Path, Sequence[str]]],
                       get_docs: Callable[[], Iterable[Doc]]) -> None:
    """Give every vocab_embed layer its words: `vocab` (a list, or a file with one
    word per line, most frequent first) or, when None, the training docs' words
    ranked by frequency."""
    layers = nodes_named(model, vocab_embed.NODE_NAME)
    if not layers:
        return
    words = read_vocab(vocab) if vocab is not None else rank_words(
        get_docs(), layers[0].attrs["attr"])
    for layer in layers:
        set_vocab_words(layer, words)


def install_clusters(model: Model, source: Optional[str], lang: str) -> None:
    """Read the cluster table once and install it on every cluster_keys node."""
    nodes = nodes_named(model, cluster_features.NODE_NAME)
    if not nodes:
        return
    if source is None:
        raise ValueError(Errors.RNN082)
    keys, values = read_cluster_table(source, lang)
    for node in nodes:
        set_cluster_table(node, keys, values)


def install_lexicons(model: Model, files: Optional[Union[str, Dict[str, str]]]) -> None:
    """Read the phrase lists once and install them on every lexicon_embed node."""
    nodes = nodes_named(model, lexicon_features.NODE_NAME)
    if not nodes:
        return
    if files is None:
        raise ValueError(Errors.RNN090)
    lists = read_lexicons(files)
    for node in nodes:
        set_lexicons(node, lists)


def read_vocab(vocab: Union[str, Path, Sequence[str]]) -> List[str]:
    if isinstance(vocab, (str, Path)):
        path = Path(vocab)
        try:
            lines = path.read_text(encoding="utf8").split("\n")
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(Errors.RNN014.format(path=path, reason=err)) from None
        return [line for line in lines if line]
    return list(vocab)


def check_settings(model: Model, vocab: Vocab, n_labels: int, n_tags: int, target: str,
                   name: str, nlp: Optional[Language]) -> None:
    """Settings that only show up as wrong once the labels and vectors are known."""
    if model.has_dim("nO") and model.get_dim("nO") not in (None, n_tags):
        raise ValueError(Errors.RNN001.format(
            setting="nO", value=model.get_dim("nO"),
            expected=f"null (inferred from the labels) or {n_tags}, the number of "
                     f"tags {n_labels} label(s) give"))
    if nodes_named(model, "static_vectors") and vocab.vectors.shape[0] == 0:
        raise ValueError(Errors.RNN005)
    if nlp is None:
        return
    check_listener_widths(nlp, name)
    if target == "tag":
        weights = nlp.config["training"]["score_weights"]
        if not weights.get("tag_acc"):
            warnings.warn(Warnings.RNNW001.format(name=name, weights=dict(weights)))


def check_listener_widths(nlp: Language, name: str) -> None:
    """A tok2vec listener must be as wide as the tok2vec it reads.

    Neither spaCy nor Thinc checks this before the first update, which then
    fails deep inside a matrix product; and the LSTM's packed path does not
    check its input width at all, so prediction would run on garbage.
    """
    for upstream, pipe in nlp.pipeline:
        if not isinstance(pipe, Tok2Vec) or not pipe.model.has_dim("nO"):
            continue
        width = pipe.model.get_dim("nO")
        for listener in pipe.listener_map.get(name, []):
            if listener.get_dim("nO") != width:
                raise ValueError(Errors.RNN001.format(
                    setting="the width of the Tok2VecListener in the model",
                    value=listener.get_dim("nO"),
                    expected=f"{width}, the output width of '{upstream}'"))
