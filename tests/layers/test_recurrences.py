"""The component's recurrences equal the seeds' equations, written out in NumPy.

Same weights in, same outputs out, for each cell, both directions, stacked
layers and a padded batch of different lengths. The GRU is checked against
PyTorch's convention (documented in EXPERIMENTS.md): h_t = (1 - z) n + z h_(t-1),
with the reset gate applied after the recurrent matrix product.
"""
import numpy
import pytest
import torch

from spacy_rnn.layers.rnn_encoder import RNNEncoderLayer


def sigmoid(x):
    return 1.0 / (1.0 + numpy.exp(-x))


def rnn_step(x, h, c, W, U, b, bh):
    return numpy.tanh(W @ x + b + U @ h + bh), c


def lstm_step(x, h, c, W, U, b, bh):
    i, f, g, o = numpy.split(W @ x + b + U @ h + bh, 4)
    c = sigmoid(f) * c + sigmoid(i) * numpy.tanh(g)
    return sigmoid(o) * numpy.tanh(c), c


def gru_step(x, h, c, W, U, b, bh):
    xr, xz, xn = numpy.split(W @ x + b, 3)
    hr, hz, hn = numpy.split(U @ h + bh, 3)
    r = sigmoid(xr + hr)
    z = sigmoid(xz + hz)
    n = numpy.tanh(xn + r * hn)  # reset gate after the matrix product
    return (1 - z) * n + z * h, c


STEPS = {"rnn": rnn_step, "lstm": lstm_step, "gru": gru_step}


def run_direction(xs, weights, step, reverse):
    W, U, b, bh = weights
    n_hidden = U.shape[1]
    h = numpy.zeros(n_hidden)
    c = numpy.zeros(n_hidden)
    out = numpy.zeros((len(xs), n_hidden))
    order = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    for t in order:
        h, c = step(xs[t], h, c, W, U, b, bh)
        out[t] = h
    return out


def numpy_encoder(xs, rnn, cell):
    """Stacked (bi)directional recurrence with the torch module's weights."""
    layer_in = xs
    for layer in range(rnn.num_layers):
        outs = []
        for suffix, reverse in [("", False), ("_reverse", True)][: 2 if rnn.bidirectional else 1]:
            weights = [getattr(rnn, f"{name}_l{layer}{suffix}").detach().double().numpy()
                       for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            outs.append(run_direction(layer_in, weights, STEPS[cell], reverse))
        layer_in = numpy.concatenate(outs, axis=1)
    return layer_in


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional,depth", [(False, 1), (True, 1), (True, 2)])
def test_recurrence_matches_numpy(cell, bidirectional, depth):
    torch.manual_seed(0)
    layer = RNNEncoderLayer(cell, 3, 4, depth, bidirectional, 0.0)
    rnn = layer.shims[0]._model.rnn
    rng = numpy.random.default_rng(0)
    docs = [rng.standard_normal((n, 3)).astype("float32") for n in (6, 2, 4)]
    outputs = layer.predict(docs)
    for doc, out in zip(docs, outputs):
        expected = numpy_encoder(doc.astype("float64"), rnn, cell)
        numpy.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_gru_update_gate_keeps_the_old_state():
    """z = 1 (huge update-gate bias) copies h_(t-1): PyTorch's z weights the *old* state."""
    torch.manual_seed(0)
    layer = RNNEncoderLayer("gru", 2, 3, 1, False, 0.0)
    rnn = layer.shims[0]._model.rnn
    with torch.no_grad():
        rnn.bias_ih_l0[3:6] = 50.0  # z block
    out = layer.predict([numpy.ones((4, 2), dtype="float32")])[0]
    # h_0 = 0 and z = 1 at every step: the state never leaves zero.
    numpy.testing.assert_allclose(out, 0.0, atol=1e-6)
