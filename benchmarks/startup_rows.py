"""The start-up benchmark's rows beside the commands, each a fresh process (full runs only).

* The course notebook end to end (MIT 6.S191 music lab): a process that imports TensorFlow,
  builds the lab's model (`references.course_music_model`: Sequential Embedding -> stateful
  LSTM -> Dense, batch 1), loads the `folk` preset's weights into it, and samples as many
  characters as `music generate --num-tunes 5` wrote (`references.course_generate_text`: one
  eager call and one tf.random.categorical per character).
* The C API floor: tests/capi_loader.c (TF_LoadSessionFromSavedModel, the C++ loader TF Serving
  is built on; no Python) loads the preset's exported SavedModel and runs its `generate_form`
  signature for 5 tunes with the command's defaults (seeds 0-4, 1000 characters at most,
  temperature 1, two parts): what generating those tunes costs through TensorFlow with no
  Python at all. Set up once, untimed: the export (`tfcreative export --model folk`) and gcc.
* `TuneSampler`'s first call in a notebook: a process that loads the preset with
  `MusicLSTM.from_preset("folk")` and times `TuneSampler(model).generate(...)` with the
  README's arguments and with the form's defaults: the first call, the one right after, and a
  later one once the compiled loop is ready (the reference); beside it the first call on the
  compiled loop (`numpy_first` off: what every first call did before issue 25).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COURSE = "the course notebook end to end (import, preset weights, eager loop)"
CAPI = "C API floor: capi_loader runs the SavedModel's generate_form, 5 tunes"
FIRST_CALL_CASES = {  # name -> TuneSampler.generate's arguments
    "README (2 tunes, 200 characters)": {"num_tunes": 2, "max_length": 200, "seed": 0},
    "form, the defaults (1 tune)": {"constrain": "form", "seed": 0},
}
FIRST_CALL = "first TuneSampler(model).generate() after from_preset, "
FIRST_CALL_BEFORE = "first call on the compiled loop (before issue 25), "

_COURSE_SCRIPT = """
import sys
import tensorflow as tf
from benchmarks import references
from tfcreative import preset_files
from tfcreative.music.vocabulary import CharVocabulary

stored, arrays = preset_files.read_model_files("folk", "MusicLSTM")
config = stored["config"]
weights = {name.split("/", 1)[1]: value for name, value in arrays.items()}
vocabulary = CharVocabulary.from_config(config["vocabulary"])
model = references.course_music_model(vocabulary.size, config["embedding_dim"],
                                      config["lstm_units"], batch_size=1, stateful=True)
cell = "lstm_0/lstm_cell/"
model.layers[0].set_weights([weights["embedding/embeddings"]])
model.layers[1].set_weights([weights[cell + part] for part in
                             ("kernel", "recurrent_kernel", "bias")])
model.layers[2].set_weights([weights["logits/kernel"], weights["logits/bias"]])
start = [int(i) for i in vocabulary.encode("X:1\\nT:")]
print(len(references.course_generate_text(model, start, int(sys.argv[1]))))
"""

_CAPI_SETUP = """
import json, os, sys
import numpy as np
from tests.serving_loaders import build_capi_loader, signature_tensors, write_tensor_file
from tfcreative.cli.main import main

scratch = sys.argv[1]
assert main(["export", "--model", "folk", "--base-dir", scratch, "--name", "folk"]) == 0
path = os.path.join(scratch, "folk", "1")
inputs, outputs = signature_tensors(path, "generate_form")
request = {"seed_text": np.array(b"X:1\\nT:", dtype=object), "num_tunes": np.int32(5),
           "max_length": np.int32(1000), "temperature": np.float32(1.0),
           "random_seed": np.int64(0), "parts": np.int32(2), "key": np.array(b"", dtype=object),
           "meter": np.array(b"", dtype=object), "tune_type": np.array(b"", dtype=object),
           "chord_symbols": np.bool_(False), "repeats": np.bool_(True)}
command = [build_capi_loader(scratch), path, "serve"]
for key, value in request.items():
    write_tensor_file(os.path.join(scratch, key + ".tensor"), value)
    command += ["feed", inputs[key], os.path.join(scratch, key + ".tensor")]
for key, tensor in outputs.items():
    command += ["fetch", tensor, os.path.join(scratch, "out_" + key + ".tensor")]
command += ["run", os.path.join(scratch, "error.txt")]
print(json.dumps(command))
"""

_FIRST_CALL_SCRIPT = """
import json, sys, time
start = time.perf_counter()
from tfcreative.music import MusicLSTM, TuneSampler
model = MusicLSTM.from_preset("folk")
loaded = time.perf_counter()
kwargs, numpy_first = json.loads(sys.argv[1]), sys.argv[2] == "1"

def call():
    sampler = TuneSampler(model)
    sampler.numpy_first = sampler.numpy_first and numpy_first
    began = time.perf_counter()
    tunes = sampler.generate(**kwargs)
    return sampler, time.perf_counter() - began, [tune.abc for tune in tunes]

sampler, first, tunes = call()
_, second, again = call()
sampler.wait_until_compiled()
_, later, compiled = call()
assert tunes == again == compiled, "a path gave other tunes"
print(json.dumps({"load_s": loaded - start, "first_s": first, "second_s": second,
                  "later_s": later}))
"""


def _python(script: str, *args: str) -> list[str]:
    return [sys.executable, "-c", script, *args]


def capi_command(scratch: str) -> list[str]:
    """The capi_loader command line (export and build done here, untimed)."""
    result = subprocess.run(_python(_CAPI_SETUP, scratch), cwd=REPO, capture_output=True,
                            text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"C API set-up failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def course_block(run_to_end, produced: dict, scratch: str):
    """The course's end-to-end process for the characters the 5-tune command wrote last."""
    return lambda: run_to_end(_python(_COURSE_SCRIPT, str(produced["chars"])), REPO)


def first_call_block(run_to_end, arguments: dict, numpy_first: bool, timings: list):
    """A fresh process timing TuneSampler's calls; its figures appended to `timings`."""
    def block():
        seconds, mib, stdout = run_to_end(
            _python(_FIRST_CALL_SCRIPT, json.dumps(arguments), "1" if numpy_first else "0"),
            REPO, output=True)
        timings.append(json.loads(stdout.strip().splitlines()[-1]))
        return seconds, mib
    return block
