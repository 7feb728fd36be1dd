"""Pretrained weights: local files and the torch hub cache, adapted to a one-channel stem."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import torchvision

from animal_spot.config import ModelConfig
from animal_spot.errors import BadModel
from animal_spot.models import build_model, load_pretrained, read_state_dict

RESNET18_FILE = Path(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url).name


@pytest.fixture(scope="module")
def resnet18_rgb() -> dict[str, torch.Tensor]:
    """A random three-channel torchvision resnet18 with ImageNet's 1000 classes."""
    torch.manual_seed(1)
    return torchvision.models.resnet18(weights=None).state_dict()


@pytest.fixture
def resnet18_file(tmp_path, resnet18_rgb) -> Path:
    path = tmp_path / "resnet18.pth"
    torch.save(resnet18_rgb, path)
    return path


def assert_body_equal(model, saved, *, fresh_prefixes, stem_key):
    """Every tensor but the stem and ``fresh_prefixes`` is the saved one, bit for bit."""
    loaded = model.state_dict()
    for key, value in saved.items():
        if key == stem_key or key.startswith(fresh_prefixes):
            continue
        assert torch.equal(loaded[key], value), key


@pytest.mark.parametrize("stem_adapt", ["mean", "sum"])
def test_local_resnet18_weights_load_with_an_adapted_stem_and_fresh_head(
    resnet18_file, resnet18_rgb, stem_adapt
):
    torch.manual_seed(0)
    fresh = build_model(ModelConfig(), 3)
    torch.manual_seed(0)
    model = build_model(ModelConfig(pretrained=str(resnet18_file), stem_adapt=stem_adapt), 3)

    rgb = resnet18_rgb["conv1.weight"]
    expected = rgb.mean(1, keepdim=True) if stem_adapt == "mean" else rgb.sum(1, keepdim=True)
    torch.testing.assert_close(model.conv1.weight, expected, rtol=0, atol=0)
    assert_body_equal(model, resnet18_rgb, fresh_prefixes=("fc.",), stem_key="conv1.weight")
    # the 1000-class head does not fit 3 classes: the head is exactly the fresh one
    assert model.fc.weight.shape == (3, 512)
    assert torch.equal(model.fc.weight, fresh.fc.weight)
    assert torch.equal(model.fc.bias, fresh.fc.bias)


def test_load_pretrained_returns_the_skipped_head_keys(resnet18_file):
    model = build_model(ModelConfig(), 3)
    assert load_pretrained(model, resnet18_file) == ["fc.weight", "fc.bias"]


def test_a_head_of_the_same_shape_loads_too(resnet18_file, resnet18_rgb):
    model = build_model(ModelConfig(pretrained=str(resnet18_file)), 1000)
    assert torch.equal(model.fc.weight, resnet18_rgb["fc.weight"])


def test_local_convnext_tiny_weights_load_with_mean_stem_and_copied_bias(tmp_path):
    torch.manual_seed(1)
    with torch.device("meta"):  # torchvision's names and shapes; random values are made below
        shapes = torchvision.models.convnext_tiny(weights=None).state_dict()
    saved = {key: torch.randn(value.shape) for key, value in shapes.items()}
    path = tmp_path / "convnext.pth"
    torch.save({"state_dict": saved, "epoch": 3}, path)  # a checkpoint-style wrapper

    model = build_model(ModelConfig(backbone="convnext", pretrained=str(path)), 3)
    stem = model.features[0][0]
    expected = saved["features.0.0.weight"].mean(1, keepdim=True)
    torch.testing.assert_close(stem.weight, expected, rtol=0, atol=0)
    assert torch.equal(stem.bias, saved["features.0.0.bias"])
    assert_body_equal(
        model, saved, fresh_prefixes=("classifier.2.",), stem_key="features.0.0.weight"
    )
    assert model.classifier[2].weight.shape == (3, 768)


def test_hub_mode_loads_torchvision_file_from_the_torch_hub_cache(
    tmp_path, monkeypatch, resnet18_rgb
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(resnet18_rgb, folder / RESNET18_FILE)

    model = build_model(ModelConfig(pretrained="hub"), 3)
    assert torch.equal(model.layer4[1].conv2.weight, resnet18_rgb["layer4.1.conv2.weight"])


def test_hub_mode_without_the_file_names_the_file_folder_and_url_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(BadModel) as caught:
        build_model(ModelConfig(pretrained="hub"), 3)
    message = str(caught.value)
    assert "\n" not in message
    assert RESNET18_FILE in message
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url in message


def test_another_stem_kernel_size_keeps_a_fresh_stem_with_a_warning(
    resnet18_file, resnet18_rgb, caplog
):
    torch.manual_seed(0)
    fresh = build_model(ModelConfig(conv_kernel_size=5), 3)
    torch.manual_seed(0)
    with caplog.at_level(logging.WARNING, logger="animal_spot.models.pretrained"):
        model = build_model(ModelConfig(conv_kernel_size=5, pretrained=str(resnet18_file)), 3)
    assert "stem" in caplog.text
    assert torch.equal(model.conv1.weight, fresh.conv1.weight)
    assert_body_equal(model, resnet18_rgb, fresh_prefixes=("fc.",), stem_key="conv1.weight")


def test_max_pool_0_keeps_the_new_shortcut_fresh_and_loads_the_rest(resnet18_file, resnet18_rgb):
    model = build_model(ModelConfig(max_pool=0), 3)
    skipped = load_pretrained(model, resnet18_file)
    assert "layer1.0.downsample.0.weight" in skipped
    assert_body_equal(model, resnet18_rgb, fresh_prefixes=("fc.",), stem_key="conv1.weight")


def test_weights_of_another_architecture_are_a_one_line_bad_model(tmp_path):
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), path)
    with pytest.raises(BadModel, match=r"unexpected: layer1\.2\.") as caught:
        build_model(ModelConfig(pretrained=str(path)), 3)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_body_tensors_are_named(tmp_path, resnet18_rgb):
    path = tmp_path / "partial.pth"
    torch.save({k: v for k, v in resnet18_rgb.items() if not k.startswith("layer4")}, path)
    with pytest.raises(BadModel, match=r"missing: layer4\.0\.conv1\.weight"):
        build_model(ModelConfig(pretrained=str(path)), 3)


def test_a_pickled_whole_model_is_refused_in_one_line(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torchvision.models.resnet18(weights=None), path)
    with pytest.raises(BadModel, match=r"torchvision\.models\.resnet\.ResNet") as caught:
        read_state_dict(path)
    assert "\n" not in str(caught.value)


def test_a_damaged_file_is_a_one_line_bad_model(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"not a torch file")
    with pytest.raises(BadModel, match="not a readable torch weights file") as caught:
        read_state_dict(path)
    assert "\n" not in str(caught.value)


def test_a_missing_local_file_is_a_bad_model_naming_it(tmp_path):
    path = tmp_path / "absent.pth"
    with pytest.raises(BadModel, match="not found") as caught:
        build_model(ModelConfig(pretrained=str(path)), 3)
    assert str(path) in str(caught.value)


def test_a_data_parallel_prefix_is_stripped(tmp_path, resnet18_rgb):
    path = tmp_path / "ddp.pth"
    torch.save({f"module.{k}": v for k, v in resnet18_rgb.items()}, path)
    assert set(read_state_dict(path)) == set(resnet18_rgb)
