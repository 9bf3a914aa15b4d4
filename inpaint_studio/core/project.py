"""Project files (.inpaint): a whole editing session in one file, undo history included.

No Qt, no torch. A project is a zip archive:

    mimetype                "application/x-inpaint-studio-project" (first entry, stored)
    project.json            format version, size, source metadata, history steps
    image.png               current image, (H, W, 3) uint8 RGB
    mask.png                current mask, (H, W) uint8 {0, 255}
    alpha.png               (H, W) uint8 alpha, only when the photo has one
    original/<name>         the opened photo file, byte for byte (when it could be read)
    meta/exif.bin           EXIF block to write on export (when the source had one)
    meta/icc.icc            ICC profile to write on export (when the source had one)
    meta/xmp.xml, meta/app13.bin, meta/comment.bin
                            XMP packet, JPEG APP13 (IPTC) segments, JPEG comment (when present)
    history/NNNNN-<part>.png   per step: image-before / image-after (RGB), mask-before /
                               mask-after (grey); only the parts the step changed

Every pixel array is lossless PNG, so undo/redo after reopening is bit-exact. Reading checks
the format tag and version, every size against project.json and the whole undo chain (each
step's "after" pixels must be what undoing it finds) before returning anything: a damaged,
foreign or newer file raises ProjectFileError with one line, never a half-loaded document.
Writing is atomic (temporary sibling, fsync, os.replace): a failed save leaves the old file.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inpaint_studio import __version__
from inpaint_studio.core.atomic import atomic_write, os_reason
from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import DEFAULT_BUDGET_BYTES, Edit, History
from inpaint_studio.core.imageio import LoadedImage, decode_samples16, default_max_pixels
from inpaint_studio.errors import ProjectFileError

PROJECT_SUFFIX = ".inpaint"
FORMAT_VERSION = 1
MIMETYPE = "application/x-inpaint-studio-project"
FORMAT_TAG = "inpaint-studio-project"
DEFAULT_COMPRESS_LEVEL = 6  # PNG/zlib level for File > Save Project (autosave uses 1)

_JSON = "project.json"
_PARTS = ("image-before", "image-after", "mask-before", "mask-after")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_STEPS = 1_000_000
_MAX_JSON_BYTES = 64 * 2**20
_MAX_META_BYTES = 16 * 2**20
# LoadedImage fields written back on export (core.xmp_iptc) -> their entries in the zip
_TEXT_META = {"xmp": "meta/xmp.xml", "app13": "meta/app13.bin", "comment": "meta/comment.bin"}
_MAX_ORIGINAL_BYTES = 4 * 2**30


def is_project_path(path: str | Path) -> bool:
    """True when `path` names a project file (by its .inpaint extension)."""
    return Path(path).suffix.lower() == PROJECT_SUFFIX


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True, eq=False)
class ProjectSnapshot:
    """Frozen session to write: private (H,W,3)/(H,W) uint8 copies plus the immutable Edits."""

    image: np.ndarray
    mask: np.ndarray
    alpha: np.ndarray | None
    edits: tuple[Edit, ...]
    index: int  # edits[:index] are applied to `image` / `mask`
    clean_index: int  # history index matching the last save, -1 if none
    evicted: int  # oldest steps the byte budget dropped before this snapshot
    document_path: str | None  # where the session's document lives (photo or project)
    original: LoadedImage | None  # metadata only (format, EXIF, ICC, quality); never pixels
    source_bytes: bytes | None  # the opened photo file, unchanged

    @classmethod
    def capture(
        cls,
        document: Document,
        edits: Sequence[Edit],
        index: int,
        *,
        clean_index: int = -1,
        evicted: int = 0,
    ) -> ProjectSnapshot:
        """Copy the document's pixels now (GUI thread); the result is safe on any thread."""
        if not 0 <= index <= len(edits):
            raise ValueError(f"history index {index} is outside 0..{len(edits)}")
        return cls(
            image=document.image_copy(),
            mask=document.mask_copy(),
            alpha=None if document.alpha is None else document.alpha.copy(),
            edits=tuple(edits),
            index=int(index),
            clean_index=int(clean_index) if 0 <= clean_index <= len(edits) else -1,
            evicted=max(0, int(evicted)),
            document_path=None if document.path is None else str(document.path),
            original=document.original,
            source_bytes=_source_bytes(document),
        )


