"""Exceptions whose message is shown to the user as one clear line."""


class InpaintStudioError(Exception):
    """Base class: str(exc) is a complete, user-facing sentence."""


class ImageLoadError(InpaintStudioError):
    """An image file could not be read (missing, corrupt, unsupported, too large)."""


class ImageSaveError(InpaintStudioError):
    """An image could not be written (unwritable folder, full disk, bad format)."""


class MaskError(InpaintStudioError):
    """A mask file is unreadable or does not match its image."""


class BackendError(InpaintStudioError):
    """An inpainting backend failed to load or to run."""


class BackendUnavailable(BackendError):
    """A backend is not installed or its weights are missing."""


class OutOfMemory(BackendError):
    """A backend ran out of memory (CPU or CUDA)."""


class ProjectFileError(InpaintStudioError):
    """A project file (.inpaint) is unreadable or from an unknown version."""
