"""The package's shape: imports point one way (no cycles, function-level imports included),
data builders never import model packages, library code never imports the CLI, and light
modules stay light."""

import ast
import json
import os

from tests.conftest import REPO, run_python_json

# Where each installed package's code lives in the repository (setup.cfg's package_dir).
ROOTS = {"tfcreative": "tfcreative", "tfcreative.datasets": "datasets",
         "tfcreative.export": "export"}


def package_modules() -> dict[str, str]:
    """Module name -> file, for every module of the installed package."""
    modules = {}
    for package, folder in ROOTS.items():
        for directory, _, files in os.walk(os.path.join(REPO, folder)):
            if "dummy_data" in directory or "__pycache__" in directory:
                continue
            relative = os.path.relpath(directory, os.path.join(REPO, folder))
            parts = [] if relative == "." else relative.split(os.sep)
            for name in files:
                if not name.endswith(".py") or name.endswith("_test.py"):
                    continue
                stem = [] if name == "__init__.py" else [name[:-3]]
                modules[".".join([package, *parts, *stem])] = os.path.join(directory, name)
    return modules


def imported_modules(name: str, path: str, modules: dict[str, str]) -> set[str]:
    """Package modules that `name` imports anywhere (module level or inside functions), and
    modules named as strings for lazy loading (importlib.import_module)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()

    def add(target: str, attribute: str | None = None):
        if attribute and f"{target}.{attribute}" in modules:
            found.add(f"{target}.{attribute}")
        elif target in modules:
            found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            for alias in node.names:
                add(base, alias.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and "." in node.value and node.value in modules:  # lazy: "tfcreative.x.y"
            found.add(node.value)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == "open":
                return stack[stack.index(child):] + [child]
            if child not in state and (cycle := visit(child)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_real_imports():
    graph = import_graph()
    assert "tfcreative.abc_notation" in graph["tfcreative.datasets.abc_tunes."
                                             "abc_tunes_dataset_builder"]
    assert "tfcreative.music.model" in graph["tfcreative.music.sampler"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_data_builders_do_not_import_model_packages():
    for name, imports in import_graph().items():
        if name.startswith("tfcreative.datasets"):
            bad = {i for i in imports if i.startswith(("tfcreative.music", "tfcreative.pix2pix",
                                                        "tfcreative.export", "tfcreative.cli"))}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_library_code_does_not_import_the_cli():
    entry_points = {"tfcreative.__main__"}  # `python -m tfcreative` is the command itself
    for name, imports in import_graph().items():
        if not name.startswith("tfcreative.cli") and name not in entry_points:
            assert not {i for i in imports if i.startswith("tfcreative.cli")}, name


def test_tune_sampler_import_is_light():
    out = run_python_json(
        "import json, sys\nfrom tfcreative.music import TuneSampler  # noqa: F401\n"
        "print(json.dumps({'tfds': 'tensorflow_datasets' in sys.modules}))")
    assert out == {"tfds": False}, json.dumps(out)


def test_the_command_lines_entry_module_loads_no_tensorflow():
    """main() mutes TensorFlow's C++ start-up lines while TensorFlow loads: that works only if
    importing the entry module has not loaded it already."""
    out = run_python_json(
        "import json, sys\nimport tfcreative.cli.main  # noqa: F401\n"
        "print(json.dumps({'tensorflow': 'tensorflow' in sys.modules}))")
    assert out == {"tensorflow": False}


# Imports a user may write first in a fresh process. `import keras` anywhere registers our model
# classes (a post-import hook), which imports the model modules in the middle of whatever module
# imported keras: a cycle the static graph above cannot see.
FIRST_IMPORTS = ["tfcreative", "tfcreative.presets", "tfcreative.saving", "tfcreative.music",
                 "tfcreative.pix2pix", "tfcreative.music.tune", "tfcreative.datasets",
                 "tfcreative.export", "tfcreative.serve", "tfcreative.training"]


def test_every_public_module_can_be_imported_first():
    import subprocess
    import sys

    processes = {name: subprocess.Popen(
        [sys.executable, "-c", f"import {name}, keras; import tfcreative.presets as p; "
                               "assert p.list_presets()"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}) for name in FIRST_IMPORTS}
    failures = {name: p.communicate()[1].strip().splitlines()[-1:]
                for name, p in processes.items() if p.wait() != 0}
    assert not failures, failures


def test_the_form_counter_shares_no_code_with_the_tracker_it_judges():
    """music.form (evaluation: parts, bars, keys) reads tunes on its own: it imports none of
    the tracker's modules, nor they it."""
    tracker = {"tfcreative.music.abc_grammar", "tfcreative.music.meter_rules",
               "tfcreative.music.meter", "tfcreative.music.meter_program",
               "tfcreative.music.controls"}
    graph = import_graph()
    assert not graph["tfcreative.music.form"] & tracker, graph["tfcreative.music.form"]
    for name in tracker:
        assert "tfcreative.music.form" not in graph[name], name
