"""Command line: launch the editor, `run`, `detect`, `models`, `train`, `train-corrector`,
`train-detector`, `evaluate`, `export-torchscript`.

Every user-facing failure is one line on stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from inpaint_studio import __version__
from inpaint_studio.errors import InpaintStudioError, OutOfMemory

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
COMMANDS = (
    "run",
    "detect",
    "models",
    "train",
    "train-corrector",
    "train-detector",
    "evaluate",
    "export-torchscript",
    "gui",
)
STRATEGIES = ("crop", "resize", "whole")
DEVICES = ("auto", "cpu", "cuda")
MATCH_GRAIN = 0.9  # core.grain.DEFAULT_STRENGTH, without importing OpenCV to parse arguments
MIN_HOLE_WIDTH = 20.0  # core.regions.DEFAULT_MIN_HOLE_WIDTH, likewise
MAX_GROW = 100  # core.maskops.MAX_STEP, likewise
DETECT_SENSITIVITY = 0.5  # core.damage_detect.DEFAULT_SENSITIVITY, likewise
DETECT_POLARITIES = ("both", "light", "dark")  # core.damage_detect.POLARITIES, likewise
PROG = "inpaint-studio"


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors end with exit status 2 and one clear line."""

    def error(self, message: str) -> None:  # argparse override
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


# --------------------------------------------------------------------------- GUI


def _gui_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Repair photos: brush a mask over damage, a neural model fills it.",
        epilog=f"Other commands: {', '.join(c for c in COMMANDS if c != 'gui')} "
        f"(see '{PROG} COMMAND --help').",
    )
    p.add_argument("image", nargs="?", help="photo or .inpaint project to open")
    p.add_argument("--sample", action="store_true", help="open the built-in sample photo")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def _no_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _cmd_gui(args: argparse.Namespace) -> int:
    if args.image is not None and not Path(args.image).exists():
        return _fail(f"file not found: {args.image}")
    if _no_display():
        return _fail(
            "no display found (DISPLAY is not set). Run it in a desktop session, "
            "or under 'xvfb-run -a'; for files without a window use 'inpaint-studio run'."
        )
    from inpaint_studio.qt.app import run_gui

    return run_gui(args.image, sample=args.sample)


# --------------------------------------------------------------------------- run


class _Filler:
    """Loaded backend as `fn(image, mask) -> image`; CUDA out-of-memory retries on the CPU."""

    def __init__(
        self,
        model: str,
        device: str,
        strategy: str,
        grain: float = 0.0,
        grow: int = 0,
        min_hole_width: float = MIN_HOLE_WIDTH,
        detect: float | None = None,
        polarity: str = "both",
    ) -> None:
        from inpaint_studio.backends import registry
        from inpaint_studio.backends.base import resolve_device

        self._model = model
        self._strategy = strategy
        self._grain = grain
        self._grow = grow
        self._min_hole_width = min_hole_width
        self._lock = threading.Lock()
        self.device = resolve_device(device)
        self._inpainter = registry.create(model)
        self._inpainter.load(self.device)
        self._detect = detect  # sensitivity of the damage detector, None: masks only
        self._polarity = polarity
        self._detector = None
        if detect is not None:
            from inpaint_studio.backends.damage_net import DamageDetector

            self._detector = DamageDetector(device=self.device)

    def _fallback_to_cpu(self) -> None:
        from inpaint_studio.backends import registry

        with self._lock:
            if self.device == "cpu":
                return
            print(f"{PROG}: GPU ran out of memory; continuing on the CPU", file=sys.stderr)
            cpu = registry.create(self._model)
            cpu.load("cpu")
            old, self._inpainter, self.device = self._inpainter, cpu, "cpu"
            old.unload()

    def __call__(self, image, mask):
        import numpy as np

        from inpaint_studio.core.maskops import grow_mask
        from inpaint_studio.core.pipeline import inpaint_image

        if self._detector is not None:
            found = self._detector.detect(image, self._detect, polarity=self._polarity).mask
            mask = np.maximum(mask, found)
        if self._grow:
            mask = grow_mask(mask, self._grow)

        def fill():
            return inpaint_image(
                image,
                mask,
                self._inpainter,
                strategy=self._strategy,
                grain=self._grain,
                min_hole_width=self._min_hole_width,
            )

        try:
            return fill()
        except OutOfMemory:
            if self.device == "cpu":
                raise
        self._fallback_to_cpu()
        return fill()

    def close(self) -> None:
        self._inpainter.unload()


