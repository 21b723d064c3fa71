"""model_parameters: every trainable tensor once, Thinc's and torch's, in a fixed order."""
import numpy
from spacy.lang.en import English
from spacy.training import Example

from spacy_rnn.training.parameters import model_parameters, torch_module


def _tagger():
    nlp = English()
    tagger = nlp.add_pipe("rnn_tagger", config={"model": {"decoder": "crf", "hidden_width": 8}})
    text = "Alice visited Paris"
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": [(0, 5, "PER")]})]
    nlp.initialize(lambda: examples)
    return nlp, tagger, examples


def test_every_tensor_once_with_its_size():
    _, tagger, _ = _tagger()
    params = list(model_parameters(tagger.model))
    encoder = tagger.model.get_ref("encoder")
    module = torch_module(encoder.shims[0])
    torch_params = [p.tensor for p in params if p.tensor is not None]
    assert [id(t) for t in torch_params] == [id(t) for t in module.parameters()]
    thinc = [(p.node.id, p.name) for p in params if p.tensor is None]
    assert len(set(thinc)) == len(thinc)
    assert ("T" in {name for _, name in thinc}) and ("W" in {name for _, name in thinc})
    expected = sum(int(node.get_param(name).size) for node in tagger.model.walk()
                   for name in node.param_names if node.has_param(name))
    expected += sum(int(t.numel()) for t in module.parameters())
    assert sum(p.size for p in params) == expected


def test_pending_gradients_are_there_after_an_update():
    """What the diagnostics and the data-parallel all-reduce read: the CRF's and the
    encoder's gradients, pending after update(sgd=None)."""
    _, tagger, examples = _tagger()
    tagger.update(examples, sgd=None)
    params = list(model_parameters(tagger.model))
    assert all(p.pending_grad() is not None for p in params if p.tensor is not None)
    (crf_grad,) = [p.pending_grad() for p in params if p.name == "T"]
    assert numpy.any(crf_grad)
