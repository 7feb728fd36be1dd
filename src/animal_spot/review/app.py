"""The review page's web app: the page, each detection's spectrogram and audio, verdicts in.

Only a browser on this machine should reach it: the server binds 127.0.0.1, requests must
name that host (no DNS rebinding), and verdicts come as JSON, which another site's page cannot
post here without a CORS preflight this app never grants.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import AnimalSpotError
from .detections import Detection
from .session import Review

LOCAL_HOSTS = ("127.0.0.1", "localhost")
_NO_STORE = {"Cache-Control": "no-store"}  # verdicts change what the page shows
_FIGURE_SIZE, _DPI = (7.5, 3.4), 100  # 750 × 340 px: the page's width, not a report's thumbnail
_MAX_CACHED = 64  # excerpts kept rendered: the current one, the next, a few visited


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _verdict_request(body: Any) -> tuple[int, str, str | None]:
    """``(id, verdict, label)`` of a POST body, or ValueError saying what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("send a JSON object {id, verdict, label?}")
    detection_id, verdict, label = body.get("id"), body.get("verdict"), body.get("label")
    if isinstance(detection_id, bool) or not isinstance(detection_id, int):
        raise ValueError("id must be a detection's number")
    if not isinstance(verdict, str):
        raise ValueError("verdict must be correct, wrong or relabel")
    if label is not None and not isinstance(label, str):
        raise ValueError("label must be text")
    return detection_id, verdict, label


def create_app(review: Review, *, allowed_hosts: Sequence[str] = LOCAL_HOSTS) -> Starlette:
    """The Starlette app serving ``review``: ``/``, ``/api/state``, excerpts, ``/verdict``."""
    # reporting's package loads torch (its report pages): only once a review starts.
    from ..reporting.excerpt import Excerpt, read_excerpt, spectrogram_png, wav_bytes

    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    render_lock = threading.Lock()  # matplotlib's pyplot is not thread-safe

    def excerpt_of(detection: Detection) -> Excerpt:
        event = detection.event
        return read_excerpt(detection.recording.audio, event.start_s, event.end_s, review.padding_s)

    @functools.lru_cache(maxsize=_MAX_CACHED)
    def spectrogram(detection_id: int) -> bytes:
        detection = review.detection(detection_id)
        event, excerpt = detection.event, excerpt_of(detection)
        score = "" if event.score is None else f", score {event.score:.3f}"
        title = f"{detection.recording.name}: {event.label}{score}"
        with render_lock:
            return spectrogram_png(
                excerpt,
                [event],
                fmin_hz=review.fmin_hz,
                fmax_hz=review.fmax_hz,
                title=title,
                size=_FIGURE_SIZE,
                dpi=_DPI,
            )

    @functools.lru_cache(maxsize=_MAX_CACHED)
    def audio(detection_id: int) -> bytes:
        return wav_bytes(excerpt_of(review.detection(detection_id)))

    def excerpt_response(request: Request, render: Any, media_type: str) -> Response:
        try:
            return Response(render(request.path_params["detection_id"]), media_type=media_type)
        except KeyError:
            return _error("no such detection", 404)
        except AnimalSpotError as err:  # the recording went away or became unreadable
            return _error(str(err), 500)

    def index(request: Request) -> Response:
        return HTMLResponse(page, headers=_NO_STORE)

    def state(request: Request) -> Response:
        return JSONResponse(review.state(), headers=_NO_STORE)

    def spectrogram_route(request: Request) -> Response:
        return excerpt_response(request, spectrogram, "image/png")

    def audio_route(request: Request) -> Response:
        return excerpt_response(request, audio, "audio/wav")

    async def verdict(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _error("send the verdict as application/json", 415)
        try:
            detection_id, kind, label = _verdict_request(await request.json())
            await run_in_threadpool(review.mark, detection_id, kind, label)
        except KeyError:
            return _error("no such detection", 404)
        except ValueError as err:  # also a body that is not JSON
            return _error(str(err), 400)
        except (AnimalSpotError, OSError) as err:  # not written: the page must say so
            return _error(str(err), 500)
        answer = {
            "detection": review.as_json(review.detection(detection_id)),
            "n_reviewed": review.n_reviewed,
        }
        return JSONResponse(answer, headers=_NO_STORE)

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/spectrogram/{detection_id:int}.png", spectrogram_route),
        Route("/audio/{detection_id:int}.wav", audio_route),
        Route("/verdict", verdict, methods=["POST"]),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    return Starlette(routes=routes, middleware=middleware)
