"""The torch encoder: parameter counts and padding independence."""
import pytest
import torch

from spacy_rnn.models.encoder import RNNEncoder


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
