"""User settings: one typed, versioned dataclass persisted with QSettings.

`load_settings()` returns fresh defaults for anything missing, malformed or written by a newer
settings version. Set the environment variable INPAINT_STUDIO_SETTINGS to an .ini path to use
a private settings file (the tests do), otherwise the platform's user settings store is used.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields

from PySide6.QtCore import QSettings

from inpaint_studio.core import grain
from inpaint_studio.core.damage_detect import POLARITIES
from inpaint_studio.core.imageio import ENV_MAX_PIXELS, default_max_pixels
from inpaint_studio.core.regions import BEST_MIN_HOLE_WIDTH, DEFAULT_MIN_HOLE_WIDTH

SETTINGS_VERSION = 1
ORGANIZATION = "InpaintStudio"
APPLICATION = "inpaint-studio"
ENV_SETTINGS_FILE = "INPAINT_STUDIO_SETTINGS"
DEVICES = ("auto", "cpu", "cuda")
STRATEGIES = ("crop", "resize", "whole")
DEFAULT_GRAIN_PERCENT = round(grain.DEFAULT_STRENGTH * 100)  # when Match grain is turned on


@dataclass(frozen=True)
class Settings:
    """Everything the GUI remembers between sessions (version 1)."""

    history_budget_mb: int = 512  # undo diffs kept in memory before the oldest steps go
    brush_size: int = 40  # brush diameter in image pixels, 1..500
    default_backend: str = ""  # "" = registry.DEFAULT_BACKEND
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    strategy: str = "crop"  # region strategy passed to the pipeline
    match_grain: int = 0  # 1 = add rim-matched grain to fills (core.grain); off by default
    grain_percent: int = DEFAULT_GRAIN_PERCENT  # its strength, % of the rim's grain, 10..400
    best_thin_damage: int = 0  # 1 = thin damage on big photos reaches the model wider (slower)
    detect_sensitivity: int = 50  # Detect dust & scratches: % (0 finds least, 100 most)
    detect_polarity: str = "both"  # ... which damage: "both", "light" (prints), "dark"
    jpeg_quality: int | None = None  # None = match the source JPEG (jpeg_quality_for)
    context_margin: int = 64  # minimum context (px) around the mask sent to the model
    last_folder: str = ""
    autosave_seconds: int = 3  # autosave this long after the last change; 0 = never
    autosave_edits: int = 10  # ... or right away once this many steps are unsaved
    max_megapixels: int = 200  # largest photo opened (decompression-bomb guard)

    @property
    def history_budget_bytes(self) -> int:
        return max(1, self.history_budget_mb) * 2**20

    @property
    def grain_strength(self) -> float:
        """core.grain strength for fills: grain_percent / 100 when Match grain is on, else 0."""
        return self.grain_percent / 100 if self.match_grain else 0.0

    @property
    def min_hole_width(self) -> float:
        """core.regions min_hole_width for fills: wider when best_thin_damage is on."""
        return BEST_MIN_HOLE_WIDTH if self.best_thin_damage else DEFAULT_MIN_HOLE_WIDTH

    @property
    def max_pixels(self) -> int:
        """Pixel limit for opening photos: $INPAINT_STUDIO_MAX_PIXELS if set, else the setting."""
        if os.environ.get(ENV_MAX_PIXELS, "").strip():
            return default_max_pixels()
        return max(1, self.max_megapixels) * 1_000_000

    def validated(self) -> Settings:
        """Copy with every value clamped into its valid range."""
        quality = self.jpeg_quality
        if quality is not None:
            quality = min(100, max(1, quality))
        return dataclasses.replace(
            self,
            history_budget_mb=min(65536, max(1, self.history_budget_mb)),
            brush_size=min(500, max(1, self.brush_size)),
            device=self.device if self.device in DEVICES else "auto",
            strategy=self.strategy if self.strategy in STRATEGIES else "crop",
            match_grain=1 if self.match_grain else 0,
            best_thin_damage=1 if self.best_thin_damage else 0,
            detect_sensitivity=min(100, max(0, self.detect_sensitivity)),
            detect_polarity=self.detect_polarity if self.detect_polarity in POLARITIES else "both",
            grain_percent=min(400, max(10, self.grain_percent or DEFAULT_GRAIN_PERCENT)),
            jpeg_quality=quality,
            context_margin=min(4096, max(0, self.context_margin)),
            autosave_seconds=min(3600, max(0, self.autosave_seconds)),
            autosave_edits=min(10_000, max(1, self.autosave_edits)),
            max_megapixels=min(100_000, max(1, self.max_megapixels)),
        )


def settings_store() -> QSettings:
    """The QSettings object to read/write (INI file from INPAINT_STUDIO_SETTINGS if set)."""
    path = os.environ.get(ENV_SETTINGS_FILE)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


def _convert(raw: object, default: object, annotation: str) -> object:
    if raw is None or raw == "":
        return None if "None" in annotation else default
    if annotation.startswith("int"):
        return int(raw)  # QSettings INI files give strings back
    return str(raw)


def load_settings(store: QSettings | None = None) -> Settings:
    """Read Settings from `store` (default settings_store()); bad or newer data -> defaults."""
    store = store or settings_store()
    defaults = Settings()
    try:
        version = int(store.value("version", 0) or 0)
    except (TypeError, ValueError):
        return defaults
    if version != SETTINGS_VERSION:
        return defaults  # nothing saved yet, or from an unknown version: start fresh
    values = {}
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        if not store.contains(f.name):
            continue
        try:
            values[f.name] = _convert(store.value(f.name), default, str(f.type))
        except (TypeError, ValueError):
            values[f.name] = default
    return Settings(**values).validated()


def save_settings(settings: Settings, store: QSettings | None = None) -> None:
    """Write `settings` (and the settings version) to `store` (default settings_store())."""
    store = store or settings_store()
    store.setValue("version", SETTINGS_VERSION)
    for f in fields(Settings):
        value = getattr(settings, f.name)
        store.setValue(f.name, "" if value is None else value)
    store.sync()
