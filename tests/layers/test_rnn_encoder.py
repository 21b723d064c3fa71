"""The torch encoder: parameter counts, padding independence, the packed layout."""
import numpy
import pytest
import torch

from spacy_rnn.layers.rnn_encoder import RNNEncoder, packing_order


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("bidirectional,depth", [(True, 1), (False, 1), (True, 2)])
def test_gru_has_three_quarters_of_lstm_parameters(bidirectional, depth):
    """Seed claim: a GRU has 3 gate blocks where an LSTM has 4, at equal width."""
    lstm = RNNEncoder("lstm", 50, 64, depth, bidirectional, 0.0)
    gru = RNNEncoder("gru", 50, 64, depth, bidirectional, 0.0)
    rnn = RNNEncoder("rnn", 50, 64, depth, bidirectional, 0.0)
    assert n_params(gru) * 4 == n_params(lstm) * 3
    assert n_params(rnn) * 4 == n_params(lstm)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_output_independent_of_padding(cell):
    torch.manual_seed(0)
    encoder = RNNEncoder(cell, 8, 6, 2, True, 0.0).eval()
    short = torch.randn(1, 3, 8)
    padded = torch.cat([short, torch.randn(1, 7, 8)], dim=1)  # garbage after length 3
    other = torch.randn(1, 10, 8)
    alone = encoder(short, torch.tensor([3]))
    batched = encoder(torch.cat([padded, other]), torch.tensor([3, 10]))
    assert torch.allclose(alone[0], batched[0, :3], atol=1e-6)
    assert torch.all(batched[0, 3:] == 0)


def test_packing_order_by_hand():
    # Docs of 2, 0, 3 and 1 tokens, concatenated: doc 0 = tokens 0-1, doc 2 =
    # tokens 2-4, doc 3 = token 5. Step 0 holds the longest doc's first token
    # first (2), then doc 0's (0), then doc 3's (5); step 1: 3, 1; step 2: 4.
    order, batch_sizes = packing_order(numpy.array([2, 0, 3, 1]))
    assert order.tolist() == [2, 0, 5, 3, 1, 4]
    assert batch_sizes.tolist() == [3, 2, 1]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_flat_layout_matches_padded(cell):
    """The Thinc layer's concatenated layout gives the padded layout's outputs
    and input gradients, doc for doc, with empty docs in the batch."""
    torch.manual_seed(0)
    encoder = RNNEncoder(cell, 8, 6, 2, True, 0.0).eval()
    lengths = [3, 10, 1, 7]
    docs = [torch.randn(n, 8) for n in lengths]
    padded = torch.nn.utils.rnn.pad_sequence(docs, batch_first=True).requires_grad_()
    out_padded = encoder(padded, torch.tensor(lengths))
    reference = torch.cat([out_padded[i, :n] for i, n in enumerate(lengths)])
    flat = torch.cat(docs).requires_grad_()
    out_flat = encoder(flat, torch.tensor(lengths))
    assert torch.allclose(out_flat, reference, atol=1e-6)
    weights = torch.randn_like(reference)
    (grad_padded,) = torch.autograd.grad((reference * weights).sum(), padded)
    (grad_flat,) = torch.autograd.grad((out_flat * weights).sum(), flat)
    expected = torch.cat([grad_padded[i, :n] for i, n in enumerate(lengths)])
    assert torch.allclose(grad_flat, expected, atol=1e-6)
    # Empty docs hold no tokens and change nothing for the others.
    with_empty = encoder(flat, torch.tensor([3, 0, 10, 1, 0, 7]))
    assert torch.allclose(with_empty, out_flat, atol=1e-6)
    assert encoder(torch.zeros(0, 8), torch.tensor([0, 0])).shape == (0, 12)


def _encoder_layer(width=8):
    from spacy_rnn.layers.rnn_encoder import RNNEncoderLayer

    layer = RNNEncoderLayer("lstm", width, 4, 1, True, 0.0)
    layer.initialize()
    return layer


@pytest.mark.parametrize("n_docs", [0, 1, 3])
def test_encoder_layer_backprops_an_all_empty_batch(n_docs):
    """The encoder layer on its own: no tokens in, empty outputs and gradients out."""
    layer = _encoder_layer()
    Ys, backprop = layer.begin_update([numpy.zeros((0, 8), dtype="float32")] * n_docs)
    assert [y.shape for y in Ys] == [(0, 8)] * n_docs
    assert [d.shape for d in backprop(Ys)] == [(0, 8)] * n_docs


@pytest.mark.parametrize("got", [5, 12])
def test_encoder_layer_rejects_input_of_another_width(got):
    layer = _encoder_layer(width=8)
    with pytest.raises(ValueError, match=rf"RNN061.*width 8 .*got width {got}"):
        layer.predict([numpy.zeros((3, got), dtype="float32")])
