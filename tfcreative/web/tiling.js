// Images of any size through a generator of one size: overlapping tiles, blended seams. The
// integer rule of tfcreative/pix2pix/tiling.py, line for line (its docstring explains it), in
// float32 as NumPy, so the page's output is `translate --tiles`'s up to the model's own float
// differences between TF.js and TensorFlow.

export const TILES_PER_CALL = 8;  // tiles run through the generator together

// tiling.tile_starts: where tiles of `tile` pixels start along a side of `length`.
export function tileStarts(length, tile, overlap) {
  if (length <= tile) return [0];
  const count = Math.ceil((length - overlap) / (tile - overlap));
  return Array.from({ length: count }, (_, i) => Math.floor(i * (length - tile) / (count - 1)));
}

// tiling.tile_weights: w(t) = min(1, (t + 1) / (O + 1), (S - t) / (O + 1)), float32.
export function tileWeights(tile, overlap) {
  return Float32Array.from({ length: tile },
    (_, t) => Math.min(1, Math.fround(Math.min(t + 1, tile - t) / (overlap + 1))));
}

// tiling.translate_tiled: `run(tiles, count)` (a Float32Array of `count` tiles [h, w, 3] in
// [-1, 1] -> a Promise of their outputs, the same layout) over `image` ({width, height, data:
// Float32Array [h, w, 3] in [-1, 1]}) in overlapping tiles of `tileShape` [h, w] -> the
// blended output, the image's size. Also returns how many tiles it ran.
export async function translateTiled(run, image, tileShape, overlapDivisor) {
  const [tileH, tileW] = tileShape;
  const padded = padTo(image, tileH, tileW);
  const [overlapH, overlapW] = [Math.floor(tileH / overlapDivisor),
    Math.floor(tileW / overlapDivisor)];
  const [weightH, weightW] = [tileWeights(tileH, overlapH), tileWeights(tileW, overlapW)];
  const total = new Float32Array(padded.data.length);
  const weights = new Float32Array(padded.width * padded.height);
  const corners = tileStarts(padded.height, tileH, overlapH).flatMap(
    (top) => tileStarts(padded.width, tileW, overlapW).map((left) => [top, left]));
  const tileSize = tileH * tileW * 3;
  for (let first = 0; first < corners.length; first += TILES_PER_CALL) {
    const batch = corners.slice(first, first + TILES_PER_CALL);
    const tiles = new Float32Array(batch.length * tileSize);
    batch.forEach(([top, left], i) => {
      for (let y = 0; y < tileH; y++) {
        const from = 3 * ((top + y) * padded.width + left);
        tiles.set(padded.data.subarray(from, from + 3 * tileW), i * tileSize + 3 * y * tileW);
      }
    });
    const outputs = await run(tiles, batch.length);
    batch.forEach(([top, left], i) => {
      for (let y = 0; y < tileH; y++) {
        for (let x = 0; x < tileW; x++) {
          const weight = Math.fround(weightH[y] * weightW[x]);
          const pixel = (top + y) * padded.width + left + x;
          weights[pixel] += weight;
          for (let c = 0; c < 3; c++) {
            total[3 * pixel + c] += Math.fround(outputs[i * tileSize + 3 * (y * tileW + x) + c]
              * weight);
          }
        }
      }
    });
  }
  const out = new Float32Array(image.width * image.height * 3);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const pixel = y * padded.width + x;
      for (let c = 0; c < 3; c++) {
        out[3 * (y * image.width + x) + c] = total[3 * pixel + c] / weights[pixel];
      }
    }
  }
  return { width: image.width, height: image.height, data: out, tiles: corners.length };
}

// The image padded to at least height x width by repeating its last row and column.
function padTo(image, height, width) {
  const [h, w] = [Math.max(height, image.height), Math.max(width, image.width)];
  if (h === image.height && w === image.width) return image;
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = 3 * (Math.min(y, image.height - 1) * image.width + Math.min(x, image.width - 1));
      data.set(image.data.subarray(from, from + 3), 3 * (y * w + x));
    }
  }
  return { width: w, height: h, data };
}