def _source_bytes(document: Document) -> bytes | None:
    """The opened file's bytes: kept by the document, else re-read if its size still matches."""
    if document.source_bytes is not None:
        return document.source_bytes
    original = document.original
    path = getattr(original, "source_path", None)
    size = getattr(original, "source_bytes_size", None)
    if path is None or size is None:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if len(data) != size:
        return None  # the file changed since it was opened (e.g. saved over): not the original
    document.source_bytes = data  # read once per session
    return data


class PatchCache:
    """PNG bytes already encoded, so repeated (auto)saves encode only what changed: new steps,
    and the current image / mask only when their pixels differ from the last write.

    Not thread-safe: use one cache from one writer thread."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Edit, dict[str, bytes]]] = {}
        self._whole: dict[str, tuple[tuple[int, ...], bytes, bytes]] = {}  # name -> key, png

    def whole(self, name: str, array: np.ndarray, level: int) -> bytes:
        """PNG bytes of a full (H,W,3)/(H,W) uint8 layer, reused while its pixels are equal."""
        digest = hashlib.blake2b(np.ascontiguousarray(array).data, digest_size=16).digest()
        hit = self._whole.get(name)
        if hit is not None and hit[0] == array.shape and hit[1] == digest:
            return hit[2]
        png = _encode_png(array, level)
        self._whole[name] = (array.shape, digest, png)
        return png

    def parts(self, edit: Edit, level: int) -> dict[str, bytes]:
        """{part name: PNG bytes} for the patches `edit` holds (encoded once per edit)."""
        hit = self._entries.get(id(edit))
        if hit is not None and hit[0] is edit:
            return hit[1]
        arrays = dict(zip(_PARTS, _patches(edit), strict=True))
        encoded = {
            part: _encode_png(a, level) for part, a in arrays.items() if a is not None and a.size
        }
        self._entries[id(edit)] = (edit, encoded)
        return encoded

    def retain(self, edits: Sequence[Edit]) -> None:
        """Forget every edit not in `edits`."""
        keep = {id(e) for e in edits}
        for key in [k for k in self._entries if k not in keep]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


def _patches(edit: Edit) -> tuple[np.ndarray | None, ...]:
    return (edit.image_before, edit.image_after, edit.mask_before, edit.mask_after)


# --------------------------------------------------------------------------- writing


def save_project(
    path: str | Path,
    document: Document,
    history: History,
    *,
    compress_level: int = DEFAULT_COMPRESS_LEVEL,
) -> None:
    """Write `document` and its whole `history` to a project file atomically; ProjectFileError."""
    snapshot = ProjectSnapshot.capture(
        document, history.edits, history.index, clean_index=history.index, evicted=history.evicted
    )
    write_project(path, snapshot, compress_level=compress_level)


def write_project(
    path: str | Path,
    snapshot: ProjectSnapshot,
    *,
    compress_level: int = DEFAULT_COMPRESS_LEVEL,
    cache: PatchCache | None = None,
) -> None:
    """Encode `snapshot` and atomically replace `path` with it (any thread); ProjectFileError."""
    p = Path(path)
    name = _display_name(p)
    if p.is_dir():
        raise ProjectFileError(f"Cannot save project {name}: a folder with that name exists.")
    level = min(9, max(0, int(compress_level)))
    cache = cache if cache is not None else PatchCache()
    cache.retain(snapshot.edits)
    try:
        with atomic_write(p) as f, zipfile.ZipFile(f, "w", allowZip64=True) as zf:
            for entry, data, method in _entries(snapshot, level, cache):
                info = zipfile.ZipInfo(entry, date_time=time.localtime()[:6])
                info.compress_type = method
                zf.writestr(info, data)
    except OSError as exc:
        raise ProjectFileError(f"Cannot save project {name}: {os_reason(exc)}.") from exc
    except MemoryError as exc:
        raise ProjectFileError(f"Cannot save project {name}: there is not enough memory.") from exc


def _entries(
    snap: ProjectSnapshot, level: int, cache: PatchCache
) -> Iterator[tuple[str, bytes, int]]:
    """(entry name, bytes, zip method) in file order; pixel data is encoded lazily."""
    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    original = snap.original
    source_file = None
    if snap.source_bytes is not None:
        source_file = "original/" + _safe_name(_source_name(snap))
    manifest = {
        "format": FORMAT_TAG,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "saved_at": time.time(),
        "width": int(snap.image.shape[1]),
        "height": int(snap.image.shape[0]),
        "alpha": snap.alpha is not None,
        "document_path": snap.document_path,
        "source": _source_meta(snap, source_file),
        "history": {
            "index": snap.index,
            "clean_index": snap.clean_index,
            "evicted": snap.evicted,
            "steps": [
                {
                    "label": e.label,
                    "rect": [e.rect.x, e.rect.y, e.rect.w, e.rect.h],
                    "image": e.changes_image,
                    "mask": e.changes_mask,
                }
                for e in snap.edits
            ],
        },
    }
    yield "mimetype", MIMETYPE.encode("ascii"), stored
    yield _JSON, json.dumps(manifest, indent=1).encode("utf-8"), deflated
    yield "image.png", cache.whole("image", snap.image, level), stored
    yield "mask.png", cache.whole("mask", snap.mask, level), stored
    if snap.alpha is not None:
        yield "alpha.png", cache.whole("alpha", snap.alpha, level), stored
    if source_file is not None and snap.source_bytes is not None:
        yield source_file, snap.source_bytes, stored
    if original is not None and original.exif:
        yield "meta/exif.bin", bytes(original.exif), deflated
    if original is not None and original.icc_profile:
        yield "meta/icc.icc", bytes(original.icc_profile), deflated
    for name, entry in _TEXT_META.items():
        value = getattr(original, name, None)
        if value:
            yield entry, bytes(value), deflated
    for i, edit in enumerate(snap.edits):
        for part, data in cache.parts(edit, level).items():
            yield _step_entry(i, part), data, stored


def _source_name(snap: ProjectSnapshot) -> str:
    path = getattr(snap.original, "source_path", None)
    if path is not None:
        return Path(path).name
    return Path(snap.document_path).name if snap.document_path else "photo"


def _source_meta(snap: ProjectSnapshot, source_file: str | None) -> dict[str, object] | None:
    o = snap.original
    if o is None and source_file is None:
        return None
    path = getattr(o, "source_path", None)
    return {
        "name": _source_name(snap),
        "path": None if path is None else str(path),
        "file": source_file,
        "format": getattr(o, "format", None) or "",
        "exif": bool(o is not None and o.exif),
        "icc": bool(o is not None and o.icc_profile),
        **{name: bool(getattr(o, name, None)) for name in _TEXT_META},
        "jpeg_quality": getattr(o, "jpeg_quality", None),
        "jpeg_subsampling": getattr(o, "jpeg_subsampling", None),
        "dpi": None if o is None or o.dpi is None else [float(v) for v in o.dpi],
        "bit_depth": getattr(o, "bit_depth", 8),
        "grey": bool(getattr(o, "grey", False)),
        "bytes_size": getattr(o, "source_bytes_size", None),
    }


def _step_entry(i: int, part: str) -> str:
    return f"history/{i:05d}-{part}.png"


def _safe_name(name: str) -> str:
    cleaned = "".join("_" if c in "/\\:\0" or ord(c) < 32 else c for c in name).strip(" .")
    return cleaned[:200] or "photo"


def _encode_png(array: np.ndarray, level: int) -> bytes:
    """(h,w,3) RGB or (h,w) grey uint8 -> PNG bytes (lossless)."""
    import cv2  # lazily: only writing and reading projects need it

    data = np.ascontiguousarray(array[..., ::-1] if array.ndim == 3 else array)
    ok, buf = cv2.imencode(".png", data, [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


# --------------------------------------------------------------------------- reading


@dataclass
class Project:
    """A project as read back: the document, its history and where the session came from."""

    document: Document  # image/mask/alpha as saved; path = the project file
    history: History  # every saved step; history.index of them are applied
    clean_index: int  # history index that matched the last save (-1: none)
    document_path: Path | None  # the document's own path when saved (photo, project or None)
    saved_at: float  # time.time() of the save


class _Bad(Exception):
    """Internal: the project is damaged; str(exc) says how (user-facing wording)."""


def read_project(
    path: str | Path,
    *,
    max_pixels: int | None = None,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
) -> Project:
    """Read and fully check a project file; raises ProjectFileError with one line."""
    p = Path(path)
    name = _display_name(p)
    prefix = f"Cannot open project {name}"
    limit = default_max_pixels() if max_pixels is None else int(max_pixels)
    try:
        if p.is_dir():
            raise _Bad("it is a folder, not a project file")
        with open(p, "rb") as f:
            head = f.read(128)
            if not head:
                raise _Bad("the file is empty")
            f.seek(0)
            try:
                zf = zipfile.ZipFile(f)
            except zipfile.BadZipFile as exc:
                raise _Bad(_not_ours_or_damaged(head)) from exc
            with zf:
                return _read(zf, p, limit, budget_bytes)
    except _Bad as exc:
        raise ProjectFileError(f"{prefix}: {exc}.") from exc
    except ProjectFileError:
        raise
    except FileNotFoundError as exc:
        raise ProjectFileError(f"{prefix}: the file does not exist.") from exc
    except MemoryError as exc:
        raise ProjectFileError(f"{prefix}: there is not enough memory to open it.") from exc
    except OSError as exc:
        if exc.errno is not None:
            raise ProjectFileError(f"{prefix}: {os_reason(exc)}.") from exc
        raise ProjectFileError(f"{prefix}: the file is damaged or incomplete.") from exc
    except Exception as exc:  # zipfile / zlib / cv2 raise anything on damaged data
        raise ProjectFileError(f"{prefix}: the file is damaged or incomplete.") from exc


def load_project(path: str | Path) -> tuple[Document, History]:
    """(Document, History) of a project file; the document's path is the project file."""
    project = read_project(path)
    return project.document, project.history


