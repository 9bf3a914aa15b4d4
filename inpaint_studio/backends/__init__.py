"""Inpainting backends: the only package (with training/) that imports torch, lazily."""
