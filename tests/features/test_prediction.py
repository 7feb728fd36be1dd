"""predict() with a birdnet model.pt: scores, Raven tables, embeddings, and every composition."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot import audio
from animal_spot.annotations.raven import read_table
from animal_spot.bundle import load_model
from animal_spot.config import PredictConfig
from animal_spot.errors import AnimalSpotError, BadConfig
from animal_spot.export import export
from animal_spot.features.predictor import EmbeddingPredictor
from animal_spot.prediction.api import predict
from animal_spot.prediction.scores import read_scores
from tests.conftest import write_wav
from tests.features.conftest import SAMPLE_RATE_HZ, TONE_HZ, require_birdnet

require_birdnet()  # the extractor's tests skip without the birdnet extra

CALL_S = (3.0, 0.5)  # a tone at 3.0–3.5 s of an 8 s recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("recordings")
    return write_wav(
        folder / "rec.wav",
        8.0,
        sample_rate_hz=SAMPLE_RATE_HZ,
        calls=[(*CALL_S, TONE_HZ)],
        call_level=0.3,
        seed=123,
    )


def run(model_path, recording, out, **options):
    config = PredictConfig(
        model_path=(model_path,) if not isinstance(model_path, tuple) else model_path,
        input_file=recording,
        output_dir=out,
        **options,
    )
    return predict(config, progress=False)


def test_predict_writes_scores_and_a_raven_table_with_the_tone_for_a_birdnet_model(
    birdnet_run, recording, tmp_path
):
    result = run(birdnet_run.model_path, recording, tmp_path, latent_extract=True)
    assert result.predicted == [recording] and not result.errors
    (track,) = read_scores(tmp_path / "rec.scores.csv")
    assert track.classes == ("noise", "tone")
    assert track.start_s[:3].tolist() == pytest.approx([0.0, 0.496, 1.0])  # the usual grid
    tone = track.probs[:, 1]
    holds_call = (track.start_s <= CALL_S[0]) & (track.end_s >= sum(CALL_S))
    assert tone[holds_call].min() > tone[~holds_call & (track.end_s < 2.5)].max()
    events = read_table(tmp_path / "rec.selections.txt")
    assert [e.label for e in events] == ["tone"]
    assert events[0].start_s < sum(CALL_S) and events[0].end_s > CALL_S[0]
    embeddings = np.load(tmp_path / "rec.embeddings.npy")
    assert embeddings.shape == (len(track), 1024)  # BirdNET's own embedding, per window
    predictor = EmbeddingPredictor(load_model(birdnet_run.model_path))
    first = audio.read(recording, SAMPLE_RATE_HZ)[
        predictor.grid.samples(0, predictor.grid.window_frames)
    ]
    expected = predictor.features.embed([first])[0]
    np.testing.assert_allclose(embeddings[0], expected, rtol=1e-5, atol=1e-6)


def test_streamed_scores_equal_each_window_embedded_alone(birdnet_run, recording):
    # blocks of 1.3 s cut windows apart; batches of 4 end mid-recording
    predictor = EmbeddingPredictor(load_model(birdnet_run.model_path), batch_size=4, block_s=1.3)
    streamed = predictor.score_file(recording).track
    alone = predictor.score_samples(audio.read(recording, SAMPLE_RATE_HZ)).track
    np.testing.assert_allclose(streamed.start_s, alone.start_s)
    np.testing.assert_allclose(streamed.probs, alone.probs, atol=1e-6)


def test_an_ensemble_a_two_stage_pipeline_and_the_cascade_run_on_birdnet_models(
    birdnet_run, recording, tmp_path
):
    model = birdnet_run.model_path
    single = read_scores(run(model, recording, tmp_path / "single").output_dir / "rec.scores.csv")
    ensemble = run((model, model), recording, tmp_path / "ensemble")
    (averaged,) = read_scores(ensemble.output_dir / "rec.scores.csv")
    np.testing.assert_allclose(averaged.probs, single[0].probs, atol=1e-6)
    staged = run(model, recording, tmp_path / "staged", detector_model=model)
    assert read_table(staged.output_dir / "rec.selections.txt")[0].label == "tone"
    cascade = run(model, recording, tmp_path / "cascade", cascade=True, hop_s=0.25)
    (coarse_fine,) = read_scores(cascade.output_dir / "rec.scores.csv")
    assert coarse_fine.probs[:, 1].max() > 0.5


@pytest.mark.parametrize(
    ("options", "message"),
    [({"fast": True}, "--fast"), ({"runtime": "onnx", "device": "cpu"}, "--runtime")],
)
def test_fast_and_onnx_refuse_a_birdnet_model_in_one_line(
    birdnet_run, recording, tmp_path, options, message
):
    with pytest.raises(BadConfig, match=message) as caught:
        run(birdnet_run.model_path, recording, tmp_path, **options)
    assert "\n" not in str(caught.value)


def test_export_refuses_a_birdnet_model_in_one_line(birdnet_run):
    with pytest.raises(AnimalSpotError, match="birdnet") as caught:
        export(birdnet_run.model_path)
    assert "\n" not in str(caught.value)
