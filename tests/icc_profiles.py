"""Small matrix/TRC ICC v2 display profiles built in code, for colour-management tests."""

from __future__ import annotations

import struct

D50 = (0.9642, 1.0, 0.8249)
# D50-adapted colorants of Adobe RGB (1998) and of sRGB
ADOBE_RGB = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
SRGB = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_ + bytes(4 + 4 + 2 + 1 + 67)


def rgb_profile(colorants=ADOBE_RGB, gamma: float = 563 / 256, name: str = "Test RGB") -> bytes:
    """ICC bytes of an RGB display profile with these D50 colorants and one gamma curve."""
    tags = [(b"desc", _desc(name)), (b"wtpt", _xyz(D50)), (b"cprt", b"text\0\0\0\0none\0")]
    tags += [(sig, _xyz(c)) for sig, c in zip((b"rXYZ", b"gXYZ", b"bXYZ"), colorants, strict=True)]
    tags += [(sig, _curve(gamma)) for sig in (b"rTRC", b"gTRC", b"bTRC")]
    return _assemble(b"RGB ", tags)


def grey_profile(gamma: float = 1.0) -> bytes:
    """ICC bytes of a grey display profile with one gamma curve."""
    tags = [(b"desc", _desc("Test grey")), (b"wtpt", _xyz(D50)), (b"kTRC", _curve(gamma))]
    return _assemble(b"GRAY", tags)


def _assemble(space: bytes, tags) -> bytes:
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = 128 + table_size + len(data)
    header = struct.pack(">I", size) + b"\0\0\0\0" + struct.pack(">I", 0x02100000)
    header += b"mntr" + space + b"XYZ " + bytes(12) + b"acsp" + bytes(4 + 4 + 4 + 4 + 8 + 4)
    header += b"".join(_s15(v) for v in D50) + bytes(4 + 16 + 28)
    assert len(header) == 128
    return header + table + data
