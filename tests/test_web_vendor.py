"""The browser libraries shipped in the package are exactly the npm lockfile's versions: the
manifest matches package-lock.json, every shipped file matches its sha256 and, after `npm ci`,
the file in node_modules; a wheel built from the repository installs them."""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
import zipfile

import pytest

from tests.conftest import REPO
from tfcreative.serve import (
    VENDOR_FILES,
    VENDOR_LIBRARIES,
    make_server,
    read_vendor_manifest,
    vendor_folder,
    vendor_root,
)

NODE_MODULES = os.path.join(REPO, "node_modules")
LOCKFILE = os.path.join(REPO, "package-lock.json")
needs_npm_ci = pytest.mark.skipif(
    not os.path.isdir(NODE_MODULES) and not os.environ.get("CI"),
    reason="needs `npm ci` (node_modules); CI runs it and never skips")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def manifest():
    return read_vendor_manifest()


def test_manifest_versions_and_integrity_are_the_lockfile_s(manifest):
    with open(LOCKFILE) as f:
        locked = json.load(f)["packages"]
    assert [lib["name"] for lib in manifest["libraries"]] == list(VENDOR_LIBRARIES)
    for library in manifest["libraries"]:
        entry = locked[f"node_modules/{library['name']}"]
        assert library["version"] == entry["version"], library["name"]
        assert library["integrity"] == entry["integrity"], library["name"]
        assert library["license"] == entry["license"], library["name"]
        assert library["folder"] == vendor_folder(library["name"], entry["version"])


def test_every_shipped_file_matches_its_checksum_and_has_a_licence(manifest):
    shipped = set()
    for library in manifest["libraries"]:
        folder = os.path.join(vendor_root(), library["folder"])
        assert library["licence_files"], library["name"]
        for name, record in {**library["files"], **library["licence_files"]}.items():
            assert sha256(os.path.join(folder, name)) == record["sha256"], name
        assert sorted(os.listdir(folder)) == sorted([*library["files"],
                                                     *library["licence_files"]])
        shipped |= set(library["files"])
    assert shipped == set(VENDOR_FILES)  # everything the page loads, nothing else
    folders = {lib["folder"] for lib in manifest["libraries"]}
    assert set(os.listdir(vendor_root())) == folders | {"manifest.json"}  # no stale versions


@needs_npm_ci
def test_shipped_files_equal_the_npm_ci_files(manifest):
    with open(LOCKFILE) as f:
        locked = json.load(f)["packages"]
    for library in manifest["libraries"]:
        package = os.path.join(NODE_MODULES, *library["name"].split("/"))
        with open(os.path.join(package, "package.json")) as f:
            assert json.load(f)["version"] == locked[f"node_modules/{library['name']}"]["version"]
        for name, record in library["files"].items():
            assert sha256(os.path.join(package, *record["from"].split("/"))) == \
                record["sha256"], name
    # The script's own check: regenerating from node_modules gives the shipped folder exactly.
    result = subprocess.run([sys.executable, os.path.join(REPO, "tools", "vendor_web_libs.py"),
                             "--check"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_npm_ci
def test_node_modules_override_serves_the_same_bytes(tmp_path):
    servers = [make_server("127.0.0.1", 0, str(tmp_path)),
               make_server("127.0.0.1", 0, str(tmp_path), NODE_MODULES)]
    bodies = []
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host, port = server.server_address[:2]
        bodies.append({name: urllib.request.urlopen(f"http://{host}:{port}/vendor/{name}").read()
                       for name in VENDOR_FILES})
        server.shutdown()
        server.server_close()
    assert bodies[0] == bodies[1]


@pytest.mark.slow
def test_a_wheel_installs_the_libraries(tmp_path, manifest):
    """pip wheel, then pip install into a fresh venv (no dependencies: only our files)."""
    source = tmp_path / "source"  # a copy: the build leaves build/ behind and would reuse it
    for name in ("tfcreative", "datasets", "export"):
        shutil.copytree(os.path.join(REPO, name), source / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(os.path.join(REPO, name), source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(source)], check=True,
                   capture_output=True)
    [wheel] = glob.glob(str(tmp_path / "dist" / "tfcreative-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for library in manifest["libraries"]:
        for name in [*library["files"], *library["licence_files"]]:
            assert f"tfcreative/web/vendor/{library['folder']}/{name}" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--no-deps", "-q", wheel], check=True, capture_output=True)
    [site] = glob.glob(str(venv / "lib" / "python*" / "site-packages"))
    installed = os.path.join(site, "tfcreative", "web", "vendor")
    assert read_vendor_manifest(installed) == manifest
    for library in manifest["libraries"]:
        for name, record in {**library["files"], **library["licence_files"]}.items():
            assert sha256(os.path.join(installed, library["folder"], name)) == record["sha256"]
    print(f"\nwheel {os.path.basename(wheel)}: {os.path.getsize(wheel):,} bytes")
