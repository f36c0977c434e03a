"""Writes tfcreative/web/abc_meter_tables.json for the demo page's meter tracker
(web/abc_meter.js): the ABC tune grammar's state tables (tfcreative/music/abc_grammar.py) and
the rhythm rules (tfcreative/music/meter_rules.py) traced into programs (meter_program.py).

    python tools/write_meter_tables.py          # after changing abc_grammar.py or meter_rules.py
    python tools/write_meter_tables.py --check  # exit 1 if the shipped file differs

tests/test_meter_js.py checks the shipped file is what this writes.
"""

import argparse
import os
import sys

from tfcreative.music.meter_program import tracker_json

TABLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tfcreative",
                      "web", "abc_meter_tables.json")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args()
    text = tracker_json() + "\n"
    if args.check:
        with open(TABLES, encoding="utf-8") as f:
            same = f.read() == text
        print(f"{TABLES}: {'up to date' if same else 'differs: run tools/write_meter_tables.py'}")
        return 0 if same else 1
    with open(TABLES + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(TABLES + ".tmp", TABLES)
    print(f"{TABLES}: {len(text) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