def _add_run(sub) -> None:
    p = sub.add_parser(
        "run",
        help="fill masked areas of a photo, or of every photo in a folder",
        description="Fill the white areas of MASK in IMAGE and write OUT. With folders, "
        "images and masks are paired by file stem (masks are PNG, same size, white = fill); "
        "outputs keep each input's name, format, EXIF, ICC profile and alpha.",
    )
    p.add_argument("--image", required=True, type=Path, help="photo file or folder of photos")
    p.add_argument(
        "--mask",
        type=Path,
        default=None,
        help="mask file or folder of masks (optional with --detect)",
    )
    p.add_argument("--output", required=True, type=Path, help="output file, or folder")
    p.add_argument(
        "--detect",
        action="store_true",
        help="find dust, scratches and creases by themselves and fill them too (added to "
        "--mask if given): repair a folder of scans without painting masks",
    )
    p.add_argument(
        "--sensitivity",
        type=float,
        default=DETECT_SENSITIVITY,
        help=f"with --detect: 0-1, higher finds fainter damage and more false alarms "
        f"(default {DETECT_SENSITIVITY:g})",
    )
    _add_polarity_arg(p, "with --detect: ")
    p.add_argument("--model", default=None, help="backend name (see 'inpaint-studio models')")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="crop",
        help="crop: fill each masked region from a crop around it (default); resize: "
        "downscale crops above the model's working size; whole: the whole image at once",
    )
    p.add_argument(
        "--grain",
        type=float,
        default=0.0,
        help="add grain matched to the rim's fine texture to large fills, at this strength "
        f"(default 0: none; {MATCH_GRAIN} is the editor's Match grain)",
    )
    p.add_argument(
        "--grow-mask",
        type=int,
        default=0,
        metavar="PX",
        help="grow each mask by PX pixels first (default 0), to take in the light halo and "
        "JPEG fringe just outside tight damage masks (1-2 px is typical)",
    )
    p.add_argument(
        "--min-hole-width",
        type=float,
        default=MIN_HOLE_WIDTH,
        metavar="PX",
        help=f"on big photos, hand thin damage to the model at least PX px wide (default "
        f"{MIN_HOLE_WIDTH:g}; 32 fills thin scratches of very big scans about 0.6 dB better "
        "at about 1.25x the time; 0: plain downscale)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="parallel inference threads (default 2: 1.2-1.6x a plain loop on 2-core CPUs)",
    )
    p.add_argument(
        "--quality",
        type=int,
        default=None,
        help="JPEG/WebP quality 1-100: re-encode the whole image (default: a JPEG keeps its own "
        "data outside the repairs; others get the quality estimated from the input)",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        help="refuse images above this many pixels (default 200 million)",
    )
    p.add_argument(
        "--overlap-io",
        choices=("yes", "no"),
        default="yes",
        help="decode/encode on I/O threads while the model works (default yes; no: load, "
        "fill and save each photo in turn)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from inpaint_studio.batch import plan_jobs, run_jobs

    if args.workers < 1:
        return _fail("--workers must be at least 1")
    if not 0 <= args.grain <= 4:
        return _fail("--grain must be between 0 and 4")
    if args.quality is not None and not 1 <= args.quality <= 100:
        return _fail("--quality must be between 1 and 100")
    if not 0 <= args.grow_mask <= MAX_GROW:
        return _fail(f"--grow-mask must be between 0 and {MAX_GROW} px")
    if not 0 <= args.min_hole_width <= 512:
        return _fail("--min-hole-width must be between 0 and 512 px")
    if args.mask is None and not args.detect:
        return _fail("give --mask (what to fill), --detect (find scan damage), or both")
    if not 0 <= args.sensitivity <= 1:
        return _fail("--sensitivity must be between 0 and 1")
    jobs, pairing_errors = plan_jobs(args.image, args.mask, args.output)
    for line in pairing_errors:
        print(f"{PROG}: {line}", file=sys.stderr)
    if args.image.is_dir():
        args.output.mkdir(parents=True, exist_ok=True)
    if not jobs:
        return EXIT_BAD_INPUT
    if args.model is None:
        from inpaint_studio.backends import registry

        args.model = registry.default_backend()
    filler = _Filler(
        args.model,
        args.device,
        args.strategy,
        args.grain,
        args.grow_mask,
        args.min_hole_width,
        detect=args.sensitivity if args.detect else None,
        polarity=args.polarity,
    )
    try:
        summary = run_jobs(
            jobs,
            filler,
            workers=args.workers,
            quality=args.quality,
            max_pixels=args.max_pixels,
            progress=not args.no_progress and sys.stderr.isatty(),
            overlap_io=args.overlap_io == "yes",
        )
    finally:
        filler.close()
    failures = len(pairing_errors) + len(summary.failures)
    if args.image.is_dir():
        print(
            f"{PROG}: wrote {len(summary.written)} of {len(jobs) + len(pairing_errors)} images "
            f"to {args.output} with '{args.model}' on {filler.device}"
            + (f"; {failures} failed" if failures else ""),
            file=sys.stderr,
        )
    return EXIT_BAD_INPUT if failures else EXIT_OK


# --------------------------------------------------------------------------- detect


def _add_polarity_arg(p: argparse.ArgumentParser, prefix: str) -> None:
    p.add_argument(
        "--polarity",
        choices=DETECT_POLARITIES,
        default="both",
        help=f"{prefix}which damage to keep: light (scratches and dust on prints), dark "
        "(dust on film scans) or both (default). Naming the scan's kind flags far less of "
        "the photo by mistake",
    )


def _add_detect(sub) -> None:
    p = sub.add_parser(
        "detect",
        help="find dust, scratches and creases on scans and write them as mask PNGs",
        description="Writes the damage the detector finds in IMAGE as a mask PNG (white = "
        "damage), the photo's size: check or touch it up, then fill it with 'run --mask'. "
        "With a folder, one MASK_FOLDER/<name>.png per photo.",
    )
    p.add_argument("--image", required=True, type=Path, help="photo file or folder of photos")
    p.add_argument("--output", required=True, type=Path, help="mask PNG, or folder of them")
    p.add_argument(
        "--sensitivity",
        type=float,
        default=DETECT_SENSITIVITY,
        help=f"0-1: higher finds fainter damage and more false alarms (default "
        f"{DETECT_SENSITIVITY:g})",
    )
    _add_polarity_arg(p, "")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--max-pixels", type=int, default=None, help="refuse bigger images")
    p.set_defaults(func=_cmd_detect)


def _cmd_detect(args: argparse.Namespace) -> int:
    from inpaint_studio.backends.base import resolve_device
    from inpaint_studio.backends.damage_net import DamageDetector
    from inpaint_studio.batch import is_image
    from inpaint_studio.core.imageio import default_max_pixels, load_image, save_mask

    if not 0 <= args.sensitivity <= 1:
        return _fail("--sensitivity must be between 0 and 1")
    if not args.image.exists():
        return _fail(f"image not found: {args.image}")
    if args.image.is_dir():
        if args.output.exists() and not args.output.is_dir():
            return _fail(f"--image is a folder, so --output must be a folder: {args.output}")
        photos = sorted(p for p in args.image.iterdir() if is_image(p))
        if not photos:
            return _fail(f"no images in {args.image}")
        args.output.mkdir(parents=True, exist_ok=True)
        pairs = [(p, args.output / f"{p.stem}.png") for p in photos]
    else:
        target = args.output / f"{args.image.stem}.png" if args.output.is_dir() else args.output
        if target.suffix.lower() != ".png":
            return _fail(f"masks are written as PNG: {target}")
        pairs = [(args.image, target)]
    detector = DamageDetector(device=resolve_device(args.device))
    limit = args.max_pixels or default_max_pixels()
    failures = 0
    for photo, target in pairs:
        if target.exists() and os.path.samefile(target, photo):
            failures += 1
            print(
                f"{PROG}: {photo.name}: refusing to write the mask over the photo", file=sys.stderr
            )
            continue
        try:
            pixels = load_image(photo, max_pixels=limit).pixels
            found = detector.detect(pixels, args.sensitivity, polarity=args.polarity)
            save_mask(target, found.mask)
        except InpaintStudioError as exc:
            failures += 1
            print(f"{PROG}: {photo.name}: {exc}", file=sys.stderr)
            continue
        print(
            f"{target}: {found.regions} regions, {100 * found.fraction:.2f}% of the photo",
            file=sys.stderr,
        )
    return EXIT_BAD_INPUT if failures else EXIT_OK


# --------------------------------------------------------------------------- models


def _add_models(sub) -> None:
    p = sub.add_parser("models", help="list inpainting backends and whether each is available")
    p.set_defaults(func=_cmd_models)


def _cmd_models(args: argparse.Namespace) -> int:
    from inpaint_studio import paths
    from inpaint_studio.backends import registry

    default = registry.default_backend()
    rows = registry.available()
    width = max(len(info.name) for info, _, _ in rows)
    for info, ok, reason in rows:
        mark = "*" if info.name == default else " "
        state = "available" if ok else f"unavailable: {reason}"
        print(f"{mark} {info.name:<{width}}  {info.title} - {state}")
    print(f"(* = default)  user models folder: {paths.user_models_dir()}")
    print("  put LaMa-convention TorchScript files (*.pt) there, or use --model torchscript:PATH")
    return EXIT_OK


# --------------------------------------------------------------------------- train


def _add_run_args(p, minutes: float, batch: int, crop: int, lr: float) -> None:
    """The options every training command takes: data, run folder, budget, batch, seed..."""
    p.add_argument("--data", required=True, help="folder of photos (files directly inside it)")
    p.add_argument("--out", required=True, help="run folder: checkpoint, log, weights")
    p.add_argument(
        "--minutes", type=float, default=minutes, help=f"time budget (default {minutes:g})"
    )
    p.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0 = by time)")
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--crop", type=int, default=crop)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train the inpainting network on a folder of photos")
    _add_run_args(p, minutes=60.0, batch=8, crop=256, lr=1e-3)
    p.add_argument("--gan-start", type=int, default=400, help="reconstruction-only steps")
    p.add_argument(
        "--adv-weight", type=float, default=0.02, help="adversarial loss weight (0 = no GAN)"
    )
    p.add_argument(
        "--fm-weight",
        type=float,
        default=0.5,
        help="discriminator feature-matching loss weight (with the GAN losses)",
    )
    p.add_argument(
        "--hole-loss",
        choices=("l1", "mse"),
        default="l1",
        help="loss on the hole pixels (mse optimises hole PSNR directly)",
    )
    p.add_argument("--grad-weight", type=float, default=1.0, help="Sobel-gradient loss weight")
    p.add_argument("--fft-weight", type=float, default=0.2, help="FFT amplitude loss weight")
    p.add_argument(
        "--prior",
        choices=("multigrid", "tension", "membrane", "pushpull", "none"),
        default="multigrid",
        help="smooth fill the network refines (default multigrid; --init/--resume keep theirs)",
    )
    p.add_argument("--init", default="", help="start from this weights file (fine-tune)")
    p.add_argument(
        "--stage",
        choices=("all", "net", "coarse"),
        default="all",
        help="all: train the whole network; net: all but its coarse corrector (frozen); "
        "coarse: only its 1/4-size coarse corrector",
    )
    p.add_argument(
        "--coarse",
        type=int,
        default=0,
        metavar="WIDTH",
        help="add a coarse corrector of this width (0 = none; kept from --init if it has one)",
    )
    p.add_argument(
        "--loader-workers",
        type=int,
        default=-1,
        help="processes that make batches ahead (-1 = auto: up to 8 with CUDA, 0 on the CPU)",
    )
    p.add_argument(
        "--cuda-graph",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="on CUDA, replay the smooth prior from a CUDA graph (default on)",
    )
    p.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=5.0,
        help="save the checkpoint and weights this often (default 5)",
    )
    p.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from inpaint_studio.training.train import TrainConfig, train

    if not Path(args.data).is_dir():
        return _fail(f"training data folder not found: {args.data}")
    if args.init and not Path(args.init).is_file():
        return _fail(f"weights file to start from not found: {args.init}")
    cfg = TrainConfig(
        data=args.data,
        out=args.out,
        minutes=args.minutes,
        max_steps=args.max_steps,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        gan_start=args.gan_start,
        w_adv=args.adv_weight,
        w_fm=args.fm_weight,
        hole_loss=args.hole_loss,
        w_grad=args.grad_weight,
        w_fft=args.fft_weight,
        prior=args.prior,
        init=args.init,
        stage=args.stage,
        coarse=args.coarse,
        loader_workers=args.loader_workers,
        checkpoint_minutes=args.checkpoint_minutes,
        cuda_graph=args.cuda_graph,
    )
    try:
        weights = train(cfg, resume=args.resume)
    except ValueError as exc:  # a damaged --init weights file, unreadable photos
        return _fail(str(exc))
    print(f"{PROG}: weights written to {weights}", file=sys.stderr)
    return EXIT_OK


