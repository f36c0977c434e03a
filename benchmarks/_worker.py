"""Runs one benchmark in this process and writes its result, with peak RSS, as JSON."""

from __future__ import annotations

import importlib
import json
import sys

from benchmarks._harness import peak_rss_mib


def main() -> None:
    name, out_path = sys.argv[1], sys.argv[2]
    module = importlib.import_module(f"benchmarks.{name}")
    result = module.run(quick="--quick" in sys.argv[3:])
    result.update(name=name, peak_rss_mib=peak_rss_mib())
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
