"""Content fingerprints of clips and the pairs of clips that share a run of identical samples.

Each clip is read at its native rate and quantised to int16, so the same sound stored as WAV and
as FLAC compares equal. Containment and overlap are found by winnowing (Schleimer et al., 2003):
every k-gram of samples is hashed with a rolling polynomial hash, and the smallest hash of each
window of ``window`` consecutive k-grams is kept. Two clips that share a run of at least
``kgram_samples + window - 1`` identical samples then share at least one kept hash. Candidate
pairs are verified on the samples themselves, so a hash collision costs time, never a finding.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from .. import audio
from ..console import progress
from ..errors import BadAudio, BadData
from .manifest import Clip

logger = logging.getLogger(__name__)

ClipKey = tuple[str, float | None, float | None]
"""What a fingerprint is keyed by: ``(path, start_s, end_s)`` of a clip, its audio identity."""

SharedKind = Literal["identical", "contained", "overlap"]

_EMPTY_HASHES: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
_EMPTY_POSITIONS: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
_NONE = np.uint64(2**64 - 1)  # the hash of a constant k-gram: never a window's minimum
_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_MAX_OFFSETS = 4  # alignments verified per candidate pair, most-voted first
_MAX_CLIPS_PER_HASH = 256  # a run found in more clips is an artifact (a beep), not a leak


@dataclass(frozen=True, slots=True, eq=False)
class ClipFingerprint:
    """What one clip holds: identity hashes, rate, length, loudness and winnowed k-gram hashes.

    ``hashes`` are sorted; ``positions_samples[i]`` is where the k-gram of ``hashes[i]`` starts.
    A clip that could not be read has ``error`` set and no content.
    """

    key: ClipKey
    sample_rate_hz: int = 0
    n_samples: int = 0
    peak: float = 0.0
    is_constant: bool = True
    file_sha256: str | None = None
    samples_sha256: str | None = None
    hashes: npt.NDArray[np.uint64] = field(default_factory=lambda: _EMPTY_HASHES)
    positions_samples: npt.NDArray[np.int64] = field(default_factory=lambda: _EMPTY_POSITIONS)
    kgram_samples: int = 64
    window: int = 32
    error: str | None = None

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz if self.sample_rate_hz else 0.0

    @property
    def is_broken(self) -> bool:
        return self.error is not None

    @property
    def min_shared_samples(self) -> int:
        """The shortest shared run this fingerprint is guaranteed to find."""
        return self.kgram_samples + self.window - 1


@dataclass(frozen=True, slots=True)
class SharedContent:
    """Two clips holding the same run of samples.

    ``kind`` is ``identical`` (the same samples), ``contained`` (``b`` lies wholly inside ``a``)
    or ``overlap``; the run starts ``a_start_s`` into ``a`` and ``b_start_s`` into ``b``.
    """

    a: ClipKey
    b: ClipKey
    kind: SharedKind
    shared_s: float
    a_start_s: float = 0.0
    b_start_s: float = 0.0
    is_byte_identical: bool = False


def clip_key(clip: Clip) -> ClipKey:
    """The key of a clip's fingerprint: its path and span."""
    return (str(clip.path), clip.start_s, clip.end_s)


