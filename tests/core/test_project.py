"""Project files: bit-exact round trips with history, metadata for export, atomic writes, and
one clear ProjectFileError for every damaged, foreign or newer file (fuzzed)."""

from __future__ import annotations

import errno
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from inpaint_studio.core import project
from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit, History
from inpaint_studio.core.imageio import load_image, save_image
from inpaint_studio.core.project import (
    FORMAT_VERSION,
    PatchCache,
    ProjectSnapshot,
    load_project,
    peek_project,
    read_project,
    save_project,
    write_project,
)
from inpaint_studio.errors import ProjectFileError
from tests.failing_io import simulate_full_disk

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _photo(h: int = 60, w: int = 80, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 3 % 256, y * 4 % 256, (x + y) % 256], axis=-1)
    return np.clip(base + rng.integers(-10, 11, (h, w, 3)), 0, 255).astype(np.uint8)


def _jpeg_source(folder: Path) -> Path:
    exif = Image.Exif()
    exif[0x013B] = "Ada"  # Artist
    path = folder / "holiday.jpg"
    Image.fromarray(_photo()).save(
        path, quality=87, subsampling=2, exif=exif, icc_profile=SRGB_ICC, dpi=(240, 240)
    )
    return path


def _session(doc: Document, steps: int = 6, undo: int = 2, seed: int = 1) -> History:
    """Push `steps` edits of every kind (image, mask, both), then undo `undo` of them."""
    rng = np.random.default_rng(seed)
    history = History()
    for i in range(steps):
        x, y = int(rng.integers(0, doc.width - 10)), int(rng.integers(0, doc.height - 10))
        w = int(rng.integers(1, doc.width - x + 1))
        h = int(rng.integers(1, doc.height - y + 1))
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8) if i % 3 != 1 else None
        mask = (rng.integers(0, 2, (h, w), dtype=np.uint8) * 255) if i % 3 != 0 else None
        edit = Edit.capture(
            f"step {i}", doc, Rect(x, y, w, h), new_image_patch=image, new_mask_patch=mask
        )
        doc.apply(edit)
        history.push(edit)
    for _ in range(undo):
        doc.revert(history.undo())
    return history


