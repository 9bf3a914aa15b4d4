"""Training and evaluation of the project's own inpainting network (torch, no Qt)."""