def peek_project(path: str | Path) -> dict[str, object]:
    """project.json of a project file without decoding pixels; raises ProjectFileError."""
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            return _manifest(zf)
    except _Bad as exc:
        raise ProjectFileError(f"Cannot open project {_display_name(p)}: {exc}.") from exc
    except Exception as exc:
        raise ProjectFileError(
            f"Cannot open project {_display_name(p)}: the file is damaged or incomplete."
        ) from exc


def _not_ours_or_damaged(head: bytes) -> str:
    # our first entry is the stored "mimetype", so its name and text sit at fixed offsets
    if head[:4] == b"PK\x03\x04" and head[30:38] == b"mimetype" and MIMETYPE.encode() in head:
        return "the file is damaged or incomplete"
    return "it is not an Inpaint Studio project file"


def _manifest(zf: zipfile.ZipFile) -> dict[str, object]:
    names = zf.namelist()
    if not names or names[0] != "mimetype" or zf.read("mimetype") != MIMETYPE.encode():
        raise _Bad("it is not an Inpaint Studio project file")
    raw = _read_entry(zf, _JSON, _MAX_JSON_BYTES)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Bad("the file is damaged or incomplete") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_TAG:
        raise _Bad("it is not an Inpaint Studio project file")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Bad("the file is damaged or incomplete")
    if version > FORMAT_VERSION:
        raise _Bad(
            f"it was saved by a newer Inpaint Studio (project format {version}; this version "
            f"reads format {FORMAT_VERSION}), please update"
        )
    return manifest


