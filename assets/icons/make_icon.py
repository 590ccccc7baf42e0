#!/usr/bin/env python3
"""Draws deploysim's window icon, assets/icons/deploysim.png (64 x 64 RGBA).

A rollout in one picture: a dark rounded tile holding a 3 x 3 fleet of instances,
stable (blue) giving way to the release (green) column by column. Only the standard
library is used; shapes are sampled 4 x 4 per pixel for smooth edges. Run it from the
repository root to regenerate the file.
"""
import struct
import zlib

SIZE = 64
SUB = 4
BACKGROUND = (18, 20, 26)
STABLE = (76, 139, 245)
RELEASE = (64, 196, 120)


def rounded_rect(x, y, x0, y0, x1, y1, r):
    """Whether (x, y) lies inside the rectangle [x0, x1] x [y0, y1] with corner radius r."""
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def shade(x, y):
    """The colour at a point, or None outside the icon."""
    if not rounded_rect(x, y, 1, 1, 63, 63, 12):
        return None
    cell, gap, start = 14, 4, 7
    for row in range(3):
        for col in range(3):
            x0 = start + col * (cell + gap)
            y0 = start + row * (cell + gap)
            if rounded_rect(x, y, x0, y0, x0 + cell, y0 + cell, 4):
                # Column 0 stable, column 2 released, column 1 mid-rollout (top row new).
                new = col == 2 or (col == 1 and row == 0)
                return RELEASE if new else STABLE
    return BACKGROUND


def pixel(px, py):
    r = g = b = a = 0
    for sy in range(SUB):
        for sx in range(SUB):
            c = shade(px + (sx + 0.5) / SUB, py + (sy + 0.5) / SUB)
            if c is not None:
                r, g, b, a = r + c[0], g + c[1], b + c[2], a + 1
    if a == 0:
        return (0, 0, 0, 0)
    return (r // a, g // a, b // a, 255 * a // (SUB * SUB))


def png(width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    rows = [[pixel(x, y) for x in range(SIZE)] for y in range(SIZE)]
    with open("assets/icons/deploysim.png", "wb") as f:
        f.write(png(SIZE, SIZE, rows))
