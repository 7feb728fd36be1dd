"""The review app through HTTP: the page, excerpts, and verdicts stored as Raven tables."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from animal_spot.annotations.raven import read_table
from animal_spot.errors import BadTable
from animal_spot.review import Review, create_app, read_verdict_table

from .conftest import SAMPLE_RATE_HZ, Folder, find

with warnings.catch_warnings():  # starlette ≥ 1.x prefers httpx2 but runs on httpx
    warnings.filterwarnings("ignore", "Using `httpx`", UserWarning)
    from starlette.testclient import TestClient


def client(review: Review) -> TestClient:
    return TestClient(create_app(review), base_url="http://127.0.0.1")


def post(http: TestClient, detection_id: int, verdict: str, label: str | None = None):
    body = {"id": detection_id, "verdict": verdict}
    if label is not None:
        body["label"] = label
    return http.post("/verdict", json=body)


def test_page_loads_nothing_from_elsewhere_and_shows_the_keys(folder: Folder):
    page = client(folder.open()).get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    assert "@import" not in page.text and "url(" not in page.text
    for key in ("<kbd>c</kbd>", "<kbd>w</kbd>", "<kbd>1</kbd>", "<kbd>j</kbd>", "<kbd>space</kbd>"):
        assert key in page.text


def test_state_lists_every_detection_with_the_classes_to_relabel_to(folder: Folder):
    state = client(folder.open()).get("/api/state").json()
    assert state["classes"] == ["tone", "upsweep"]
    assert len(state["detections"]) == 7
    first = state["detections"][1]
    assert first == {
        "id": 1,
        "recording": "a.wav",
        "start_s": 1.0,
        "end_s": 1.5,
        "label": "tone",
        "score": 0.95,
        "verdict": None,
        "reviewed_label": None,
    }


def test_each_verdict_is_a_raven_table_row_before_the_answer_comes(folder: Folder):
    review = folder.open()
    http = client(review)
    correct, wrong, relabel = (find(review, "a.wav", s) for s in (1.0, 5.0, 3.0))
    assert post(http, correct, "correct").json()["n_reviewed"] == 1
    assert post(http, wrong, "wrong").status_code == 200
    answer = post(http, relabel, "relabel", "upsweep").json()
    assert answer["detection"]["verdict"] == "relabel"
    assert answer["detection"]["reviewed_label"] == "upsweep"
    table = folder.reviewed / "a.selections.txt"
    assert [(e.start_s, e.label) for e in read_table(table)] == [
        (1.0, "tone"),
        (3.0, "upsweep"),
        (5.0, "noise"),
    ]
    rows = read_verdict_table(table)
    assert [(r.verdict, r.predicted) for r in rows] == [
        ("correct", "tone"),
        ("relabel", "tone"),
        ("wrong", "tone"),
    ]
    assert [r.event.score for r in rows] == pytest.approx([0.95, 0.6, 0.4])
    header = table.read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert header[-4:] == ["Annotation", "Score", "Verdict", "Predicted"]
    assert not (folder.reviewed / "site2").exists()  # no verdict there yet


def test_a_second_verdict_on_a_detection_replaces_the_first(folder: Folder):
    review = folder.open()
    http = client(review)
    detection = find(review, "site2/b.wav", 1.5)
    post(http, detection, "wrong")
    post(http, detection, "correct")
    rows = read_verdict_table(folder.reviewed / "site2" / "b.selections.txt")
    assert [(r.event.label, r.verdict) for r in rows] == [("upsweep", "correct")]
    assert review.n_reviewed == 1


def test_relabelling_to_the_predicted_class_or_to_noise_is_stored_as_correct_or_wrong(
    folder: Folder,
):
    review = folder.open()
    http = client(review)
    same = post(http, find(review, "a.wav", 1.0), "relabel", "tone").json()["detection"]
    noise = post(http, find(review, "a.wav", 5.0), "relabel", "Noise").json()["detection"]
    assert (same["verdict"], same["reviewed_label"]) == ("correct", "tone")
    assert (noise["verdict"], noise["reviewed_label"]) == ("wrong", "noise")


def test_a_new_review_of_the_folder_starts_with_the_earlier_verdicts(folder: Folder):
    first = folder.open()
    http = client(first)
    post(http, find(first, "a.wav", 1.0), "correct")
    post(http, find(first, "site2/b.wav", 3.5), "relabel", "upsweep")
    second = folder.open()
    state = client(second).get("/api/state").json()
    judged = {(d["recording"], d["start_s"]): d["reviewed_label"] for d in state["detections"]}
    assert judged[("a.wav", 1.0)] == "tone"
    assert judged[("site2/b.wav", 3.5)] == "upsweep"
    assert sum(label is not None for label in judged.values()) == 2
    post(client(second), find(second, "a.wav", 6.0), "wrong")
    labels = [e.label for e in read_table(folder.reviewed / "a.selections.txt")]
    assert labels == ["tone", "noise"]  # the earlier verdict stays beside the new one


def test_verdicts_that_match_no_detection_any_more_are_kept(folder: Folder):
    review = folder.open()
    post(client(review), find(review, "a.wav", 5.0), "wrong")
    table = folder.predictions / "a.selections.txt"  # predict ran again: 5.0 s is gone
    lines = [line for line in table.read_text().splitlines() if "\t5.000000\t" not in line]
    table.write_text("\n".join(lines) + "\n")
    again = folder.open()
    assert again.n_reviewed == 0
    post(client(again), find(again, "a.wav", 1.0), "correct")
    rows = read_verdict_table(folder.reviewed / "a.selections.txt")
    assert [(r.event.start_s, r.verdict) for r in rows] == [(1.0, "correct"), (5.0, "wrong")]


def test_a_table_in_the_verdict_folder_that_no_review_wrote_is_refused(folder: Folder):
    foreign = folder.reviewed / "a.Table.1.selections.txt"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("Selection\tBegin Time (s)\tEnd Time (s)\tAnnotation\n1\t1\t2\ttone\n")
    before = foreign.read_bytes()
    with pytest.raises(BadTable, match="not a verdict table") as caught:
        folder.open()
    assert caught.value.path == str(foreign)
    assert "--out" in str(caught.value)
    assert foreign.read_bytes() == before


def test_verdict_requests_the_app_cannot_use_are_refused(folder: Folder):
    review = folder.open()
    http = client(review)
    assert post(http, 99, "correct").status_code == 404
    assert post(http, 0, "maybe").status_code == 400
    assert post(http, 0, "relabel").status_code == 400
    assert (
        http.post("/verdict", content=b"id=0", headers={"content-type": "text/plain"}).status_code
        == 415
    )
    assert (
        http.post(
            "/verdict", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    other_host = TestClient(create_app(review), base_url="http://evil.example")
    assert other_host.get("/").status_code == 400
    assert review.n_reviewed == 0 and not folder.reviewed.exists()


def test_spectrogram_is_a_png_in_the_excerpts_size(folder: Folder):
    review = folder.open()
    response = client(review).get(f"/spectrogram/{find(review, 'a.wav', 1.0)}.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == "PNG" and image.size[0] > 200 and image.size[1] > 100
    assert client(review).get("/spectrogram/99.png").status_code == 404


@pytest.mark.parametrize(
    ("recording", "start_s", "expected_s"),
    [
        ("a.wav", 3.0, 0.5 + 2 * 1.0),  # event and a second each side
        ("a.wav", 0.2, 0.6 + 1.0),  # cut at the start of the file
        ("site2/b.wav", 3.5, 4.0 - 2.5),  # cut at its end
    ],
)
def test_audio_is_a_wav_of_the_event_and_padding_cut_at_the_file_ends(
    folder: Folder, recording: str, start_s: float, expected_s: float
):
    review = folder.open()
    response = client(review).get(f"/audio/{find(review, recording, start_s)}.wav")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    samples, rate = sf.read(io.BytesIO(response.content))
    assert rate == SAMPLE_RATE_HZ
    assert len(samples) / rate == pytest.approx(expected_s, abs=1 / rate)
    assert 0 < np.abs(samples).max() <= 1


def test_padding_is_the_reviews_choice(folder: Folder):
    review = folder.open(padding_s=0.25)
    response = client(review).get(f"/audio/{find(review, 'a.wav', 3.0)}.wav")
    samples, rate = sf.read(io.BytesIO(response.content))
    assert len(samples) / rate == pytest.approx(1.0, abs=1 / rate)