def _read(zf: zipfile.ZipFile, p: Path, max_pixels: int, budget_bytes: int) -> Project:
    m = _manifest(zf)
    width, height = _int(m, "width", 1, 1 << 20), _int(m, "height", 1, 1 << 20)
    if width * height > max_pixels:
        raise _Bad(
            f"the image is {width}x{height} pixels, more than the limit of {max_pixels:,} pixels"
        )
    image = _read_png(zf, "image.png", (height, width, 3))
    mask = _read_png(zf, "mask.png", (height, width))
    if not np.isin(mask, (0, 255)).all():
        raise _Bad("the file is damaged or incomplete")
    alpha = _read_png(zf, "alpha.png", (height, width)) if _bool(m, "alpha") else None
    hist = _dict(m, "history")
    steps = _list(hist, "steps", _MAX_STEPS)
    index = _int(hist, "index", 0, len(steps))
    clean_index = _int(hist, "clean_index", -1, len(steps))
    evicted = _int(hist, "evicted", 0, 1 << 62)
    edits = [_read_step(zf, i, step, width, height) for i, step in enumerate(steps)]
    base = _check_chain(image, mask, edits, index)
    source_bytes, original = _read_source(zf, m.get("source"), base, alpha)
    doc_path = m.get("document_path")
    if doc_path is not None and not isinstance(doc_path, str):
        raise _Bad("the file is damaged or incomplete")
    saved_at = m.get("saved_at", 0.0)
    document = Document(
        image, alpha=alpha, mask=mask, original=original, path=p, source_bytes=source_bytes
    )
    history = History.from_edits(edits, index, budget_bytes)
    history.evicted = evicted
    return Project(
        document=document,
        history=history,
        clean_index=clean_index,
        document_path=Path(doc_path) if doc_path else None,
        saved_at=float(saved_at) if isinstance(saved_at, (int, float)) else 0.0,
    )


