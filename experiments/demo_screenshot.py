"""A screenshot of the demo page's Pix2Pix panel with your model, after uploading a photo.

    python -m experiments.demo_screenshot --models exported/tfjs --photo coffee \
        --out docs/web_demo_edges.png

--models as for `tfcreative serve` (a folder of TF.js models; one it lacks is its preset's);
--photo a file or the name of one of scikit-image's sample photographs (CC0 / public domain).
The page runs in Debian's headless Chromium (Playwright), as tests/test_web_demo.py; the
picture is the #pix2pix section, reduced to 256 colours to stay small. Prints the panel's
timing line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading


def photo_file(photo: str, folder: str) -> str:
    if os.path.isfile(photo):
        return photo
    import tensorflow as tf
    from skimage import data

    path = os.path.join(folder, f"{photo}.png")
    with open(path, "wb") as f:
        f.write(tf.io.encode_png(getattr(data, photo)()[..., :3]).numpy())
    return path


def screenshot(models: str, photo: str, out: str, width: int = 1040) -> str:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from tfcreative.cli.serve import models_in
    from tfcreative.serve import make_server

    server = make_server("127.0.0.1", 0, models_in(models)[0])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), headless=True,
                args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"http://{host}:{port}/")
            page.wait_for_function("document.body.dataset.ready", timeout=300_000)
            page.set_input_files("#photo-file", photo_file(photo, folder))
            page.evaluate("demo.pix2pixSettled()")
            page.locator("#pix2pix").screenshot(path=os.path.join(folder, "shot.png"))
            timing = page.inner_text("#pix2pix-timing")
            browser.close()
            Image.open(os.path.join(folder, "shot.png")).convert("RGB").quantize(256).save(
                out, optimize=True)
    finally:
        server.shutdown()
        server.server_close()
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", required=True)
    parser.add_argument("--photo", default="coffee")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(screenshot(args.models, args.photo, args.out))


if __name__ == "__main__":
    main()