def _add_train_corrector(sub) -> None:
    p = sub.add_parser(
        "train-corrector",
        help="fine-tune the coarse corrector on cached photo-sized cases",
        description="Draws 320x480 cases (photo crops and training masks) from --data, "
        "solves the smooth prior once per case and caches its 1/4-size fill in "
        "CACHE/train (and from --val-data in CACHE/val) unless those folders already hold "
        "shards; then fine-tunes the coarse corrector of --init on the cache and writes "
        "OUT/weights.pt (all other tensors unchanged), OUT/best.pt (the step with the best "
        "held-out gain), OUT/log.csv and OUT/curve.png.",
    )
    p.add_argument("--data", required=True, help="folder of training photos")
    p.add_argument("--val-data", required=True, help="folder of held-out photos (scored)")
    p.add_argument("--cache", required=True, help="cache folder (built if empty)")
    p.add_argument("--cache-shards", type=int, default=80, help="256 cases each (default 80)")
    p.add_argument("--val-shards", type=int, default=4)
    p.add_argument(
        "--cache-seed",
        type=int,
        default=1,
        help="draws the training cases (default 1; another seed gives new cases from the "
        "same photos); the held-out cache always uses 7",
    )
    p.add_argument("--init", default="", help="weights to fine-tune (default: the shipped ones)")
    p.add_argument("--out", required=True, help="run folder: log.csv, weights.pt, best.pt")
    p.add_argument("--minutes", type=float, default=40.0, help="training budget (default 40)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0 = by time)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0, help="batch order")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    p.add_argument(
        "--no-fade",
        dest="fade",
        action="store_false",
        help="score the corrector's raw residual, not the one faded in from the rim that "
        "inference adds (the first shipped stage used this)",
    )
    p.set_defaults(func=_cmd_train_corrector)