def _read_step(zf: zipfile.ZipFile, i: int, step: object, width: int, height: int) -> Edit:
    if not isinstance(step, dict):
        raise _Bad("the file is damaged or incomplete")
    label = step.get("label")
    rect_raw = step.get("rect")
    if not isinstance(label, str) or not isinstance(rect_raw, list) or len(rect_raw) != 4:
        raise _Bad("the file is damaged or incomplete")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in rect_raw):
        raise _Bad("the file is damaged or incomplete")
    rect = Rect(*rect_raw)
    if rect.w < 0 or rect.h < 0 or rect.clip(width, height) != rect:
        raise _Bad("the file is damaged or incomplete")
    arrays: dict[str, np.ndarray | None] = dict.fromkeys(_PARTS)
    for kind, shape in (("image", (rect.h, rect.w, 3)), ("mask", (rect.h, rect.w))):
        if not _bool(step, kind):
            continue
        for part in (f"{kind}-before", f"{kind}-after"):
            if rect.is_empty():
                arrays[part] = np.zeros(shape, np.uint8)
            else:
                arrays[part] = _read_png(zf, _step_entry(i, part), shape)
    return Edit(
        label[:500],
        rect,
        image_before=arrays["image-before"],
        image_after=arrays["image-after"],
        mask_before=arrays["mask-before"],
        mask_after=arrays["mask-after"],
    )


def _check_chain(
    image: np.ndarray, mask: np.ndarray, edits: Sequence[Edit], index: int
) -> np.ndarray:
    """Replay redo steps forward and undo steps backward on copies; returns the (H,W,3) image
    at history index 0. Raises _Bad if any step does not fit the pixels it would meet."""
    if index < len(edits):
        img, msk = image.copy(), mask.copy()
        for edit in edits[index:]:
            _step(img, msk, edit, forward=True)
        del img, msk
    img, msk = image.copy(), mask.copy()
    for edit in reversed(edits[:index]):
        _step(img, msk, edit, forward=False)
    return img


def _step(img: np.ndarray, msk: np.ndarray, edit: Edit, forward: bool) -> None:
    s = edit.rect.slices
    pairs = (
        (img, edit.image_before, edit.image_after),
        (msk, edit.mask_before, edit.mask_after),
    )
    for target, before, after in pairs:
        if before is None or after is None:
            continue
        meets, leaves = (before, after) if forward else (after, before)
        if not np.array_equal(target[s], meets):
            raise _Bad("its undo history does not match the image (the file is damaged)")
        target[s] = leaves


