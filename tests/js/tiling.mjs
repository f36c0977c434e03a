// Runs the page's tiling (tfcreative/web/tiling.js) in Node, for comparison with tiling.py.
//   stdin:  {"starts": [[length, tile, overlap], ...], "weights": [[tile, overlap], ...],
//            "images": [{"input": "x.f32", "width": w, "height": h, "tile": [th, tw],
//                        "overlap_divisor": d, "output": "y.f32"}]}
//           images: float32 RGB, translated by a stand-in generator that mirrors each tile
//           left to right (so that overlapping tiles disagree and the blending shows)
//   stdout: {"starts": [[...], ...], "weights": [[...], ...], "tiles": [n, ...]}
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const { tileStarts, tileWeights, translateTiled } = await import(pathToFileURL(
  path.join(here, "..", "..", "tfcreative", "web", "tiling.js")).href);

function mirrored(tileShape) {
  const [height, width] = tileShape;
  return async (tiles, count) => {
    const out = new Float32Array(tiles.length);
    for (let n = 0; n < count; n++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const from = 3 * ((n * height + y) * width + (width - 1 - x));
          out.set(tiles.subarray(from, from + 3), 3 * ((n * height + y) * width + x));
        }
      }
    }
    return out;
  };
}

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const tiles = [];
for (const job of request.images) {
  const data = new Float32Array(new Uint8Array(fs.readFileSync(job.input)).buffer);
  const made = await translateTiled(mirrored(job.tile), { width: job.width, height: job.height,
    data }, job.tile, job.overlap_divisor);
  fs.writeFileSync(job.output, new Uint8Array(made.data.buffer));
  tiles.push(made.tiles);
}
process.stdout.write(JSON.stringify({
  starts: request.starts.map(([length, tile, overlap]) => tileStarts(length, tile, overlap)),
  weights: request.weights.map(([tile, overlap]) => Array.from(tileWeights(tile, overlap))),
  tiles,
}));
