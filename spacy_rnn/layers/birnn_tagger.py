"""The `spacy_rnn.BiRNNTagger.v1` architecture: embed >> encode >> score.

The model maps List[Doc] -> List[Floats2d]: one row of unnormalised tag scores
(emissions) per token. What turns scores into tags (Viterbi under the allowed
transitions, with or without learned CRF transitions) and the losses live in
decoding/, called by the component, which owns the label set; with the CRF decoder the learned transition
scores are a second layer here (layers/crf_transitions.py), so they are
optimised and saved like every other weight.
"""
from typing import Callable, List, Optional, Tuple

from spacy.tokens import Doc
from thinc.api import Dropout, Linear, Model, chain, with_array
from thinc.types import Floats2d

from ..errors import Errors
from .crf_transitions import CRFTransitions
from .document_memory import DocumentMemory
from .rnn_encoder import RNNEncoderLayer
from .sentence_context import SentenceContext

DECODERS = ("softmax", "crf")


def BiRNNTagger(
    embed: Model[List[Doc], List[Floats2d]],
    cell: str = "lstm",
    hidden_width: int = 128,
    depth: int = 1,
    bidirectional: bool = True,
    dropout: float = 0.2,
    decoder: str = "softmax",
    nO: Optional[int] = None,
    context_width: Optional[int] = None,
    document_memory: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """Build the tagger network.

    embed (Model[List[Doc], List[Floats2d]]): token features, e.g. spacy_rnn.TokenEmbed.v1.
    cell (str): "rnn" (tanh), "lstm" or "gru".
    hidden_width (int): hidden units per direction.
    depth (int): number of stacked recurrent layers.
    bidirectional (bool): read each doc in both directions.
    dropout (float): dropout on the encoder output (and between stacked layers).
    decoder (str): "softmax" (per-token scores, Viterbi over allowed transitions)
        or "crf" (adds learned transition scores, trained by CRF likelihood).
    nO (Optional[int]): number of tags; normally inferred at initialization.
    context_width (Optional[int]): null = the encoder reads each doc whole; an
        int = it reads each sentence of a doc (token.is_sent_start) with this
        many tokens of document context on either side (see layers/sentence_context.py).
    document_memory (bool): give each token, beside its own state, the mean state
        of the doc's tokens of the same lowercase form (layers/document_memory.py).
    RETURNS (Model[List[Doc], List[Floats2d]]): emission scores per doc.
    """
    if decoder not in DECODERS:
        raise ValueError(Errors.RNN001.format(
            setting="decoder", value=decoder, expected="one of " + ", ".join(DECODERS)))
    if not embed.has_dim("nO") or embed.get_dim("nO") is None:
        raise ValueError(Errors.RNN001.format(
            setting="embed", value=embed.name, expected="a layer with its output width (nO) set"))
    encoder = RNNEncoderLayer(
        cell, embed.get_dim("nO"), hidden_width, depth, bidirectional, dropout)
    width = encoder.get_dim("nO") * (2 if document_memory else 1)
    output = Linear(nO=nO, nI=width)
    head = with_array(chain(Dropout(dropout), output))
    if context_width is None and not document_memory:
        network = chain(embed, encoder, head)
    else:
        body = chain(embed, encoder) if context_width is None else SentenceContext(
            embed, encoder, context_width)
        if document_memory:
            body = DocumentMemory(body)
        network = chain(body, head)
    layers = [network]
    refs = {"embed": embed, "encoder": encoder, "output": output}
    if decoder == "crf":
        transitions = CRFTransitions(nO)
        layers.append(transitions)
        refs["crf"] = transitions
    return Model(
        "rnn_tagger",
        _forward,
        init=_init,
        layers=layers,
        refs=refs,
        dims={"nO": nO},
        attrs={"decoder": decoder},
    )


def _init(model: Model, X: Optional[List[Doc]] = None, Y: Optional[List[Floats2d]] = None) -> None:
    network = model.layers[0]
    if X is not None:
        keep = [i for i, doc in enumerate(X) if len(doc)]
        X = [X[i] for i in keep]
        if Y is not None:
            Y = [Y[i] for i in keep]
    if Y is not None and model.has_dim("nO") and model.get_dim("nO") is None:
        model.set_dim("nO", Y[0].shape[1])
    if model.has_dim("nO") and model.get_dim("nO") is not None:
        model.get_ref("output").set_dim("nO", model.get_dim("nO"), force=True)
    network.initialize(X=X or None, Y=Y or None)
    model.set_dim("nO", model.get_ref("output").get_dim("nO"), force=True)
    if model.has_ref("crf"):
        crf = model.get_ref("crf")
        crf.set_dim("nO", model.get_dim("nO"), force=True)
        crf.initialize()


def _forward(
    model: Model[List[Doc], List[Floats2d]], docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    network = model.layers[0]
    # Empty docs are set aside: packing needs positive lengths, and they have
    # nothing to score anyway.
    keep = [i for i, doc in enumerate(docs) if len(doc)]
    if len(keep) == len(docs):
        return network(docs, is_train)
    nO = model.get_dim("nO")
    scores = [model.ops.alloc2f(0, nO) for _ in docs]
    if not keep:
        return scores, lambda d_scores: []
    kept_scores, backprop_network = network([docs[i] for i in keep], is_train)
    for j, i in enumerate(keep):
        scores[i] = kept_scores[j]

    def backprop(d_scores: List[Floats2d]) -> List[Doc]:
        backprop_network([d_scores[i] for i in keep])
        return []

    return scores, backprop
