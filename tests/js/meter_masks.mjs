// Follows texts with the browser's MeterTracker (tfcreative/web/abc_meter.js) and prints, for
// each text, the mask before every character as a string of 0/1 per id, and the verdict.
//   stdin:  {"tables": {...abc_grammar tables JSON...}, "characters": "...", "texts": [...],
//            "settings": {...}}  (optional: the tracker's settings registers, e.g. the form's)
//   stdout: {"results": [{"masks": ["0101...", ...], "lost": bool, "violations": n}]}
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = fs.readFileSync(path.join(here, "..", "..", "tfcreative", "web", "abc_meter.js"));
// the module is an ES module for the browser; load it as one whatever the file extension
const { MeterTracker } = await import(
  "data:text/javascript;base64," + source.toString("base64"));

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const characters = [...request.characters];
const ids = new Map(characters.map((ch, i) => [ch, i + 1]));
const results = request.texts.map((text) => {
  const tracker = new MeterTracker(request.tables, characters, request.settings || {});
  const masks = [];
  for (const ch of text) {
    masks.push(Array.from(tracker.allowed()).join(""));
    tracker.advance(ids.get(ch) ?? 0);
  }
  masks.push(Array.from(tracker.allowed()).join(""));
  return { masks, lost: tracker.lost, violations: tracker.violations };
});
process.stdout.write(JSON.stringify({ results }));
