"""scikit-image against OpenCV's headless wheel for the photos_* transforms: time per call.

    pip download --only-binary=:all: -d /tmp/skimage "scikit-image==0.26.*"      # sizes
    pip download --only-binary=:all: --no-deps -d /tmp/cv opencv-python-headless
    pip install --no-deps --target /tmp/cv_target /tmp/cv/*.whl
    taskset -c 1 python -m experiments.photo_transform_libraries --opencv /tmp/cv_target

OpenCV is not a dependency: point --opencv at a folder it was installed into. Each row: the
median of 7 calls on astronaut scaled to 1024x768, both libraries in one process, one after
the other (docs/pix2pix_photos.md has the table and the decision).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def _median_seconds(call, repetitions: int = 7) -> float:
    call()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.photo_transform_libraries",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--opencv", required=True, help="folder opencv-python-headless is in")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.opencv)
    import cv2
    import numpy as np
    import skimage
    from skimage import color, data, feature, filters, transform

    photo = transform.resize(data.astronaut(), (768, 1024), anti_aliasing=True)
    photo8 = (photo * 255).astype(np.uint8)
    grey = color.rgb2gray(photo)
    grey8 = (grey * 255).astype(np.uint8)
    rows = {
        "Canny sigma 2": (lambda: feature.canny(grey, sigma=2, low_threshold=0.1,
                                                high_threshold=0.2),
                          lambda: cv2.Canny(cv2.GaussianBlur(grey8, (0, 0), 2), 25, 50)),
        "Gaussian sigma 2": (lambda: filters.gaussian(grey, sigma=2),
                             lambda: cv2.GaussianBlur(grey8, (0, 0), 2)),
        "RGB -> Lab": (lambda: color.rgb2lab(photo),
                       lambda: cv2.cvtColor(photo.astype(np.float32), cv2.COLOR_RGB2Lab)),
        "resize to 1/4, anti-aliased": (
            lambda: transform.resize(photo, (192, 256), anti_aliasing=True),
            lambda: cv2.resize(photo8, (256, 192), interpolation=cv2.INTER_AREA)),
    }
    print(f"| 1024x768 | scikit-image {skimage.__version__} | OpenCV {cv2.__version__} | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, (ours, theirs) in rows.items():
        a, b = _median_seconds(ours), _median_seconds(theirs)
        print(f"| {name} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {a / b:.0f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
