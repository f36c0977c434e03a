"""Every Python block of the README and of docs/*.md runs, as written, in a fresh process.

Only sizes change, so the blocks run in seconds: each (documented text, what runs instead) pair
of SMALLER must occur in the documents' Python blocks (the table cannot go stale), and nothing else
is touched. The blocks run in an empty folder, with TFDS_DATA_DIR (TFDS's own setting) pointing
at a folder shared by the blocks.
"""

import os
import subprocess
import sys

import pytest

from tests.readme import code_blocks, documents

SMALLER = [
    # Music: a tiny LSTM for one epoch
    ("embedding_dim=256, lstm_units=512", "embedding_dim=8, lstm_units=8"),
    ("model.fit(data, epochs=5)", "model.fit(data, epochs=1)"),
    # Pix2Pix: 32 px, narrow networks, one epoch
    ("image_size=128", "image_size=32"),
    ("unet_generator(128, ngf=32), patchgan_discriminator(ndf=32)",
     "unet_generator(32, ngf=4), patchgan_discriminator(ndf=4)"),
    ("epochs=10)", "epochs=1)"),
    # Distributed training: a tiny model, two steps
    ("MusicTrainConfig(batch_size=64)",
     "MusicTrainConfig(batch_size=64, embedding_dim=8, lstm_units=8, epochs=1, "
     "steps_per_epoch=2)"),
]


def python_blocks() -> list[tuple[str, str]]:
    """(document's name, block) for every Python block of the README and docs/."""
    blocks = []
    for path in documents():
        with open(path, encoding="utf-8") as f:
            blocks += [(os.path.basename(path), b) for b in code_blocks(f.read(), "python")]
    return blocks


def smaller(block: str) -> str:
    for written, runs in SMALLER:
        block = block.replace(written, runs)
    return block


def test_every_shrinking_rule_matches_the_documents():
    text = "\n".join(block for _, block in python_blocks())
    assert len(python_blocks()) >= 4
    for written, _ in SMALLER:
        assert written in text, f"SMALLER rule no longer matches the documents: {written!r}"


@pytest.fixture(scope="module")
def shared_tfds(tmp_path_factory):
    return str(tmp_path_factory.mktemp("readme-tfds"))


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs(index, shared_tfds, tmp_path):
    document, block = python_blocks()[index]
    env = {**os.environ, "TFDS_DATA_DIR": shared_tfds, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", smaller(block)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, \
        f"{document}, Python block {index}:\n{block}\n{result.stderr[-3000:]}"