def _cmd_train_corrector(args: argparse.Namespace) -> int:
    from inpaint_studio.backends.neural import default_weights_path
    from inpaint_studio.training import corrector_cache as cc

    for folder in (args.data, args.val_data):
        if not Path(folder).is_dir():
            return _fail(f"photo folder not found: {folder}")
    init = args.init or str(default_weights_path())
    if not Path(init).is_file():
        return _fail(f"weights file to start from not found: {init}")
    try:
        for name, data, seed, shards in (
            ("train", args.data, args.cache_seed, args.cache_shards),
            ("val", args.val_data, 7, args.val_shards),
        ):
            folder = Path(args.cache) / name
            if not any(folder.glob("*.npz")):
                count = shards * cc.SHARD
                print(f"{PROG}: caching {count} {name} cases in {folder}", file=sys.stderr)
                spec = cc.CacheConfig(data, str(folder), seed, shards, threads=args.threads)
                cc.build_cache(spec)
        cfg = cc.CorrectorConfig(
            cache=str(Path(args.cache) / "train"),
            val_cache=str(Path(args.cache) / "val"),
            init=init,
            out=args.out,
            minutes=args.minutes,
            max_steps=args.max_steps,
            batch=args.batch,
            lr=args.lr,
            seed=args.seed,
            threads=args.threads,
            fade=args.fade,
        )
        weights = cc.train_on_cache(cfg)
    except (ValueError, FileNotFoundError) as exc:
        return _fail(str(exc))
    print(f"{PROG}: weights written to {weights}", file=sys.stderr)
    return EXIT_OK


