"""Screen colours for photos with an embedded ICC profile: their pixels converted to sRGB.

A scan in Adobe RGB or ProPhoto shown as raw numbers looks dull and shifted on a screen that
expects sRGB. Only the copy on screen is converted (LittleCMS through Pillow's ImageCms,
relative colorimetric with black point compensation): editing, the model and every export
keep the photo's own numbers and profile. Qt-free.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms

_PROBE_STEPS = np.linspace(0, 255, 16).round().astype(np.uint8)


class DisplayTransform:
    """Converts (h, w, 3) uint8 RGB in a photo's ICC profile to sRGB for the screen; does
    nothing when there is no profile, it does not open, or it already is sRGB (checked by
    converting 4,096 colours: none moves by more than 1 level)."""

    def __init__(self, icc: bytes | None) -> None:
        self._transform = None
        self._grey = False
        self.description = ""
        if not icc:
            return
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            space = source.profile.xcolor_space.strip()
            if space not in ("RGB", "GRAY"):
                return
            self._grey = space == "GRAY"
            self._transform = ImageCms.buildTransform(
                source,
                ImageCms.createProfile("sRGB"),
                "L" if self._grey else "RGB",
                "RGB",
                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
            )
            self.description = (source.profile.profile_description or "").strip()
        except Exception:  # a profile LittleCMS cannot use: show the numbers as they are
            self._transform = None
            return
        probe = np.stack(np.meshgrid(_PROBE_STEPS, _PROBE_STEPS, _PROBE_STEPS), -1)
        probe = probe.reshape(64, 64, 3)
        if self._grey:
            probe[..., 1] = probe[..., 2] = probe[..., 0]
        if np.abs(self._convert(probe).astype(int) - probe).max() <= 1:
            self._transform = None  # sRGB already (or as good as)

    @property
    def active(self) -> bool:
        """True when the screen copy differs from the photo's numbers."""
        return self._transform is not None

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w, 3) uint8 in the photo's profile -> (h, w, 3) uint8 sRGB (`rgb` itself when
        inactive; a grey profile reads the first channel, grey photos having three equal)."""
        if self._transform is None or rgb.size == 0:
            return rgb
        return self._convert(rgb)

    def _convert(self, rgb: np.ndarray) -> np.ndarray:
        source = Image.fromarray(np.ascontiguousarray(rgb[..., 0] if self._grey else rgb))
        return np.asarray(ImageCms.applyTransform(source, self._transform))
