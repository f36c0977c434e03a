"""The `tfcreative` command line: `main.py` builds it from one module per command (`music`,
`pix2pix`, `export`, `serve`, `quickstart`); `common.py` holds what they share.

Imports point one way: main -> commands -> common -> the library. Library code never imports
from here; it raises errors that name its own arguments, and the commands name their flags.
"""

import os

# Before any command module imports TensorFlow: hide its C++ start-up messages.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
