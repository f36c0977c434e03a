// Generates a tune with the demo's generateTune (tfcreative/web/music.js) and its optional
// MeterTracker, from a stand-in model whose logits are all equal (a uniform walk), so the
// meter alone shapes the tune. stdin: {"tables": {...}, "characters": "...", "seed": "X:1\nT:",
//   "max_length": n, "random_seed": n, "meter": bool, "settings": {...} (optional: the
//   tracker's settings registers, e.g. the form's)}; stdout: generateTune's result.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const load = (name) => import("data:text/javascript;base64," + fs.readFileSync(
  path.join(here, "..", "..", "tfcreative", "web", name)).toString("base64"));
const { generateTune } = await load("music.js");
const { MeterTracker } = await load("abc_meter.js");

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const characters = [...request.characters];
const stand = { dispose() {} };
globalThis.tf = { tensor1d: () => stand, zeros: () => stand };  // all music.js needs of TF.js
const flat = new Float32Array(characters.length + 1);
const model = {
  execute: () => [{ data: async () => flat, dispose() {} }, stand, stand],
};
const meta = { characters, num_layers: 1, lstm_units: 1,
               output_nodes: { logits: "logits", h: "h", c: "c" } };
const meter = request.meter
  ? new MeterTracker(request.tables, characters, request.settings || {}) : null;
const tune = await generateTune({ model, meta }, request.seed, 1.0, request.max_length,
                                request.random_seed, meter);
process.stdout.write(JSON.stringify(tune));
