"""Inpaint Studio: desktop photo repair with an offline neural inpainting model."""

__version__ = "0.1.0"
