"""The `tfcreative` command line: `main.py` builds it from one module per command (`music`,
`pix2pix`, `export`, `serve`, `quickstart`); `common.py` holds what they share.

Imports point one way: main -> commands -> common -> the library. Library code never imports
from here; it raises errors that name its own arguments, and the commands name their flags.
"""
