"""The `rnn_tagger` component: a trainable spaCy pipe around spacy_rnn.BiRNNTagger.v1.

It follows spaCy's Tagger recipe (predict / set_annotations / update /
get_loss / initialize / add_label) and adds what a sequence labeller needs:
BILUO entity tags learned from the aligned gold (gold.py: read off the reference's
arrays, or spaCy's alignment where the tokens differ), missing
annotation masked out of the loss, and decoding that only ever produces valid
tag sequences (Viterbi under the allowed-transition matrix, with learned CRF
scores when the decoder is "crf").
"""
from itertools import islice
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy
from spacy.attrs import TAG
from spacy.errors import Errors as SpacyErrors
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.scorer import Scorer, get_ner_prf
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer
from thinc.types import Floats2d, Ints1d

from . import architectures  # noqa: F401  (registers the architectures)
from .decoding.losses import crf_loss, softmax_loss
from .decoding.predictions import TagPredictions, decode_tags, empty_predictions
from .decoding.viterbi import mask_scores
from .errors import Errors
from .gold import gold_indices, labels_in
from .initialization import (
    check_settings,
    install_clusters,
    install_lexicons,
    install_vocabulary,
)
from .tags import (
    all_transitions,
    allowed_biluo_transitions,
    biluo_entities,
    biluo_tag_names,
)

if TYPE_CHECKING:
    from .training.diagnostics import GradientDiagnostics

TARGETS = ("ents", "tag")

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_rnn.BiRNNTagger.v1"
cell = "lstm"
hidden_width = 128
depth = 1
bidirectional = true
dropout = 0.2
decoder = "softmax"

[model.embed]
@architectures = "spacy_rnn.TokenEmbed.v1"
width = 128
vocab_size = 20000
vocab_width = 64
vocab_attr = "NORM"
hash_attrs = ["PREFIX", "SUFFIX", "SHAPE"]
hash_rows = [1000, 2500, 500]
hash_width = 32
char_width = 32
char_max_chars = 20
include_static_vectors = false
dropout = 0.1
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@registry.scorers("spacy_rnn.tagger_scorer.v1")
def make_tagger_scorer() -> Callable:
    """Score entities like spaCy's `ner` (ents_p/r/f, ents_per_type) or tags like its `tagger`."""
    return score_rnn_tagger


def score_rnn_tagger(examples: Iterable[Example], *, target: str = "ents", **kwargs) -> Dict:
    if target == "tag":
        return Scorer.score_token_attr(examples, "tag", **kwargs)
    return get_ner_prf(examples, **kwargs)


@Language.factory(
    "rnn_tagger",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "token.tag"],
    default_config={
        "model": DEFAULT_MODEL,
        "target": "ents",
        "confidence": True,
        "spans_key": "rnn_ents",
        "threshold": 0.0,
        "scorer": {"@scorers": "spacy_rnn.tagger_scorer.v1"},
    },
    default_score_weights={
        "ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None,
    },
)
def make_rnn_tagger(
    nlp: Language, name: str, model: Model, target: str, confidence: bool, spans_key: str,
    threshold: float, scorer: Optional[Callable],
) -> "RNNTagger":
    """Create an RNNTagger.

    target (str): "ents" (doc.ents) or "tag" (token.tag_).
    confidence (bool): with target "ents", store each entity's exact probability
        in doc.spans[spans_key].attrs["scores"] (as spaCy's spancat does).
    spans_key (str): the SpanGroup key for the scored entities.
    threshold (float): entities below this confidence are left out of doc.ents
        (they stay, with their scores, in the SpanGroup); 0 keeps them all.
    """
    return RNNTagger(nlp.vocab, model, name, target=target, confidence=confidence,
                     spans_key=spans_key, threshold=threshold, scorer=scorer)


