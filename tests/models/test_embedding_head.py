"""The birdnet head: embeddings in, logits out; forward, backward, embed, reset, hidden layer."""

from __future__ import annotations

import pytest
import torch

from animal_spot.config import ModelConfig
from animal_spot.models import EmbeddingHead, build_model


@pytest.mark.parametrize("hidden", [0, 32])
@pytest.mark.parametrize("shape", [(4, 1024), (4, 1, 1024, 1)])
def test_the_head_runs_forward_and_backward_on_embeddings(hidden, shape):
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone="birdnet", head_hidden=hidden), 3)
    assert isinstance(model, EmbeddingHead) and model.name == "birdnet"
    model.train()
    logits = model(torch.randn(shape))
    assert logits.shape == (4, 3) and torch.isfinite(logits).all()
    logits.logsumexp(1).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_the_head_embeds_to_the_birdnet_embedding_itself_and_forward_equals_its_parts():
    model = build_model(ModelConfig(backbone="birdnet", head_hidden=8), 2).eval()
    x = torch.randn(2, 1, 1024, 1)
    with torch.no_grad():
        assert torch.equal(model.embed(x), x.reshape(2, 1024))
        assert model.num_features == 1024
        features = model.forward_features(x)
        torch.testing.assert_close(model.forward_head(features), model(x), rtol=0, atol=0)


def test_reset_classifier_keeps_the_hidden_layer_and_changes_the_outputs():
    model = build_model(ModelConfig(backbone="birdnet", head_hidden=8), 2).eval()
    hidden = model.hidden[1].weight.clone()
    model.reset_classifier(5)
    assert model(torch.randn(1, 1024)).shape == (1, 5)
    assert torch.equal(model.hidden[1].weight, hidden)