def _quantise(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    """Float samples → int16, exact for 16-bit files whatever their container (WAV, FLAC)."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)


def _read_float(key: ClipKey) -> npt.NDArray[np.float32]:
    path, start_s, end_s = key
    return audio.read(path, start_s=start_s or 0.0, end_s=end_s)


def _read_int16(key: ClipKey) -> npt.NDArray[np.int16]:
    return _quantise(_read_float(key))


def _sliding(
    values: npt.NDArray[np.uint64], width: int, op: np.ufunc, fill: np.uint64
) -> npt.NDArray[np.uint64]:
    """(n,) → (n - width + 1,) min or max of each window, in O(n) (van Herk / Gil-Werman)."""
    n_windows = values.size - width + 1
    padded = np.concatenate([values, np.full((-values.size) % width, fill, dtype=np.uint64)])
    blocks = padded.reshape(-1, width)
    prefix = op.accumulate(blocks, axis=1).ravel()
    suffix = op.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    return op(suffix[:n_windows], prefix[width - 1 : width - 1 + n_windows])  # type: ignore[no-any-return]


def kgram_hashes(samples: npt.NDArray[np.int16], kgram_samples: int) -> npt.NDArray[np.uint64]:
    """(n,) int16 → (n - k + 1,) hash of each k-gram; constant k-grams hash to the max uint64."""
    n, k = samples.size, kgram_samples
    values = (samples.astype(np.int64) + 32769).astype(np.uint64)
    # h(i) = sum_j s[i + j] * B**j = (P[i + k] - P[i]) * B**-i, all modulo 2**64 (uint64 wraps).
    powers = np.full(n, _BASE, dtype=np.uint64)
    powers[0] = 1
    inverse = np.full(n - k + 1, pow(_BASE, -1, 2**64), dtype=np.uint64)
    inverse[0] = 1
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(values * np.cumprod(powers), out=prefix[1:])
    hashes = (prefix[k:] - prefix[: n - k + 1]) * np.cumprod(inverse)
    # splitmix64 finaliser: spreads the polynomial's weak low bits over the whole word.
    hashes ^= hashes >> np.uint64(30)
    hashes *= np.uint64(0xBF58476D1CE4E5B9)
    hashes ^= hashes >> np.uint64(27)
    hashes *= np.uint64(0x94D049BB133111EB)
    hashes ^= hashes >> np.uint64(31)
    changes = np.zeros(n, dtype=np.int64)
    np.cumsum(samples[1:] != samples[:-1], out=changes[1:])
    hashes[changes[k - 1 :] == changes[: n - k + 1]] = _NONE  # digital silence, DC, clipping
    return hashes


def winnow(
    hashes: npt.NDArray[np.uint64], window: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """(m,) k-gram hashes → the minimum of every window of ``window`` hashes, with positions."""
    if hashes.size < window:
        return _EMPTY_HASHES, _EMPTY_POSITIONS
    minima = _sliding(hashes, window, np.minimum, _NONE)
    # Position i is kept iff it equals the minimum of a window holding it, i.e. iff it is not
    # above the largest minimum of the windows i - window + 1 .. i.
    zeros = np.zeros(window - 1, dtype=np.uint64)
    largest = _sliding(np.concatenate([zeros, minima, zeros]), window, np.maximum, np.uint64(0))
    positions = np.flatnonzero((hashes <= largest) & (hashes != _NONE))
    order = np.argsort(hashes[positions], kind="stable")
    return hashes[positions][order], positions[order].astype(np.int64)


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(functools.partial(handle.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint_clip(key: ClipKey, kgram_samples: int = 64, window: int = 32) -> ClipFingerprint:
    """Fingerprint one clip; a clip that cannot be read comes back with ``error`` set."""
    blank = ClipFingerprint(key, kgram_samples=kgram_samples, window=window)
    try:
        rate = audio.info(key[0]).sample_rate_hz
        floats = _read_float(key)
        file_sha256 = _file_sha256(key[0]) if key[1] is None and key[2] is None else None
    except BadAudio as err:
        reason = str(err).removeprefix(f"{err.path}: ").split(" — ")[0]
        return dataclasses.replace(blank, error=reason)
    except (OSError, RuntimeError, ValueError, EOFError) as err:
        return dataclasses.replace(blank, error=f"cannot be read ({err})")
    samples = _quantise(floats)
    if samples.size == 0:
        return dataclasses.replace(blank, sample_rate_hz=rate, error="holds no samples")
    is_constant = bool((samples == samples[0]).all())
    hashes, positions = _EMPTY_HASHES, _EMPTY_POSITIONS
    if not is_constant and samples.size >= kgram_samples:
        hashes, positions = winnow(kgram_hashes(samples, kgram_samples), window)
    return dataclasses.replace(
        blank,
        sample_rate_hz=rate,
        n_samples=int(samples.size),
        peak=audio.peak(floats),
        is_constant=is_constant,
        file_sha256=file_sha256,
        samples_sha256=hashlib.sha256(samples.tobytes()).hexdigest(),
        hashes=hashes,
        positions_samples=positions,
    )


def fingerprint_clips(
    clips: Iterable[Clip], *, workers: int = 1, kgram_samples: int = 64, window: int = 32
) -> dict[ClipKey, ClipFingerprint]:
    """Fingerprint every distinct clip (by path and span), in ``workers`` processes if above 1."""
    if kgram_samples < 2 or window < 1:
        raise BadData(f"kgram_samples must be ≥ 2 and window ≥ 1, not {kgram_samples}, {window}")
    keys = list(dict.fromkeys(clip_key(clip) for clip in clips))
    task = functools.partial(fingerprint_clip, kgram_samples=kgram_samples, window=window)
    results: list[ClipFingerprint] = []
    with progress(len(keys), "reading and fingerprinting clips", unit="clip") as bar:
        if workers > 1 and len(keys) > 1:
            chunk = max(1, len(keys) // (8 * workers))
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for result in pool.map(task, keys, chunksize=chunk):
                    results.append(result)
                    bar.update()
        else:
            for key in keys:
                results.append(task(key))
                bar.update()
    return {result.key: result for result in results}


def _first_sample(fp: ClipFingerprint) -> int:
    """Where the clip starts in its file, in samples (as ``audio.read`` rounds it)."""
    return max(0, round((fp.key[1] or 0.0) * fp.sample_rate_hz))


def _one_per_place(
    hashes: npt.NDArray[np.uint64],
    clips: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    file_of: npt.NDArray[np.int64],
    prints: Sequence[ClipFingerprint],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The (hash, clip, position) entries, one per hash and place in a file, sorted by hash."""
    starts = np.array([_first_sample(fp) for fp in prints], dtype=np.int64)
    # (file, place in file) as one number, so the sort carries two keys instead of three.
    stride = int(max(starts.max(), 0)) + int(positions.max(initial=0)) + 1
    places = file_of[clips] * stride + positions + starts[clips]
    order = np.lexsort((places, hashes))
    places = places[order]
    sorted_hashes = hashes[order]
    first = np.r_[True, (sorted_hashes[1:] != sorted_hashes[:-1]) | (places[1:] != places[:-1])]
    kept = order[first]
    return sorted_hashes[first], clips[kept], positions[kept]


def _candidate_offsets(prints: Sequence[ClipFingerprint]) -> dict[tuple[int, int], list[int]]:
    """Pairs (i < j) of same-rate clips of different files sharing hashes → alignments.

    An alignment is the start of j in i; a pair's alignments come most-voted first.
    """
    lengths = [len(fp.hashes) for fp in prints]
    if sum(lengths) == 0:
        return {}
    file_ids: dict[str, int] = {}
    file_of = np.array([file_ids.setdefault(fp.key[0], len(file_ids)) for fp in prints])
    hashes = np.concatenate([fp.hashes for fp in prints])
    clips = np.repeat(np.arange(len(prints)), lengths)
    positions = np.concatenate([fp.positions_samples for fp in prints])
    # Each clip's hashes are sorted with positions ascending, so a stable sort by hash alone
    # orders by (hash, clip, position), several times faster than np.lexsort.
    order = np.argsort(hashes, kind="stable")
    hashes, clips, positions = hashes[order], clips[order], positions[order]
    # One position per hash and clip: repeats within a clip would only multiply the pairs.
    first = np.r_[True, (hashes[1:] != hashes[:-1]) | (clips[1:] != clips[:-1])]
    hashes, clips, positions = hashes[first], clips[first], positions[first]
    # One entry per hash and place in a file: overlapping spans of one recording hold the same
    # k-gram at the same place, and pairing them all would grow as the square of the spans
    # (their pairs come from the spans alone, see ``_same_file_overlaps``).
    if len(file_ids) < len(prints):
        hashes, clips, positions = _one_per_place(hashes, clips, positions, file_of, prints)
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    sizes = np.diff(np.r_[starts, hashes.size])
    if (sizes > _MAX_CLIPS_PER_HASH).any():
        logger.warning(
            "%d runs of samples found in more than %d clips were not compared (a common artifact?)",
            int((sizes > _MAX_CLIPS_PER_HASH).sum()),
            _MAX_CLIPS_PER_HASH,
        )
    tables = [np.zeros((0, 3), dtype=np.int64)]
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= _MAX_CLIPS_PER_HASH)]).tolist():
        left, right = np.triu_indices(size, k=1)
        base = starts[sizes == size][:, None]
        left, right = (base + left).ravel(), (base + right).ravel()
        tables.append(np.stack([clips[left], clips[right], positions[left] - positions[right]], 1))
    table = np.concatenate(tables)
    rates = np.array([fp.sample_rate_hz for fp in prints])
    is_kept = rates[table[:, 0]] == rates[table[:, 1]]
    table = table[is_kept & (file_of[table[:, 0]] != file_of[table[:, 1]])]
    swapped = table[:, 0] > table[:, 1]  # keep i < j; the alignment then changes sign
    table[swapped] = table[swapped][:, [1, 0, 2]] * np.array([1, 1, -1])
    rows, votes = np.unique(table, axis=0, return_counts=True)
    # Most-voted alignments first within each pair.
    rows = rows[np.lexsort((-votes, rows[:, 1], rows[:, 0]))]
    offsets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, j, offset in rows.tolist():
        if len(offsets[(i, j)]) < _MAX_OFFSETS:
            offsets[(i, j)].append(offset)
    return offsets


