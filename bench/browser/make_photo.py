#!/usr/bin/env python3
"""Writes the benchmark photo: a 12-megapixel camera-like JPEG (~4 MB) with everything a
camera or phone leaves in it.

Usage: make_photo.py OUT.jpg [WIDTHxHEIGHT]   (default 4000x3000; cargo xtask bench runs it
for the 12 MP photo and for the small pictures of the memory run; nothing is committed)

Needs Pillow (the xtask installs it with pip when missing) and exiftool (Debian
`libimage-exiftool-perl`, installed by `cargo xtask setup`). The picture is seeded and the
tags fixed; exiftool's rewrite may differ by a few bytes between runs.

What goes in: APP0 JFIF, APP1 EXIF (make, model, serial numbers, dates, author,
Orientation 6, a GPS IFD and a 160x120 JPEG thumbnail in IFD1), APP1 XMP, APP13 IPTC,
APP2 ICC (sRGB), a COM segment.
"""

import os
import random
import subprocess
import sys
import tempfile

from PIL import Image, ImageChops, ImageCms, ImageFilter

W, H = 4000, 3000  # changed by the optional size argument
QUALITY = 92

EXIF_TAGS = [
    "-GPSLatitude=48.8567", "-GPSLatitudeRef=N",
    "-GPSLongitude=2.3508", "-GPSLongitudeRef=E",
    "-GPSAltitude=35", "-GPSAltitudeRef=0",
    "-GPSTimeStamp=05:08:09", "-GPSDateStamp=2024:05:06",
    "-Make=FrameCam", "-Model=FC-1 Pro", "-Software=FrameCam Firmware 1.2",
    "-SerialNumber=SN123456789", "-LensSerialNumber=LSN987654",
    "-LensModel=FrameLens 24mm F1.8", "-InternalSerialNumber=ISN-0042",
    "-DateTimeOriginal=2024:05:06 07:08:09", "-CreateDate=2024:05:06 07:08:09",
    "-ModifyDate=2024:05:06 07:08:10", "-OffsetTimeOriginal=+02:00",
    "-Artist=Ada Lovelace", "-Copyright=(c) Ada Lovelace",
    "-OwnerName=Ada L.", "-UserComment=at home",
    "-ImageDescription=the garden",
    "-ExposureTime=1/125", "-FNumber=2.8", "-ISO=100", "-FocalLength=24",
    "-Orientation#=6",
]
XMP_TAGS = [
    "-XMP-dc:Creator=Ada Lovelace", "-XMP-dc:Description=secret place",
    "-XMP-exif:GPSLatitude=48.8567 N", "-XMP-exif:GPSLongitude=2.3508 E",
    "-XMP-xmp:CreatorTool=FrameCam Firmware 1.2",
]
IPTC_TAGS = [
    "-IPTC:By-line=Ada Lovelace", "-IPTC:City=Paris",
    "-IPTC:Caption-Abstract=garden", "-IPTC:CopyrightNotice=(c) Ada Lovelace",
]


def picture(w, h):
    """Smooth light and colour (upscaled gradients) plus fine sensor-like grain."""
    small = (w // 16, h // 16)
    rnd = random.Random(12)
    r = Image.linear_gradient("L").resize(small)
    g = Image.radial_gradient("L").resize(small)
    b = Image.linear_gradient("L").rotate(90).resize(small)
    blobs = Image.frombytes("L", small, rnd.randbytes(small[0] * small[1]))
    blobs = blobs.filter(ImageFilter.GaussianBlur(3))
    base = Image.merge("RGB", (
        ImageChops.add(r, blobs, scale=2.0),
        ImageChops.add(g, blobs, scale=2.0, offset=40),
        ImageChops.add(b, blobs, scale=2.0),
    )).resize((w, h), Image.BICUBIC)
    grain = Image.frombytes("L", (w, h), rnd.randbytes(w * h)).point(lambda v: v // 10)
    grain = Image.merge("RGB", (grain, grain, grain))
    return ImageChops.add(base, grain, scale=1.0, offset=-12)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make_photo.py OUT.jpg [WIDTHxHEIGHT]")
    out = sys.argv[1]
    w, h = (int(v) for v in sys.argv[2].split("x")) if len(sys.argv) == 3 else (W, H)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = picture(w, h)
    with tempfile.TemporaryDirectory() as tmp:
        thumb = os.path.join(tmp, "thumb.jpg")
        im.resize((160, 120 * h // w)).save(thumb, "JPEG", quality=75)
        im.save(out, "JPEG", quality=QUALITY, icc_profile=icc,
                comment=b"Shot on FrameCam FC-1 Pro, serial SN123456789, at home")
        subprocess.run(
            ["exiftool", "-q", "-overwrite_original", *EXIF_TAGS, *XMP_TAGS, *IPTC_TAGS,
             f"-ThumbnailImage<={thumb}", out],
            check=True,
        )
    print(f"{out}: {os.path.getsize(out)} bytes, {w}x{h}")


if __name__ == "__main__":
    main()
