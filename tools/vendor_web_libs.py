"""Copy the demo page's browser libraries from node_modules into the package.

    npm ci && python tools/vendor_web_libs.py          # rewrite tfcreative/web/vendor/
    python tools/vendor_web_libs.py --check            # exit 1 if it differs from node_modules

The libraries and files are tfcreative.serve.VENDOR_LIBRARIES; their versions are those of
package-lock.json, and node_modules must hold exactly those versions (what `npm ci` installs,
checking each package against the lockfile's integrity hash). Each library goes to
tfcreative/web/vendor/<name>@<version>/ with its licence: the package's own licence files, or,
for packages that ship none (@tensorflow/tfjs*), the text of the licence their package.json
declares, from tools/licenses/. manifest.json records name, version, licence, the lockfile's
integrity and the sha256 and size of every file, so `pip install` serves exactly the locked
npm versions and tests can check that it does. The folder is written next to the old one and
swapped in whole.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tfcreative.files import sha256  # noqa: E402
from tfcreative.serve import VENDOR_LIBRARIES, VENDOR_MANIFEST, vendor_folder  # noqa: E402

LICENSE_TEXTS = os.path.join(REPO, "tools", "licenses")
LICENSE_FILE = re.compile(r"(LICEN[CS]E|COPYING)(-[\w.-]+)?(\.(md|txt|rst))?", re.IGNORECASE)


def locked_packages(lockfile: str) -> dict[str, dict]:
    """package name -> its package-lock.json entry, for the page's libraries."""
    with open(lockfile, encoding="utf-8") as f:
        packages = json.load(f)["packages"]
    locked = {}
    for name in VENDOR_LIBRARIES:
        entry = packages.get(f"node_modules/{name}")
        if entry is None:
            raise SystemExit(f"{lockfile}: no entry for {name} (add it to package.json, then "
                             "`npm install`)")
        locked[name] = entry
    return locked


def licence_sources(package_dir: str, spdx: str) -> dict[str, str]:
    """Shipped licence file name -> source path: the package's own licence files, else the
    text of the licence it declares."""
    own = sorted(n for n in os.listdir(package_dir) if LICENSE_FILE.fullmatch(n)
                 and os.path.isfile(os.path.join(package_dir, n)))
    if own:
        return {name: os.path.join(package_dir, name) for name in own}
    text = os.path.join(LICENSE_TEXTS, f"{spdx}.txt")
    if not os.path.isfile(text):
        raise SystemExit(f"{package_dir} ships no licence file and {text} does not exist: add "
                         f"the text of the {spdx} licence there")
    return {"LICENSE": text}


def build(node_modules: str, lockfile: str, out: str) -> dict:
    """Writes the vendor folder into `out` (which must not exist); returns the manifest."""
    libraries = []
    for name, entry in locked_packages(lockfile).items():
        package_dir = os.path.join(node_modules, *name.split("/"))
        try:
            with open(os.path.join(package_dir, "package.json"), encoding="utf-8") as f:
                installed = json.load(f)["version"]
        except FileNotFoundError:
            raise SystemExit(f"{package_dir}: not installed; run `npm ci`") from None
        if installed != entry["version"]:
            raise SystemExit(f"{package_dir} is version {installed}, package-lock.json locks "
                             f"{entry['version']}: run `npm ci`")
        folder = vendor_folder(name, entry["version"])
        os.makedirs(os.path.join(out, folder))
        files = {}
        for path in VENDOR_LIBRARIES[name]:
            source = os.path.join(package_dir, *path.split("/"))
            target = os.path.join(out, folder, os.path.basename(path))
            shutil.copyfile(source, target)
            files[os.path.basename(path)] = {"from": path, "sha256": sha256(target),
                                             "bytes": os.path.getsize(target)}
        licences = {}
        spdx = entry.get("license", "")
        for licence_name, source in licence_sources(package_dir, spdx).items():
            target = os.path.join(out, folder, licence_name)
            shutil.copyfile(source, target)
            origin = (os.path.relpath(source, package_dir).replace(os.sep, "/")
                      if source.startswith(package_dir) else
                      f"tools/licenses/{os.path.basename(source)} (the package ships no "
                      f"licence file; its package.json declares {spdx})")
            licences[licence_name] = {"from": origin, "sha256": sha256(target)}
        libraries.append({"name": name, "version": entry["version"], "license": spdx,
                          "integrity": entry["integrity"], "folder": folder, "files": files,
                          "licence_files": licences})
    manifest = {
        "about": "Browser libraries of the demo page, copied from node_modules after `npm ci` "
                 "by tools/vendor_web_libs.py (versions and integrity from package-lock.json). "
                 "Do not edit: run the script.",
        "libraries": libraries,
    }
    with open(os.path.join(out, VENDOR_MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def differences(a: str, b: str) -> list[str]:
    """Files that differ between two folder trees (missing on either side included)."""
    found = []
    comparison = filecmp.dircmp(a, b)
    found += [f"only in {a}: {n}" for n in comparison.left_only]
    found += [f"only in {b}: {n}" for n in comparison.right_only]
    _, mismatch, errors = filecmp.cmpfiles(a, b, comparison.common_files, shallow=False)
    found += [f"differs: {n}" for n in mismatch + errors]
    for sub in comparison.common_dirs:
        found += differences(os.path.join(a, sub), os.path.join(b, sub))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--node-modules", default=os.path.join(REPO, "node_modules"))
    parser.add_argument("--lockfile", default=os.path.join(REPO, "package-lock.json"))
    parser.add_argument("--out", default=os.path.join(REPO, "tfcreative", "web", "vendor"))
    parser.add_argument("--check", action="store_true",
                        help="only compare --out with what would be written; exit 1 if they "
                             "differ")
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    scratch = tempfile.mkdtemp(prefix=".vendor-", dir=os.path.dirname(out))
    try:
        fresh = os.path.join(scratch, "vendor")
        manifest = build(args.node_modules, args.lockfile, fresh)
        if args.check:
            found = differences(out, fresh) if os.path.isdir(out) else [f"{out} is missing"]
            for line in found:
                print(line)
            print(f"{out}: {'differs from' if found else 'matches'} the locked npm versions")
            return 1 if found else 0
        old = os.path.join(scratch, "old")
        if os.path.isdir(out):
            os.rename(out, old)
        os.rename(fresh, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for library in manifest["libraries"]:
        size = sum(f["bytes"] for f in library["files"].values())
        print(f"{library['name']} {library['version']}: {len(library['files'])} file(s), "
              f"{size / 1e6:.2f} MB -> {os.path.join(out, library['folder'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