def _longest_run(
    a: npt.NDArray[np.int16], b: npt.NDArray[np.int16], offset: int, min_run: int
) -> tuple[int, int]:
    """(length, start in ``a``) of the longest equal run with ``b[0]`` at ``a[offset]``.

    Of a constant stretch at either end of a run only one sample counts towards ``min_run``:
    two clips padded with digital silence whose sounds begin on the same value share no audio.
    """
    low, high = max(0, offset), min(a.size, offset + b.size)
    if high - low < min_run:
        return 0, 0
    equal = np.r_[False, a[low:high] == b[low - offset : high - offset], False]
    edges = np.flatnonzero(equal[1:] != equal[:-1])
    run_starts, run_ends = edges[::2], edges[1::2]
    lengths = run_ends - run_starts
    for index in np.argsort(-lengths, kind="stable"):
        if lengths[index] < min_run:
            break
        run = a[low + run_starts[index] : low + run_ends[index]]
        head_end = np.flatnonzero(run != run[0])  # first sample after the leading stretch
        if head_end.size and np.flatnonzero(run != run[-1])[-1] - head_end[0] + 3 >= min_run:
            return int(lengths[index]), int(low + run_starts[index])
    return 0, 0


def _verified(
    a: ClipFingerprint,
    b: ClipFingerprint,
    offsets: Sequence[int],
    read: Callable[[ClipKey], npt.NDArray[np.int16]],
) -> SharedContent | None:
    samples_a, samples_b = read(a.key), read(b.key)
    best, offset_best, start_best = 0, 0, 0
    for offset in offsets:
        length, start = _longest_run(samples_a, samples_b, offset, a.min_shared_samples)
        if length > best:
            best, offset_best, start_best = length, offset, start
    if best == 0:
        return None
    rate = a.sample_rate_hz
    start_a, start_b = start_best, start_best - offset_best
    kind: SharedKind = "overlap"
    if best == samples_a.size == samples_b.size:
        kind = "identical"
    elif best == samples_b.size:
        kind = "contained"
    elif best == samples_a.size:
        kind, a, b, start_a, start_b = "contained", b, a, start_b, start_a
    return SharedContent(a.key, b.key, kind, best / rate, start_a / rate, start_b / rate)