class RNNTagger(TrainablePipe):
    """A recurrent sequence labeller that sets `doc.ents` or `token.tag_`.

    Existing entities are overwritten: the component owns `doc.ents` (like a
    tagger owns `token.tag_`); put an entity_ruler *after* it to add to them.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "rnn_tagger",
        *,
        target: str = "ents",
        confidence: bool = True,
        spans_key: str = "rnn_ents",
        threshold: float = 0.0,
        scorer: Optional[Callable] = score_rnn_tagger,
    ) -> None:
        if target not in TARGETS:
            raise ValueError(Errors.RNN003.format(value=target, name=name))
        if (not isinstance(threshold, (int, float)) or isinstance(threshold, bool)
                or not 0.0 <= threshold <= 1.0):
            raise ValueError(Errors.RNN001.format(
                setting="threshold", value=threshold, expected="a number in [0, 1]"))
        if not isinstance(spans_key, str) or not spans_key:
            raise ValueError(Errors.RNN001.format(
                setting="spans_key", value=spans_key, expected="a non-empty string"))
        self.confidence = bool(confidence)
        self.spans_key = spans_key
        self.threshold = float(threshold)
        self.vocab = vocab
        self.model = model
        self.name = name
        self._rehearsal_model = None
        self.scorer = scorer
        # temperature: the scale entity confidences are computed at (1 = the
        # model's own distribution), fitted on dev data by `python -m spacy_rnn
        # calibrate` (lab/temperature.py) and saved with the weights; decoding
        # never depends on it.
        self.cfg: Dict = {"labels": [], "target": target, "temperature": 1.0}
        self._constraints: Optional[Tuple[Tuple[str, ...], Tuple[numpy.ndarray, ...]]] = None
        # Gradient-flow statistics (training/diagnostics.py), None = off: set by
        # spacy_rnn.TrainingLogger.v1 when `diagnose_every` > 0. The component only
        # calls it, and imports neither the logger nor the diagnostics.
        self.diagnostics: Optional["GradientDiagnostics"] = None

    # --- labels -------------------------------------------------------------

    @property
    def labels(self) -> Tuple[str, ...]:
        """Entity labels (target "ents") or tag values (target "tag")."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.cfg["labels"])

    @property
    def target(self) -> str:
        return self.cfg["target"]

    @property
    def tag_names(self) -> List[str]:
        """The model's output classes, in output order."""
        if self.target == "ents":
            return biluo_tag_names(self.labels)
        return list(self.labels)

    @property
    def decoder(self) -> str:
        return self.model.attrs["decoder"]

    @property
    def _is_initialized(self) -> bool:
        """Whether initialize() (or from_disk/from_bytes) has sized the model:
        the output layer gets its weights only once the label count is known."""
        return self.model.get_ref("output").has_param("W")

    def add_label(self, label: str) -> int:
        """Add a label before initialization. RETURNS (int): 1 if added, 0 if present."""
        if not isinstance(label, str):
            raise ValueError(SpacyErrors.E187)
        if not label or (self.target == "ents" and (label == "O" or label.strip() != label)):
            raise ValueError(Errors.RNN011.format(label=label, name=self.name))
        if label in self.labels:
            return 0
        if self._is_initialized:
            raise ValueError(Errors.RNN012.format(
                name=self.name, label=label, n=len(self.labels)))
        self.cfg["labels"].append(label)
        self.cfg["labels"].sort()
        self.vocab.strings.add(label)
        return 1

    def _require_labels(self) -> None:
        if not self.labels:
            raise ValueError(Errors.RNN010.format(name=self.name))

    def _require_initialized(self) -> None:
        """Labels alone (add_label) do not make a usable model: the vocabulary,
        the weights and the output width are only set by initialize()."""
        self._require_labels()
        if not self._is_initialized:
            raise ValueError(Errors.RNN019.format(name=self.name))

    # --- prediction -----------------------------------------------------------

    def predict(self, docs: Iterable[Doc]) -> "TagPredictions":
        """Tag indices per doc (valid sequences only), with entity confidences
        when they are on. Does not modify the docs."""
        docs = list(docs)
        if not any(len(doc) for doc in docs):
            return empty_predictions(len(docs), self.scores_entities)
        self._require_initialized()
        scores = self.model.predict(docs)
        return self.decode(scores)

    @property
    def scores_entities(self) -> bool:
        """Whether predictions carry entity confidences (doc.spans[spans_key])."""
        return self.confidence and self.target == "ents"

    @property
    def temperature(self) -> float:
        """Scores are divided by this before confidences are computed (lab/temperature.py)."""
        return float(self.cfg.get("temperature", 1.0))

    def decode(self, scores: List[Floats2d], *,
               temperature: Optional[float] = None) -> TagPredictions:
        """Best valid tag sequence per doc (decoding/predictions.py); entity
        confidences, when on, at `temperature` (default: the component's)."""
        scale = 1.0 / (self.temperature if temperature is None else temperature)
        return decode_tags(
            self.model.ops, scores, self._allowed(), self._transition_scores_numpy(),
            softmax=self.decoder == "softmax",
            confidence_scale=scale if self.scores_entities else None)

    def _transition_scores_numpy(self) -> Tuple[numpy.ndarray, ...]:
        """Constrained transition, start and end scores on the host (-inf = forbidden)."""
        if self.decoder == "crf":
            scores = self.model.get_ref("crf").predict(self._allowed())
            return tuple(self.model.ops.to_numpy(x) for x in scores)
        return mask_scores(self._allowed())

    def set_annotations(self, docs: Iterable[Doc], tag_ids: List[Ints1d]) -> None:
        """Write predicted tags to `doc.ents` (overwriting) or `token.tag_`; with
        confidences, also every entity with its probability to doc.spans[spans_key]."""
        if isinstance(docs, Doc):
            docs = [docs]
        if self.target == "tag":
            hashes = numpy.asarray(
                [self.vocab.strings.add(t) for t in self.tag_names], dtype="uint64")
            for doc, ids in zip(docs, tag_ids):
                if len(doc):
                    doc.from_array([TAG], hashes[ids].reshape(-1, 1))
            return
        names = self.tag_names
        confidences = getattr(tag_ids, "confidences", None)
        for i, (doc, ids) in enumerate(zip(docs, tag_ids)):
            spans = [Span(doc, start, end, label=label)
                     for start, end, label in biluo_entities(ids, names)]
            if confidences is None:
                doc.ents = spans
                continue
            scores = confidences[i]
            doc.spans[self.spans_key] = SpanGroup(
                doc, name=self.spans_key, spans=spans, attrs={"scores": scores.tolist()})
            doc.ents = [span for span, p in zip(spans, scores) if p >= self.threshold]

    # --- training -------------------------------------------------------------

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Callable] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples.

        drop (float): ignored; dropout is an architecture setting (`dropout` in
            the model config), because the torch RNN fixes its inter-layer
            dropout when it is built and one value should govern all layers.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "RNNTagger.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        self._require_initialized()
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        if self.diagnostics is not None and self.diagnostics.due():
            self.diagnostics.record_distances(
                self.model, [eg.predicted for eg in examples],
                [self._gold_indices(eg) for eg in examples])
        backprop(d_scores)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def finish_update(self, sgd: Optimizer) -> None:
        """Apply the pending gradients; with diagnostics on, record their norms first.

        (nlp.update calls this once per batch, after every component's update.)
        """
        if self.diagnostics is not None:
            self.diagnostics.record_gradients(self.model, sgd)
        super().finish_update(sgd)

    def get_loss(
        self, examples: Iterable[Example], scores: List[Floats2d]
    ) -> Tuple[float, List[Floats2d]]:
        """Loss and gradient w.r.t. the scores; missing annotation is masked out.

        softmax: token-level cross-entropy, summed. crf: sequence NLL, summed,
        with missing tags marginalised. Unlike spaCy's Tagger, with the CRF
        decoder this is not free of side effects: the transition scores'
        gradient is added to the `crf_transitions` layer here (decoding/losses.py),
        for the next finish_update to apply.
        """
        examples = list(examples)
        validate_examples(examples, "RNNTagger.get_loss")
        gold = [self._gold_indices(eg) for eg in examples]
        if self.decoder == "crf":
            loss, d_scores = crf_loss(self.model.ops, scores, gold, self.model.get_ref("crf"),
                                      self._allowed(), self.tag_names, self.name)
        else:
            loss, d_scores = softmax_loss(self.model.ops, scores, gold, len(self.tag_names))
        if not numpy.isfinite(loss):
            raise ValueError(Errors.RNN015.format(name=self.name, loss=loss))
        return loss, d_scores

    def _gold_indices(self, example: Example) -> numpy.ndarray:
        return gold_indices(example, self.tag_names, self.target, self.labels, self.name)

    def _allowed(self) -> Tuple[numpy.ndarray, ...]:
        names = tuple(self.tag_names)
        if self._constraints is None or self._constraints[0] != names:
            if self.target == "ents":
                masks = allowed_biluo_transitions(names)
            else:
                masks = all_transitions(len(names))
            self._constraints = (names, masks)
        return self._constraints[1]

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
        vocab: Optional[Union[str, Path, Sequence[str]]] = None,
        clusters: Optional[str] = None,
        lexicons: Optional[Union[str, Dict[str, str]]] = None,
    ) -> None:
        """Set labels and the one-hot vocabulary from the data, then size the model.

        get_examples (Callable[[], Iterable[Example]]): the training examples.
            Unlike spaCy's sample of 10, the labels and the one-hot vocabulary
            are read from *all* of them, so no rare label or frequent word is missed.
        labels (Optional[Sequence[str]]): labels to use instead (e.g. the output
            of `spacy init labels`).
        vocab (Optional[Union[str, Path, Sequence[str]]]): the one-hot vocabulary,
            most frequent first, as a list or a file with one word per line
            (what the project's preprocess step writes); default: counted from
            the training examples.
        clusters (Optional[str]): where the Brown cluster table of a model with
            cluster features comes from: "spacy-lookups-data" (the language's
            lexeme_cluster table) or a file (see layers/cluster_features.py). The table
            is saved with the model.
        lexicons (Optional[Union[str, Dict[str, str]]]): the phrase lists of a
            model with lexicon features, {list name: file} or a folder whose
            *.txt files are the lists (one phrase per line, see
            layers/lexicon_features.py). The lists are saved with the model.
        """
        validate_get_examples(get_examples, "RNNTagger.initialize")
        if labels is not None:
            for label in labels:
                self.add_label(label)
        else:
            for label in sorted(labels_in(get_examples(), self.target)):
                self.add_label(label)
        self._require_labels()
        check_settings(self.model, self.vocab, len(self.labels), len(self.tag_names),
                       self.target, self.name, nlp)
        install_vocabulary(self.model, vocab, lambda: (eg.predicted for eg in get_examples()))
        install_clusters(self.model, clusters, nlp.lang if nlp is not None else self.vocab.lang)
        install_lexicons(self.model, lexicons)
        doc_sample: List[Doc] = []
        label_sample: List[Floats2d] = []
        n_tags = len(self.tag_names)
        for example in islice((eg for eg in get_examples() if len(eg.predicted)), 10):
            doc_sample.append(example.predicted)
            label_sample.append(self.model.ops.alloc2f(len(example.predicted), n_tags))
        if not doc_sample:
            raise ValueError(Errors.RNN013.format(name=self.name))
        self.model.initialize(X=doc_sample, Y=label_sample)

    def score(self, examples: Iterable[Example], **kwargs) -> Dict:
        """spaCy's entity scores (target "ents") or tag accuracy (target "tag")."""
        validate_examples(examples, "RNNTagger.score")
        if self.scorer is None:
            return {}
        return self.scorer(examples, target=self.target, **kwargs)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "RNNTagger":
        try:
            super().from_bytes(bytes_data, exclude=exclude)
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(Errors.RNN018.format(
                name=self.name, source="bytes", reason=err)) from err
        self._check_loaded()
        return self

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "RNNTagger":
        # spaCy reads a missing cfg as empty (the labels then look wrong, not
        # missing) and a missing model as a bare FileNotFoundError.
        for part in ("cfg", "model"):
            if part not in exclude and not (Path(path) / part).exists():
                raise ValueError(Errors.RNN027.format(path=Path(path) / part, name=self.name))
        try:
            super().from_disk(path, exclude=exclude)
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(Errors.RNN018.format(
                name=self.name, source=path, reason=err)) from err
        self._check_loaded()
        return self

    def _check_loaded(self) -> None:
        self._constraints = None
        output = self.model.get_ref("output")
        if output.has_dim("nO") and output.get_dim("nO") is not None:
            if output.get_dim("nO") != len(self.tag_names):
                raise ValueError(Errors.RNN016.format(
                    name=self.name, nO=output.get_dim("nO"), n_tags=len(self.tag_names)))