def _read_source(
    zf: zipfile.ZipFile, source: object, base: np.ndarray, alpha: np.ndarray | None
) -> tuple[bytes | None, LoadedImage | None]:
    """(original file bytes, export metadata as a LoadedImage whose pixels are `base`)."""
    if source is None:
        return None, None
    if not isinstance(source, dict):
        raise _Bad("the file is damaged or incomplete")
    file = source.get("file")
    data = None
    if file is not None:
        if not isinstance(file, str) or not file.startswith("original/"):
            raise _Bad("the file is damaged or incomplete")
        data = _read_entry(zf, file, _MAX_ORIGINAL_BYTES)
    exif = _read_entry(zf, "meta/exif.bin", _MAX_META_BYTES) if _bool(source, "exif") else None
    icc = _read_entry(zf, "meta/icc.icc", _MAX_META_BYTES) if _bool(source, "icc") else None
    path = source.get("path")
    fmt = source.get("format", "")
    if (path is not None and not isinstance(path, str)) or not isinstance(fmt, str):
        raise _Bad("the file is damaged or incomplete")
    original = LoadedImage(
        pixels=base,
        alpha=alpha,
        format=fmt,
        exif=exif,
        icc_profile=icc,
        jpeg_quality=_opt_int(source, "jpeg_quality", 1, 100),
        jpeg_subsampling=_opt_int(source, "jpeg_subsampling", 0, 2),
        dpi=_dpi(source.get("dpi")),
        source_path=Path(path) if path else None,
        source_bytes_size=_opt_int(source, "bytes_size", 0, 1 << 62),
        bit_depth=_opt_int(source, "bit_depth", 1, 64) or 8,
        grey=_opt_bool(source, "grey"),
    )
    if fmt == "JPEG" and data is not None:
        original.source_jpeg = data  # JPEG exports keep its unedited blocks (core.jpeg_splice)
    for name, entry in _TEXT_META.items():  # absent from projects written before 2026-12-05
        if _opt_bool(source, name):
            setattr(original, name, _read_entry(zf, entry, _MAX_META_BYTES))
    if original.bit_depth == 16 and data is not None:
        # exports keep the 16 bits outside the repairs (the limit the user set for opening)
        samples16 = decode_samples16(data, default_max_pixels())
        if samples16 is not None and samples16.shape[:2] == base.shape[:2]:
            original.samples16 = samples16
    return data, original


def _read_entry(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError as exc:
        raise _Bad(f"part '{name}' is missing (the file is damaged)") from exc
    if info.file_size > limit:
        raise _Bad("the file is damaged or incomplete")
    return zf.read(info)


def _read_png(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Entry `name` as a frozen C-contiguous uint8 array of exactly `shape`."""
    import cv2

    h, w = shape[0], shape[1]
    channels = shape[2] if len(shape) == 3 else 1
    raw_size = h * w * channels
    data = _read_entry(zf, name, raw_size + raw_size // 50 + 16 * h + 65536)
    if len(data) < 33 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise _Bad("the file is damaged or incomplete")
    pw, ph, depth, colour = struct.unpack(">IIBB", data[16:26])
    if (pw, ph, depth) != (w, h, 8) or colour != (2 if channels == 3 else 0):
        raise _Bad("the file is damaged or incomplete")
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint8:
        raise _Bad("the file is damaged or incomplete")
    if channels == 3:
        array = array[..., ::-1]
    array = np.ascontiguousarray(array)
    if array.shape != shape:
        raise _Bad("the file is damaged or incomplete")
    array.setflags(write=False)
    return array


# --- project.json field checks ---------------------------------------------------------------


def _int(d: dict, key: str, lo: int, hi: int) -> int:
    value = d.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise _Bad("the file is damaged or incomplete")
    return value


def _opt_int(d: dict, key: str, lo: int, hi: int) -> int | None:
    return None if d.get(key) is None else _int(d, key, lo, hi)


def _opt_bool(d: dict, key: str) -> bool:
    """d[key] if it is a bool, False if missing (projects written before the key)."""
    value = d.get(key, False)
    if not isinstance(value, bool):
        raise _Bad("the file is damaged or incomplete")
    return value


def _bool(d: dict, key: str) -> bool:
    value = d.get(key)
    if not isinstance(value, bool):
        raise _Bad("the file is damaged or incomplete")
    return value


def _dict(d: dict, key: str) -> dict:
    value = d.get(key)
    if not isinstance(value, dict):
        raise _Bad("the file is damaged or incomplete")
    return value


def _list(d: dict, key: str, max_len: int) -> list:
    value = d.get(key)
    if not isinstance(value, list) or len(value) > max_len:
        raise _Bad("the file is damaged or incomplete")
    return value


def _dpi(value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        or not all(0 < v < 1e6 for v in value)
    ):
        raise _Bad("the file is damaged or incomplete")
    return float(value[0]), float(value[1])


def _display_name(p: Path) -> str:
    name = p.name or str(p)
    return " ".join(name.splitlines()) or str(p)


__all__ = [
    "DEFAULT_COMPRESS_LEVEL",
    "FORMAT_VERSION",
    "PROJECT_SUFFIX",
    "PatchCache",
    "Project",
    "ProjectSnapshot",
    "is_project_path",
    "load_project",
    "peek_project",
    "read_project",
    "save_project",
    "write_project",
]