def _span_samples(fp: ClipFingerprint) -> tuple[int, int]:
    first = _first_sample(fp)
    return first, first + fp.n_samples


def _same_file_overlaps(prints: Sequence[ClipFingerprint]) -> list[SharedContent]:
    """Spans of one file that overlap, found from the spans alone in O(n log n).

    Sorted by start, each span is paired with the earlier span reaching furthest, the one it
    shares most with: at most one pair per span, yet every chain of overlapping spans stays
    connected, which is what merging groups and flagging leaks need.
    """
    by_file: dict[str, list[ClipFingerprint]] = defaultdict(list)
    for fp in prints:
        by_file[fp.key[0]].append(fp)
    found: list[SharedContent] = []
    for spans in by_file.values():
        if len(spans) < 2:
            continue
        reach: ClipFingerprint | None = None
        for fp in sorted(spans, key=lambda f: (_span_samples(f)[0], -_span_samples(f)[1])):
            first, last = _span_samples(fp)
            if reach is not None:
                reach_first, reach_last = _span_samples(reach)
                n_shared = min(reach_last, last) - first
                # Sample-identical spans are paired by their hash already.
                if n_shared >= fp.min_shared_samples and fp.samples_sha256 != reach.samples_sha256:
                    kind: SharedKind = "contained" if last <= reach_last else "overlap"
                    rate = fp.sample_rate_hz
                    offset_s = (first - reach_first) / rate
                    found.append(SharedContent(reach.key, fp.key, kind, n_shared / rate, offset_s))
            if reach is None or last > _span_samples(reach)[1]:
                reach = fp
    return found


