"""core.autosave: background writes, coalescing, discard, failures, and orphan detection through
session locks that die with their process (SIGKILL included)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from inpaint_studio import paths
from inpaint_studio.core import autosave
from inpaint_studio.core.autosave import Autosaver, find_orphans, remove_orphan, set_aside
from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.core.project import ProjectSnapshot, read_project
from inpaint_studio.errors import ProjectFileError


def _doc(seed: int = 0) -> Document:
    return Document(np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8))


def _snapshot(doc: Document, edits: list[Edit]) -> ProjectSnapshot:
    return ProjectSnapshot.capture(doc, edits, len(edits), clean_index=0)


def _paint(doc: Document, edits: list[Edit], value: int) -> None:
    patch = np.full((4, 4, 3), value, np.uint8)
    edit = Edit.capture(f"paint {value}", doc, Rect(value % 20, 2, 4, 4), new_image_patch=patch)
    doc.apply(edit)
    edits.append(edit)


def test_state_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.ENV_STATE_DIR, str(tmp_path / "state"))
    assert paths.user_state_dir() == tmp_path / "state"
    assert autosave.autosave_dir() == tmp_path / "state" / "autosave"
    monkeypatch.delenv(paths.ENV_STATE_DIR)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert paths.user_state_dir() == tmp_path / "xdg" / "inpaint-studio"


def test_writes_in_background_and_close_removes_everything(tmp_path: Path) -> None:
    results: list[str | None] = []
    saver = Autosaver(tmp_path / "auto", on_written=results.append)
    assert not (tmp_path / "auto").exists()  # nothing is created before the first write
    doc, edits = _doc(), []
    _paint(doc, edits, 10)
    saver.submit(_snapshot(doc, edits))
    assert saver.wait(10)
    assert results == [None] and saver.writes == 1 and saver.path.exists()
    got = read_project(saver.path)
    assert np.array_equal(got.document.image, doc.image) and got.history.index == 1
    assert find_orphans(tmp_path / "auto") == []  # our own session is locked: not an orphan
    saver.close()
    assert list((tmp_path / "auto").iterdir()) == []


def test_newer_snapshot_replaces_a_waiting_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, gate = threading.Event(), threading.Event()
    written: list[int] = []
    real = autosave.write_project

    def slow(path, snapshot, **kwargs):
        started.set()
        gate.wait(10)
        written.append(len(snapshot.edits))
        real(path, snapshot, **kwargs)

    monkeypatch.setattr(autosave, "write_project", slow)
    saver = Autosaver(tmp_path)
    doc, edits = _doc(), []
    for value in range(5):
        _paint(doc, edits, value * 10)
        saver.submit(_snapshot(doc, list(edits)))
        assert started.wait(10)  # the first write is under way before the others arrive
    gate.set()
    assert saver.wait(10)
    assert written == [1, 5]  # the first was already running; 2..4 were replaced by 5
    assert np.array_equal(read_project(saver.path).document.image, doc.image)
    saver.close()


def test_discard_during_a_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, gate = threading.Event(), threading.Event()
    real = autosave.write_project

    def slow(path, snapshot, **kwargs):
        started.set()
        gate.wait(10)
        real(path, snapshot, **kwargs)

    monkeypatch.setattr(autosave, "write_project", slow)
    saver = Autosaver(tmp_path)
    doc, edits = _doc(), []
    _paint(doc, edits, 1)
    saver.submit(_snapshot(doc, edits))
    assert started.wait(10)
    saver.discard()  # the user discarded the session while its autosave was being written
    gate.set()
    assert saver.wait(10)
    assert not saver.path.exists() and saver.writes == 0
    saver.close()


def test_failed_write_is_reported_and_keeps_the_previous_autosave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results: list[str | None] = []
    saver = Autosaver(tmp_path, on_written=results.append)
    doc, edits = _doc(), []
    _paint(doc, edits, 1)
    saver.submit(_snapshot(doc, edits))
    saver.wait(10)
    before = saver.path.read_bytes()
    real = autosave.write_project

    def full(path, snapshot, **kwargs):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise ProjectFileError("Cannot save project x: the disk is full.") from exc

    monkeypatch.setattr(autosave, "write_project", full)
    _paint(doc, edits, 2)
    saver.submit(_snapshot(doc, edits))
    saver.wait(10)
    assert results[-1] == f"Autosave to {tmp_path} failed: the disk is full."
    assert saver.last_error == results[-1] and saver.path.read_bytes() == before
    monkeypatch.setattr(autosave, "write_project", real)
    saver.submit(_snapshot(doc, edits))  # the disk has room again
    saver.wait(10)
    assert results[-1] is None and read_project(saver.path).history.index == 2
    saver.close()


def test_unwritable_state_folder_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    results: list[str | None] = []
    saver = Autosaver(blocker / "autosave", on_written=results.append)
    doc, edits = _doc(), []
    _paint(doc, edits, 3)
    saver.submit(_snapshot(doc, edits))
    saver.wait(10)
    assert results and results[0] is not None and results[0].startswith("Autosave to ")
    saver.close()


_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from inpaint_studio.core.autosave import Autosaver
    from inpaint_studio.core.document import Document
    from inpaint_studio.core.project import ProjectSnapshot

    saver = Autosaver(sys.argv[1])
    doc = Document(np.full((8, 9, 3), 77, np.uint8))
    saver.submit(ProjectSnapshot.capture(doc, [], 0, clean_index=-1))
    saver.wait(30)
    print(saver.path, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_session_becomes_an_orphan(tmp_path: Path) -> None:
    folder = tmp_path / "auto"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        path = Path(child.stdout.readline().strip())
        assert path.exists() and path.parent == folder
        assert find_orphans(folder) == []  # alive: its lock is held
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()
    assert find_orphans(folder) == [path]
    assert read_project(path).document.image[0, 0, 0] == 77
    remove_orphan(path)
    assert list(folder.iterdir()) == []


def test_adopt_set_aside_and_orphan_order(tmp_path: Path) -> None:
    folder = tmp_path / "auto"
    folder.mkdir()
    older, newer = folder / "a.inpaint", folder / "b.inpaint"
    doc = _doc()
    for path in (older, newer):
        saver = Autosaver(folder)
        saver.submit(_snapshot(doc, []))
        saver.wait(10)
        os.replace(saver.path, path)
        saver.close()
    os.utime(older, (1_000_000, 1_000_000))
    (folder / ".b.inpaint.tmp-1234").write_bytes(b"junk")  # a write cut short: ignored
    assert find_orphans(folder) == [newer, older]
    damaged = set_aside(older)
    assert damaged == folder / "a.inpaint.damaged" and damaged.exists()
    saver = Autosaver(folder)
    assert saver.adopt(newer)
    assert not newer.exists() and saver.path.exists() and find_orphans(folder) == []
    saver.close()
    assert not saver.path.exists()