def _states(doc: Document, history: History) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image, mask) after 0..len(history) steps, walking a scratch copy of the document."""
    scratch = Document(doc.image, mask=doc.mask)
    edits = history.edits
    for edit in reversed(edits[: history.index]):
        scratch.revert(edit)
    states = [(scratch.image.copy(), scratch.mask.copy())]
    for edit in edits:
        scratch.apply(edit)
        states.append((scratch.image.copy(), scratch.mask.copy()))
    return states


def _assert_same_edits(a: tuple[Edit, ...], b: tuple[Edit, ...]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.label, x.rect, x.nbytes) == (y.label, y.rect, y.nbytes)
        for name in ("image_before", "image_after", "mask_before", "mask_after"):
            u, v = getattr(x, name), getattr(y, name)
            assert (u is None) == (v is None)
            if u is not None:
                assert u.dtype == v.dtype and np.array_equal(u, v)


@pytest.fixture
def jpeg_doc(tmp_path: Path) -> tuple[Document, History, Path]:
    src = _jpeg_source(tmp_path)
    loaded = load_image(src)
    doc = Document.from_loaded(loaded, src.read_bytes())
    return doc, _session(doc), src


# --------------------------------------------------------------------------- round trips


def test_round_trip_restores_every_step_bit_exact(tmp_path: Path, jpeg_doc) -> None:
    doc, history, src = jpeg_doc
    states = _states(doc, history)
    path = tmp_path / "work.inpaint"
    save_project(path, doc, history)

    loaded_doc, loaded_history = load_project(path)
    assert loaded_doc.path == path and not loaded_doc.dirty
    assert np.array_equal(loaded_doc.image, doc.image)
    assert np.array_equal(loaded_doc.mask, doc.mask)
    assert loaded_history.index == history.index == 4 and len(loaded_history) == 6
    _assert_same_edits(loaded_history.edits, history.edits)
    # undo everything, then redo everything (including the 2 steps that were undone)
    k = loaded_history.index
    while (edit := loaded_history.undo()) is not None:
        loaded_doc.revert(edit)
        k -= 1
        assert np.array_equal(loaded_doc.image, states[k][0])
        assert np.array_equal(loaded_doc.mask, states[k][1])
    assert np.array_equal(loaded_doc.image, load_image(src).pixels)
    while (edit := loaded_history.redo()) is not None:
        loaded_doc.apply(edit)
        k += 1
        assert np.array_equal(loaded_doc.image, states[k][0])
        assert np.array_equal(loaded_doc.mask, states[k][1])
    assert k == 6


def test_original_bytes_and_export_metadata_survive(tmp_path: Path, jpeg_doc) -> None:
    doc, history, src = jpeg_doc
    path = tmp_path / "work.inpaint"
    save_project(path, doc, history)
    with zipfile.ZipFile(path) as zf:
        assert zf.read("original/holiday.jpg") == src.read_bytes()  # byte for byte
    src.unlink()  # the project is self-contained
    reopened = read_project(path)
    new = reopened.document
    assert new.source_bytes == doc.source_bytes
    o, n = doc.original, new.original
    assert n is not None and n.format == "JPEG" and n.source_path == src
    assert (n.exif, n.icc_profile, n.jpeg_quality, n.jpeg_subsampling, n.dpi) == (
        o.exif,
        o.icc_profile,
        o.jpeg_quality,
        o.jpeg_subsampling,
        o.dpi,
    )
    assert np.array_equal(n.pixels, o.pixels)  # state at history index 0 = the opened photo
    out = tmp_path / "export.jpg"
    save_image(out, new.image, like=n)
    exported = load_image(out)
    assert exported.exif == o.exif and exported.icc_profile == SRGB_ICC
    assert abs(exported.jpeg_quality - 87) <= 2 and exported.jpeg_subsampling == 2


def test_jpeg_export_from_a_reopened_project_keeps_the_unedited_blocks(tmp_path: Path) -> None:
    pytest.importorskip("jpeglib")
    src = _jpeg_source(tmp_path)
    doc = Document.from_loaded(load_image(src), src.read_bytes())
    patch = np.full((8, 12, 3), (250, 250, 20), np.uint8)
    history = History()
    edit = Edit.capture("repair", doc, Rect(40, 24, 12, 8), new_image_patch=patch)
    doc.apply(edit)
    history.push(edit)
    save_project(tmp_path / "work.inpaint", doc, history)
    src.unlink()  # the project alone carries the original bytes
    reopened = read_project(tmp_path / "work.inpaint").document
    assert reopened.original is not None and reopened.original.source_jpeg == doc.source_bytes
    save_image(tmp_path / "export.jpg", reopened.image, like=reopened.original)
    exported = load_image(tmp_path / "export.jpg").pixels
    far = np.ones(exported.shape[:2], dtype=bool)
    far[24 - 16 : 32 + 16, 32 - 16 : 64 + 16] = False  # the edit's 16 px MCUs and one around
    assert np.array_equal(exported[far], doc.original.pixels[far])
    assert (exported[25:31, 42:50, 2] < 120).all()  # the yellow repair is there


def test_alpha_and_document_without_source(tmp_path: Path) -> None:
    rgba = np.dstack([_photo(30, 40, seed=3), np.arange(30 * 40).reshape(30, 40) % 256])
    Image.fromarray(rgba.astype(np.uint8)).save(tmp_path / "cut.png")
    doc = Document.from_loaded(load_image(tmp_path / "cut.png"))  # no bytes kept: re-read
    history = _session(doc, steps=3, undo=0)
    save_project(tmp_path / "a.inpaint", doc, history)
    back, _ = load_project(tmp_path / "a.inpaint")
    assert np.array_equal(back.alpha, rgba[..., 3]) and back.original.alpha is not None
    assert back.source_bytes == (tmp_path / "cut.png").read_bytes()

    bare = Document(_photo(20, 30))
    save_project(tmp_path / "b.inpaint", bare, History())
    plain, empty = load_project(tmp_path / "b.inpaint")
    assert plain.original is None and plain.alpha is None and len(empty) == 0
    assert np.array_equal(plain.image, bare.image) and not plain.mask.any()


def test_source_changed_on_disk_is_not_taken_as_original(tmp_path: Path) -> None:
    src = _jpeg_source(tmp_path)
    doc = Document.from_loaded(load_image(src))
    src.write_bytes(src.read_bytes() + b"saved over")  # e.g. exported over the original
    save_project(tmp_path / "p.inpaint", doc, History())
    with zipfile.ZipFile(tmp_path / "p.inpaint") as zf:
        assert not [n for n in zf.namelist() if n.startswith("original/")]
    assert read_project(tmp_path / "p.inpaint").document.original.exif == doc.original.exif


def test_empty_rect_edit_and_evicted_count(tmp_path: Path) -> None:
    doc = Document(_photo(20, 20))
    history = History()
    history.push(
        Edit(
            "nothing",
            Rect(3, 3, 0, 0),
            mask_before=np.zeros((0, 0), np.uint8),
            mask_after=np.zeros((0, 0), np.uint8),
        )
    )
    history.evicted = 7
    save_project(tmp_path / "e.inpaint", doc, history)
    back = read_project(tmp_path / "e.inpaint").history
    assert back.evicted == 7 and back.edits[0].rect == Rect(3, 3, 0, 0)
    assert back.edits[0].mask_after.shape == (0, 0)


def test_snapshot_is_a_frozen_copy(jpeg_doc, tmp_path: Path) -> None:
    doc, history, _ = jpeg_doc
    snap = ProjectSnapshot.capture(doc, history.edits, history.index, clean_index=2)
    before = doc.image.copy()
    doc.image[:] = 0  # the live document changes after the snapshot was taken
    write_project(tmp_path / "s.inpaint", snap)
    got = read_project(tmp_path / "s.inpaint")
    assert np.array_equal(got.document.image, before) and got.clean_index == 2
    with pytest.raises(ValueError):
        ProjectSnapshot.capture(doc, history.edits, 99)


def test_patch_cache_encodes_each_step_once(
    tmp_path: Path, jpeg_doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, history, _ = jpeg_doc
    calls: list[tuple[int, ...]] = []
    real = project._encode_png

    def counting(array: np.ndarray, level: int) -> bytes:
        calls.append(array.shape)
        return real(array, level)

    monkeypatch.setattr(project, "_encode_png", counting)
    cache = PatchCache()
    snap = ProjectSnapshot.capture(doc, history.edits, history.index)
    write_project(tmp_path / "c.inpaint", snap, cache=cache)
    patches = sum(
        (e.image_after is not None) * 2 + (e.mask_after is not None) * 2 for e in history.edits
    )
    assert len(calls) == 2 + patches  # image + mask + every patch
    calls.clear()
    extra = Edit.capture("more", doc, Rect(0, 0, 5, 5), new_mask_patch=np.full((5, 5), 255, "u1"))
    doc.apply(extra)
    history.push(extra)  # drops the 2 undone steps, adds one
    write_project(
        tmp_path / "c.inpaint", ProjectSnapshot.capture(doc, history.edits, 5), cache=cache
    )
    # the mask and the new step's two mask patches; the image did not change: reused
    assert sorted(calls) == [(5, 5), (5, 5), (60, 80)] and len(cache) == 5
    assert read_project(tmp_path / "c.inpaint").history.index == 5


# --------------------------------------------------------------------------- atomic writes


def _listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_full_disk_keeps_the_previous_project(
    tmp_path: Path, jpeg_doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, history, src = jpeg_doc
    path = tmp_path / "work.inpaint"
    save_project(path, doc, history)
    before = path.read_bytes()
    simulate_full_disk(monkeypatch, room=5000)
    doc.image[:] = 1
    with pytest.raises(ProjectFileError) as info:
        save_project(path, doc, history)
    assert str(info.value) == "Cannot save project work.inpaint: the disk is full."
    assert path.read_bytes() == before
    assert _listing(tmp_path) == sorted([src.name, "work.inpaint"])  # no temporary left


def test_missing_folder_unwritable_folder_and_folder_target(
    tmp_path: Path, jpeg_doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, history, _ = jpeg_doc
    with pytest.raises(ProjectFileError, match="does not exist"):
        save_project(tmp_path / "nope" / "x.inpaint", doc, history)
    (tmp_path / "dir.inpaint").mkdir()
    with pytest.raises(ProjectFileError, match="a folder with that name exists"):
        save_project(tmp_path / "dir.inpaint", doc, history)
    real_open = os.open

    def deny(path, *args, **kwargs):
        if ".tmp-" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(ProjectFileError) as info:
        save_project(tmp_path / "x.inpaint", doc, history)
    assert str(info.value) == "Cannot save project x.inpaint: permission denied."


# --------------------------------------------------------------------------- bad files


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a project, letting `edit(name, data) -> data | None` change or drop entries."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
    return dst


def _with_manifest(src: Path, dst: Path, change) -> Path:
    def edit(name: str, data: bytes) -> bytes:
        if name != "project.json":
            return data
        manifest = json.loads(data)
        change(manifest)
        return json.dumps(manifest).encode()

    return _rewrite(src, dst, edit)


@pytest.fixture
def good(tmp_path: Path, jpeg_doc) -> Path:
    doc, history, _ = jpeg_doc
    path = tmp_path / "good.inpaint"
    save_project(path, doc, history)
    return path


def _swap_patch(name: str, data: bytes) -> bytes:
    if name == "history/00000-image-after.png":
        return project._encode_png(np.zeros_like(_decode(data)), 1)
    return data


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def _png_of_size(name: str, data: bytes) -> bytes:
    return project._encode_png(np.zeros((5, 5, 3), np.uint8), 1) if name == "image.png" else data


def _put(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


CASES = {
    "missing": (lambda d, g: d / "gone.inpaint", "the file does not exist"),
    "empty": (lambda d, g: _put(d / "e.inpaint", b""), "is empty"),
    "folder": (lambda d, g: (d / "f.inpaint").mkdir() or d / "f.inpaint", "it is a folder"),
    "text": (lambda d, g: _put(d / "t.inpaint", b"hello\n" * 40), "not an Inpaint Studio project"),
    "jpeg": (
        lambda d, g: _put(d / "j.inpaint", _jpeg_source(d).read_bytes()),
        "not an Inpaint Studio project",
    ),
    "foreign-zip": (
        lambda d, g: _rewrite(g, d / "z.inpaint", lambda n, b: None if n == "mimetype" else b),
        "not an Inpaint Studio project",
    ),
    "truncated": (
        lambda d, g: _put(d / "c.inpaint", g.read_bytes()[: g.stat().st_size // 2]),
        "damaged or incomplete",
    ),
    "newer": (
        lambda d, g: _with_manifest(g, d / "n.inpaint", lambda m: m.update(format_version=99)),
        "newer Inpaint Studio (project format 99; this version reads format 1)",
    ),
    "bad-version": (
        lambda d, g: _with_manifest(g, d / "v.inpaint", lambda m: m.update(format_version="1")),
        "damaged or incomplete",
    ),
    "other-format": (
        lambda d, g: _with_manifest(g, d / "o.inpaint", lambda m: m.update(format="krita")),
        "not an Inpaint Studio project",
    ),
    "rect-outside": (
        lambda d, g: _with_manifest(
            g, d / "r.inpaint", lambda m: m["history"]["steps"][0].update(rect=[70, 50, 30, 30])
        ),
        "damaged or incomplete",
    ),
    "index-too-big": (
        lambda d, g: _with_manifest(g, d / "i.inpaint", lambda m: m["history"].update(index=7)),
        "damaged or incomplete",
    ),
    "missing-patch": (
        lambda d, g: _rewrite(
            g, d / "p.inpaint", lambda n, b: None if n == "history/00002-mask-after.png" else b
        ),
        "part 'history/00002-mask-after.png' is missing",
    ),
    "chain-mismatch": (
        lambda d, g: _rewrite(g, d / "m.inpaint", _swap_patch),
        "undo history does not match the image",
    ),
    "wrong-size-image": (
        lambda d, g: _rewrite(g, d / "w.inpaint", _png_of_size),
        "damaged or incomplete",
    ),
    "json-garbage": (
        lambda d, g: _rewrite(
            g, d / "g.inpaint", lambda n, b: b"{not json" if n == "project.json" else b
        ),
        "damaged or incomplete",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_project_files_raise_one_clear_line(tmp_path: Path, good: Path, case: str) -> None:
    make, reason = CASES[case]
    folder = tmp_path / "bad"
    folder.mkdir()
    path = make(folder, good)
    with pytest.raises(ProjectFileError) as info:
        read_project(path)
    text = str(info.value)
    assert text.startswith(f"Cannot open project {path.name}: ") and text.endswith(".")
    assert reason in text and "\n" not in text


def test_pixel_limit_and_peek(tmp_path: Path, good: Path) -> None:
    with pytest.raises(ProjectFileError, match="80x60 pixels, more than the limit of 100 pixels"):
        read_project(good, max_pixels=100)
    info = peek_project(good)
    assert info["format_version"] == FORMAT_VERSION and len(info["history"]["steps"]) == 6
    with pytest.raises(ProjectFileError):
        peek_project(tmp_path / "missing.inpaint")


_operation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 16)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20), st.just(0)),
)


def _mutate(data: bytes, operations) -> bytes:
    buf = bytearray(data)
    for kind, position, arg in operations:
        pos = position % (len(buf) + 1)
        if kind == "flip" and buf:
            buf[min(pos, len(buf) - 1)] ^= arg
        elif kind == "insert":
            buf[pos:pos] = arg
        elif kind == "delete":
            del buf[pos : pos + arg]
        elif kind == "truncate":
            del buf[pos:]
    return bytes(buf)


def _small_project() -> bytes:
    doc = Document(_photo(12, 16, seed=5))
    history = _session(doc, steps=3, undo=1, seed=9)
    snap = ProjectSnapshot.capture(doc, history.edits, history.index)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "seed.inpaint"
        write_project(out, snap, compress_level=1)
        return out.read_bytes()


SEED = _small_project()
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(operations=st.lists(_operation, min_size=1, max_size=3))
def test_mutated_projects_load_or_raise_project_file_error(tmp_path: Path, operations) -> None:
    path = tmp_path / "fuzzed.inpaint"
    path.write_bytes(_mutate(SEED, operations))
    try:
        got = read_project(path)
    except ProjectFileError as exc:
        assert "fuzzed.inpaint" in str(exc) and "\n" not in str(exc)
    else:  # the mutation hit bytes nothing depends on (timestamps, padding): must be intact
        assert got.document.image.shape == (12, 16, 3) and len(got.history) == 3


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


@FUZZ
@given(
    key=st.sampled_from(["width", "height", "alpha", "history", "source", "document_path"]),
    value=_json,
)
def test_foreign_manifest_values_raise_project_file_error(
    tmp_path: Path, key: str, value: object
) -> None:
    seed = tmp_path / "seed.inpaint"
    seed.write_bytes(SEED)
    path = _with_manifest(seed, tmp_path / "odd.inpaint", lambda m: m.update({key: value}))
    try:
        read_project(path)
    except ProjectFileError as exc:
        assert "odd.inpaint" in str(exc) and "\n" not in str(exc)


def test_16_bit_grey_source_exports_16_bits_after_reopening(tmp_path: Path) -> None:
    """A project of a 16-bit grey master keeps the master's samples for the export, also
    when the master is gone: they come from the original bytes the project holds."""
    import cv2

    v16 = np.random.default_rng(6).integers(0, 65536, (30, 40), dtype=np.uint16)
    src = tmp_path / "master.tif"
    src.write_bytes(cv2.imencode(".tif", v16)[1].tobytes())
    doc = Document.from_loaded(load_image(src), src.read_bytes())
    history = History()
    patch = np.full((4, 6, 3), 90, np.uint8)
    edit = Edit.capture("fill", doc, Rect(3, 2, 6, 4), new_image_patch=patch)
    doc.apply(edit)
    history.push(edit)
    path = tmp_path / "work.inpaint"
    save_project(path, doc, history)
    src.unlink()
    reopened = read_project(path).document
    assert reopened.original.grey and np.array_equal(reopened.original.samples16, v16)
    out = tmp_path / "export.tif"
    save_image(out, reopened.image, like=reopened.original)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    changed = np.zeros(v16.shape, bool)
    changed[2:6, 3:9] = ((v16[2:6, 3:9].astype(np.uint32) + 128) // 257) != 90
    assert back.dtype == np.uint16 and np.array_equal(back[~changed], v16[~changed])
    assert changed.any() and (back[changed] == 90 * 257).all()