def _add_train_detector(sub) -> None:
    p = sub.add_parser(
        "train-detector",
        help="train the dust-and-scratch detector on a folder of clean photos",
        description="Draws synthetic scan damage (scratches, creases, dust; light and dark) "
        "on random crops and trains the detector network to find it.",
    )
    _add_run_args(p, minutes=30.0, batch=16, crop=192, lr=2e-3)
    p.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt")
    p.add_argument("--init", default="", help="start from these detector weights (fine-tune)")
    p.set_defaults(func=_cmd_train_detector)


def _cmd_train_detector(args: argparse.Namespace) -> int:
    import torch

    from inpaint_studio.training.detector_train import DetectorConfig, train_detector

    if not Path(args.data).is_dir():
        return _fail(f"training data folder not found: {args.data}")
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    cfg = DetectorConfig(
        data=args.data,
        out=args.out,
        minutes=args.minutes,
        max_steps=args.max_steps,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        seed=args.seed,
        init=args.init,
        threads=args.threads,
        device=device,
    )
    try:
        weights = train_detector(cfg, resume=args.resume)
    except ValueError as exc:
        return _fail(str(exc))
    print(f"{PROG}: weights written to {weights}", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- evaluate


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="compare models on held-out photos with generated masks",
        description="Generates masks deterministically from --seed, fills each hole with "
        "noise, runs every model on the same cases and prints hole PSNR, full PSNR, SSIM, "
        "gradient ratio (hole sharpness, output/truth) and seconds per image.",
    )
    p.add_argument("--data", required=True, help="folder of photos (never the training set)")
    p.add_argument(
        "--models",
        default="ours,telea,ns,patchmatch",
        help="comma-separated backends; NAME+grain (or NAME+grain@S) adds rim-matched grain "
        "to NAME's fills as the editor and run do (default strength, or S)",
    )
    p.add_argument("--masks", default="scratch,thin,medium,thick")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="use the first N photos only")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--out", default=None, help="write the markdown report here (+ grid PNG)")
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from inpaint_studio.training import evaluate as ev

    if not Path(args.data).is_dir():
        return _fail(f"evaluation data folder not found: {args.data}")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    kinds = [k.strip() for k in args.masks.split(",") if k.strip()]
    out = Path(args.out) if args.out else None
    report = ev.evaluate(
        args.data,
        models,
        kinds,
        seed=args.seed,
        limit=args.limit,
        device=args.device,
        out_dir=out.parent if out else None,
        progress=sys.stderr.isatty(),
    )
    table = ev.format_table(report)
    print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        command = "inpaint-studio " + " ".join(sys.argv[1:]) if sys.argv else ""
        out.write_text(f"Command: `{command}`\n\n{table}\n", encoding="utf-8")
        print(f"{PROG}: report written to {out}", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- export


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export-torchscript",
        help="export our model as a LaMa-convention TorchScript file",
    )
    p.add_argument("--out", required=True, help="output .pt file")
    p.add_argument("--weights", default=None, help="weights file (default: the shipped model)")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    from inpaint_studio.backends import torchscript_backend

    out = torchscript_backend.export_ours(args.weights, args.out)
    print(f"{PROG}: wrote {out}", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- main


def _command_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG)
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    gui = sub.add_parser("gui", help="launch the editor")
    gui.add_argument("image", nargs="?")
    gui.add_argument("--sample", action="store_true")
    gui.set_defaults(func=_cmd_gui)
    _add_run(sub)
    _add_models(sub)
    _add_detect(sub)
    _add_train(sub)
    _add_train_corrector(sub)
    _add_train_detector(sub)
    _add_evaluate(sub)
    _add_export(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` (default sys.argv[1:]) and run; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            args = _command_parser().parse_args(argv)
        else:
            args = _gui_parser().parse_args(argv)
            args.func = _cmd_gui
        return int(args.func(args))
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_BAD_INPUT
    except InpaintStudioError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        return _fail("out of memory; try a smaller image or the 'crop' strategy")
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
