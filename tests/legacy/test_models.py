"""ANIMAL-SPOT .pk files load with weights_only and score exactly as the networks that wrote them.

The reference networks here are written from the notes (§5, §11), independently of
``animal_spot.models``: their own state dicts give the old key names, and they read the old
``(batch, 1, time, freq)`` layout.
"""

from __future__ import annotations

import logging

import pytest
import torch
import torchvision
from torch import nn

from animal_spot.bundle import load_model
from animal_spot.errors import BadModel
from animal_spot.legacy.export import convert_legacy
from animal_spot.models import ConvNeXtClassifier, ResNetClassifier

from . import FORK_DATA_OPTS as DATA_OPTS

LAYERS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3]}


class Block(nn.Module):
    """Basic (expansion 1) or bottleneck (expansion 4, stride on the 3×3) residual block."""

    def __init__(self, in_ch: int, width: int, stride: int, bottleneck: bool) -> None:
        super().__init__()
        self.bottleneck = bottleneck
        out_ch = width * (4 if bottleneck else 1)
        if bottleneck:
            self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(out_ch)
        else:
            self.conv1 = nn.Conv2d(in_ch, width, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.bottleneck:
            y = self.bn3(self.conv3(torch.relu(y)))
        return torch.relu(y + self.shortcut(x))


class Encoder(nn.Module):
    """ANIMAL-SPOT's ResNet encoder: k×k/s2 stem, max_pool 0/1/2, four stages."""

    def __init__(self, depth: int, kernel: int, max_pool: int) -> None:
        super().__init__()
        bottleneck = depth >= 50
        self.conv1 = nn.Conv2d(1, 64, kernel, 2, kernel // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.pool = nn.MaxPool2d(3, 2, 1) if max_pool == 1 else nn.Identity()
        in_ch, strides = 64, [2 if max_pool == 0 else 1, 2, 2, 2]
        for n, (count, width, stride) in enumerate(
            zip(LAYERS[depth], (64, 128, 256, 512), strides, strict=True), start=1
        ):
            blocks = []
            for i in range(count):
                blocks.append(Block(in_ch, width, stride if i == 0 else 1, bottleneck))
                in_ch = width * (4 if bottleneck else 1)
            setattr(self, f"layer{n}", nn.Sequential(*blocks))
        self.out_channels = in_ch

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class Classifier(nn.Module):
    def __init__(self, in_ch: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_ch, num_classes)

    def forward(self, features):
        return self.linear(features.mean(dim=(-2, -1)))


class ConvNeXtEncoder(nn.Module):
    """The fork's encoder: torchvision convnext_tiny, 1-channel stem, ``features`` held twice."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = torchvision.models.convnext_tiny(weights=None)
        self.backbone.features[0][0] = nn.Conv2d(1, 96, 4, 4)
        self.features = self.backbone.features
        self.out_channels = 768

    def forward(self, x):
        return self.features(x)


def randomise(model: nn.Module, seed: int) -> nn.Module:
    """Random weights and normalisation statistics everywhere, so every parameter matters.

    The model may come from the meta device: every tensor is allocated and filled here.
    """
    model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)

    def noise(tensor):
        return torch.randn(tensor.shape, generator=generator)

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                fan_in = module.weight[0].numel()
                module.weight.copy_(noise(module.weight) / fan_in**0.5)
            elif isinstance(module, nn.BatchNorm2d | nn.LayerNorm):
                module.weight.copy_(1 + 0.1 * noise(module.weight))
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(0.1 * noise(module.running_mean))
                module.running_var.copy_(0.5 + noise(module.running_var).abs())
                module.num_batches_tracked.zero_()
            if getattr(module, "bias", None) is not None:
                module.bias.copy_(0.1 * noise(module.bias))
            if hasattr(module, "layer_scale"):
                module.layer_scale.copy_(0.3 + 0.1 * noise(module.layer_scale))
    return model.eval()


def write_pk(path, encoder, classifier, encoder_opts, num_classes, classes, **extra):
    """A .pk in the notes' layout: option dicts, the two state dicts, classes."""
    content = {
        "encoderOpts": encoder_opts,
        "classifierOpts": {
            "input_channels": encoder.out_channels,
            "pooling": "avg",
            "num_classes": num_classes,
        },
        "dataOpts": dict(DATA_OPTS),
        "encoderState": {f"encoder.{k}": v for k, v in encoder.state_dict().items()},
        "classifierState": {f"classifier.{k}": v for k, v in classifier.state_dict().items()},
        **extra,
    }
    if classes is not None:
        content["classes"] = classes
    torch.save(content, path)
    return path


def reference_probs(encoder, classifier, x_old):
    with torch.no_grad():
        return torch.softmax(classifier(encoder(x_old)), dim=-1)


def resnet_pk(tmp_path, depth, num_classes, max_pool, kernel=7, classes="default"):
    with torch.device("meta"):  # no init cost: randomise fills every tensor
        encoder = Encoder(depth, kernel, max_pool)
        classifier = Classifier(encoder.out_channels, num_classes)
    encoder, classifier = randomise(encoder, depth + max_pool), randomise(classifier, 1)
    if classes == "default":
        names = ["noise", "target"] if num_classes == 2 else [f"K{i}" for i in range(num_classes)]
        classes = {name: i for i, name in enumerate(names)}
    opts = {"input_channels": 1, "conv_kernel_size": [kernel], "max_pool": max_pool}
    opts["resnet_size"] = depth
    path = write_pk(tmp_path / "ANIMAL-SPOT.pk", encoder, classifier, opts, num_classes, classes)
    return path, encoder, classifier


@pytest.mark.parametrize("max_pool", [0, 1, 2])
@pytest.mark.parametrize("num_classes", [2, 5])
@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_pk_gives_the_probabilities_of_the_network_that_wrote_it(
    tmp_path, depth, num_classes, max_pool
):
    path, encoder, classifier = resnet_pk(tmp_path, depth, num_classes, max_pool)
    x_old = torch.randn(2, 1, 64, 48, generator=torch.Generator().manual_seed(3))  # (B,1,T,F)
    expected = reference_probs(encoder, classifier, x_old)
    bundle = load_model(path, sequence_len_ms=500, min_max_norm=True)
    assert isinstance(bundle.model, ResNetClassifier) and bundle.config.model.time_major
    assert not any(t.is_meta for t in [*bundle.model.parameters(), *bundle.model.buffers()])
    with torch.no_grad():
        got = torch.softmax(bundle.model(x_old.transpose(-1, -2)), dim=-1)  # ours: (B,1,F,T)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert expected.max() < 0.999  # the check compares informative probabilities
    assert len(bundle.classes) == num_classes
    assert bundle.config.model.name == f"resnet{depth}"
    assert bundle.config.model.max_pool == max_pool
    assert bundle.config.spectrogram.sequence_len_ms == 500
    assert bundle.config.spectrogram.min_max_norm


def test_pk_front_end_comes_from_data_opts_and_assumptions_are_said_in_one_line(tmp_path, caplog):
    path, *_ = resnet_pk(tmp_path, 18, 2, 1, kernel=5, classes=None)
    torch.save(
        {
            **torch.load(path, weights_only=True),
            "dataOpts": {
                **DATA_OPTS,
                "n_fft": 4096,
                "hop_length": 441,
                "sr": 48000,
                "freq_compression": "mel",
            },
        },
        path,
    )
    with caplog.at_level(logging.WARNING):
        bundle = load_model(path)
    spec, audio = bundle.config.spectrogram, bundle.config.audio
    assert (audio.sample_rate_hz, spec.n_fft, spec.hop_length) == (48000, 4096, 441)
    assert (spec.fmin_hz, spec.fmax_hz, spec.n_freq_bins) == (500, 10000, 256)
    assert (spec.preemphasis, spec.min_level_db, spec.ref_level_db) == (0.98, -100, 20)
    assert spec.freq_compression == "mel"
    assert (spec.sequence_len_ms, spec.min_max_norm) == (1280, False)
    assert bundle.classes == ["noise", "target"]  # no classes in the file: predict.py's default
    assert bundle.config.model.conv_kernel_size == 5
    lines = [r.getMessage() for r in caplog.records if "assumed" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "sequence_len 1280 ms" in lines[0] and "min_max_norm false" in lines[0]


@pytest.mark.parametrize("classes", [{"noise": 0, "target": 1}, {"noise": 0, "orca": 1, "seal": 2}])
def test_fork_convnext_pk_gives_the_probabilities_of_the_network_that_wrote_it(
    tmp_path, caplog, classes
):
    with torch.device("meta"):
        encoder, classifier = ConvNeXtEncoder(), Classifier(768, len(classes))
    encoder, classifier = randomise(encoder, 7), randomise(classifier, 8)
    path = write_pk(
        tmp_path / "fork.pk",
        encoder,
        classifier,
        {"input_channels": 1},
        len(classes),
        classes,
        backbone="convnext",
    )
    state = torch.load(path, weights_only=True)["encoderState"]
    assert any(k.startswith("encoder.backbone.") for k in state)
    assert any(k.startswith("encoder.features.") for k in state)
    x_old = torch.randn(2, 1, 64, 96, generator=torch.Generator().manual_seed(4))
    expected = reference_probs(encoder, classifier, x_old)
    with caplog.at_level(logging.WARNING):
        bundle = load_model(path, min_max_norm=False)
    assert "sequence_len 1000 ms (fork default)" in caplog.text
    assert isinstance(bundle.model, ConvNeXtClassifier) and not bundle.config.model.head_norm
    assert bundle.config.model.name == "convnext_tiny"
    assert bundle.classes == list(classes)
    with torch.no_grad():
        got = torch.softmax(bundle.model(x_old.transpose(-1, -2)), dim=-1)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)

    # converted once, the model.pt predicts the same and needs no flags
    out = convert_legacy(path, tmp_path / "model.pt", sequence_len_ms=800, min_max_norm=True)
    caplog.clear()
    again = load_model(out)
    assert "assumed" not in caplog.text
    assert again.config.model.time_major and not again.config.model.head_norm
    assert again.config.spectrogram.sequence_len_ms == 800 and again.config.spectrogram.min_max_norm
    with torch.no_grad():
        torch.testing.assert_close(
            torch.softmax(again.model(x_old.transpose(-1, -2)), dim=-1),
            expected,
            rtol=1e-4,
            atol=1e-5,
        )


def test_converted_resnet_model_pt_loads_weights_only_and_scores_the_same(tmp_path):
    path, encoder, classifier = resnet_pk(tmp_path, 18, 4, 0)
    out = convert_legacy(path, sequence_len_ms=1280, min_max_norm=False)
    assert out == tmp_path / "ANIMAL-SPOT.pt"
    content = torch.load(out, weights_only=True)
    assert content["config"]["model"]["time_major"] is True
    assert content["provenance"]["framing"] == "per_window"
    x_old = torch.randn(1, 1, 40, 64)
    with torch.no_grad():
        got = torch.softmax(load_model(out).model(x_old.transpose(-1, -2)), dim=-1)
    torch.testing.assert_close(got, reference_probs(encoder, classifier, x_old))


def test_pk_keys_without_the_module_prefix_load_too(tmp_path):
    path, encoder, classifier = resnet_pk(tmp_path, 18, 2, 2)
    content = torch.load(path, weights_only=True)
    for key, prefix in (("encoderState", "encoder."), ("classifierState", "classifier.")):
        content[key] = {k.removeprefix(prefix): v for k, v in content[key].items()}
    torch.save(content, path)
    x_old = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        got = torch.softmax(load_model(path).model(x_old.transpose(-1, -2)), dim=-1)
    torch.testing.assert_close(got, reference_probs(encoder, classifier, x_old))


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pk_with_arbitrary_objects_is_refused_in_one_line(tmp_path):
    path = tmp_path / "evil.pk"
    torch.save({"encoderOpts": Payload(), "encoderState": {}}, path)
    with pytest.raises(BadModel, match="cannot be loaded safely") as info:
        load_model(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"encoderOpts": {"resnet_size": 19, "max_pool": 1}}, "resnet"),
        ({"encoderOpts": {"resnet_size": 18, "max_pool": 3}}, "max_pool"),
        ({"classifierOpts": {"pooling": "max", "num_classes": 2}}, "pooling 'max'"),
        ({"classes": {"CALL": 0, "NOISE": 0}}, "two names share an index"),
        ({"backbone": "vit"}, "neither resnet nor convnext"),
        ({"dataOpts": {"sr": 44100}}, "dataOpts lacks preemphases"),
        ({"encoderOpts": {"resnet_size": 34}}, "do not fit resnet34"),
    ],
)
def test_unexpected_pk_content_is_refused_with_a_clear_message(tmp_path, change, message):
    path, *_ = resnet_pk(tmp_path, 18, 2, 1)
    torch.save({**torch.load(path, weights_only=True), **change}, path)
    with pytest.raises(BadModel, match=message) as info:
        load_model(path, sequence_len_ms=1000, min_max_norm=False)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "change",
    [
        {"encoderState": torch.zeros(3)},
        {"classifierState": {"linear.weight": torch.zeros(2), "linear.bias": torch.zeros(2)}},
        {"encoderOpts": {"resnet_size": "eighteen", "max_pool": 1}},
        {"dataOpts": ["sr", 44100]},
        {"classes": 7},
    ],
)
def test_damaged_pk_content_of_the_right_keys_is_bad_model_naming_the_file(tmp_path, change):
    path, *_ = resnet_pk(tmp_path, 18, 2, 1)
    torch.save({**torch.load(path, weights_only=True), **change}, path)
    with pytest.raises(BadModel) as info:
        load_model(path, sequence_len_ms=1000, min_max_norm=False)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_model_pt_converted_before_the_layout_options_still_scores_the_same(tmp_path):
    """Older conversions said ``provenance["legacy_layout"]`` instead of the model options."""
    path, encoder, classifier = resnet_pk(tmp_path, 18, 3, 2)
    content = torch.load(convert_legacy(path, sequence_len_ms=1000), weights_only=True)
    for key in ("time_major", "head_norm"):
        del content["config"]["model"][key]
    del content["provenance"]["framing"]
    content["provenance"]["legacy_layout"] = "animal-spot"
    old = tmp_path / "old.pt"
    torch.save(content, old)
    bundle = load_model(old)
    assert bundle.config.model.time_major and bundle.provenance["framing"] == "per_window"
    x_old = torch.randn(1, 1, 40, 64)
    with torch.no_grad():
        got = torch.softmax(bundle.model(x_old.transpose(-1, -2)), dim=-1)
    torch.testing.assert_close(got, reference_probs(encoder, classifier, x_old))