def find_shared_content(fingerprints: Mapping[ClipKey, ClipFingerprint]) -> list[SharedContent]:
    """Pairs of clips with the same samples, one inside the other, or a shared run of samples.

    Clips of different sample rates never match; constant clips (digital silence) match nothing.
    A run shorter than ``kgram_samples + window - 1`` samples may go unnoticed.
    """
    usable = sorted(
        (fp for fp in fingerprints.values() if not fp.is_broken and not fp.is_constant),
        key=lambda fp: (
            fp.key[0],
            fp.key[1] or 0.0,
            float("inf") if fp.key[2] is None else fp.key[2],
        ),
    )
    if len({(fp.kgram_samples, fp.window) for fp in usable}) > 1:
        raise BadData("fingerprints made with different kgram_samples or window cannot be compared")
    # Sample-identical clips: found by their hash, then one of each set stands for the rest.
    same: dict[tuple[int, str | None], list[ClipFingerprint]] = defaultdict(list)
    for fp in usable:
        same[(fp.sample_rate_hz, fp.samples_sha256)].append(fp)
    found: list[SharedContent] = []
    for members in same.values():
        for n, a in enumerate(members):
            for b in members[n + 1 :]:
                byte_same = a.file_sha256 is not None and a.file_sha256 == b.file_sha256
                found.append(
                    SharedContent(a.key, b.key, "identical", a.duration_s, 0, 0, byte_same)
                )
    found += _same_file_overlaps(usable)
    heads = [members[0] for members in same.values()]
    read = functools.lru_cache(maxsize=16)(_read_int16)
    for (i, j), offsets in sorted(_candidate_offsets(heads).items()):
        match = _verified(heads[i], heads[j], offsets, read)
        if match is None:
            continue
        group_a = same[(heads[i].sample_rate_hz, heads[i].samples_sha256)]
        group_b = same[(heads[j].sample_rate_hz, heads[j].samples_sha256)]
        if match.a != heads[i].key:
            group_a, group_b = group_b, group_a
        for a in group_a:
            for b in group_b:
                found.append(
                    SharedContent(
                        a.key, b.key, match.kind, match.shared_s, match.a_start_s, match.b_start_s
                    )
                )
    logger.info("%d pairs of clips share content", len(found))
    return found


def groups_to_merge(
    shared: Sequence[SharedContent], clips: Sequence[Clip]
) -> list[tuple[str, str]]:
    """Pairs of groups whose clips share audio, sorted; merge them (union-find) before splitting."""
    groups: dict[ClipKey, set[str]] = defaultdict(set)
    for clip in clips:
        groups[clip_key(clip)].add(clip.group)
    pairs = {
        (min(ga, gb), max(ga, gb))
        for item in shared
        for ga in groups.get(item.a, ())
        for gb in groups.get(item.b, ())
        if ga != gb
    }
    for gs in groups.values():  # one clip listed under several groups
        ordered = sorted(gs)
        pairs |= {(ordered[0], g) for g in ordered[1:]}
    return sorted(pairs)
