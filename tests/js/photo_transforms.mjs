// Runs the page's photo transforms (tfcreative/web/photo_transforms.js) in Node on raw RGBA
// files, for comparison with Python's.
//   stdin:  {"jobs": [{"input": "x.rgba", "width": w, "height": h, "transform": "edges" |
//            "sketch" | "grayscale" | "fit_within", "max_side": n (fit_within; null: the
//            page's), "output": "y.rgba"}]}
//   stdout: {"results": [{"width": w, "height": h}], "settings": {...}}: each output's size
//           (its bytes: "output"), and the settings the page's transforms use
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.join(here, "..", "..", "tfcreative", "web");
const transforms = await import(pathToFileURL(path.join(web, "photo_transforms.js")).href);
const { TRANSFORMS, fitWithin } = transforms;
const settings = Object.fromEntries(["EDGE_SIGMA", "EDGE_LOW", "EDGE_HIGH", "EDGE_MIN_PIXELS",
  "SKETCH", "MAX_SIDE", "IN_THE_PAGE"].map((name) => [name, transforms[name]]));
const run = {
  ...TRANSFORMS, fit_within: (image, job) => fitWithin(image, job.max_side ?? undefined),
};

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const results = request.jobs.map((job) => {
  const data = new Uint8ClampedArray(fs.readFileSync(job.input));
  const made = run[job.transform]({ width: job.width, height: job.height, data }, job);
  fs.writeFileSync(job.output, made.data);
  return { width: made.width, height: made.height };
});
process.stdout.write(JSON.stringify({ results, settings }));
