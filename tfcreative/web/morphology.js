// Binary morphology as scikit-image 0.26 does it, on Uint8Array masks (1 = foreground),
// row-major, `width` per row: thinning to one-pixel lines (skimage.morphology.thin) and
// removing small 8-connected fragments (skimage.morphology.remove_small_objects).

// skimage's G123_LUT and G123P_LUT (its _generate_thin_luts; Guo and Hall 1989): for each
// neighbourhood code (below), whether the centre pixel is deleted in the first and the second
// sub-iteration. bit(n, i): neighbour i, counted from the east anticlockwise.
function thinLuts() {
  const first = new Uint8Array(256);
  const second = new Uint8Array(256);
  for (let n = 0; n < 256; n++) {
    const bit = (i) => (n >> (i % 8)) & 1;
    let crossings = 0;
    for (const i of [0, 2, 4, 6]) if (!bit(i) && (bit(i + 1) || bit(i + 2))) crossings += 1;
    let n1 = 0;
    let n2 = 0;
    for (const k of [1, 3, 5, 7]) {
      if (bit(k) || bit(k - 1)) n1 += 1;
      if (bit(k) || bit(k + 1)) n2 += 1;
    }
    const g12 = crossings === 1 && [2, 3].includes(Math.min(n1, n2));
    first[n] = g12 && !((bit(1) || bit(2) || !bit(7)) && bit(0)) ? 1 : 0;
    second[n] = g12 && !((bit(5) || bit(6) || !bit(3)) && bit(4)) ? 1 : 0;
  }
  return [first, second];
}
// Calls visit(n) for each pixel n of the 3x3 block around pixel k (k itself included, as
// scikit-image's connectivity-2 flood fills visit it) inside a width x height image, row by
// row: k = row * width + column.
export function forEachNeighbour(k, width, height, visit) {
  const x = Math.floor(k / width);
  const y = k - x * width;
  for (let dx = -1; dx <= 1; dx++) {
    for (let dy = -1; dy <= 1; dy++) {
      const nx = x + dx;
      const ny = y + dy;
      if (nx < 0 || ny < 0 || nx >= height || ny >= width) continue;
      visit(nx * width + ny);
    }
  }
}

export const THIN_LUTS = thinLuts();

// The neighbourhood code of each pixel: ndimage.correlate(skel, [[8, 4, 2], [16, 0, 1],
// [32, 64, 128]], mode="constant").
const WEIGHTS = [[-1, -1, 8], [-1, 0, 4], [-1, 1, 2], [0, -1, 16], [0, 1, 1], [1, -1, 32],
  [1, 0, 64], [1, 1, 128]];

function neighbourhoodCodes(mask, width, height) {
  const codes = new Uint8Array(mask.length);
  for (let x = 0; x < height; x++) {
    for (let y = 0; y < width; y++) {
      let code = 0;
      for (const [dx, dy, weight] of WEIGHTS) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx >= 0 && ny >= 0 && nx < height && ny < width && mask[nx * width + ny]) {
          code += weight;
        }
      }
      codes[x * width + y] = code;
    }
  }
  return codes;
}

// skimage.morphology.thin: both sub-iterations until a pass deletes nothing.
export function thin(mask, width, height) {
  const skel = Uint8Array.from(mask);
  let deleted = true;
  while (deleted) {
    deleted = false;
    for (const lut of THIN_LUTS) {
      const codes = neighbourhoodCodes(skel, width, height);
      for (let k = 0; k < skel.length; k++) {
        if (skel[k] && lut[codes[k]]) { skel[k] = 0; deleted = true; }
      }
    }
  }
  return skel;
}

// skimage.morphology.remove_small_objects(mask, max_size, connectivity=2): 8-connected
// fragments of at most `maxSize` pixels are removed.
export function removeSmallObjects(mask, width, height, maxSize) {
  const out = Uint8Array.from(mask);
  const seen = new Uint8Array(mask.length);
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const piece = [start];
    seen[start] = 1;
    for (let i = 0; i < piece.length; i++) {
      forEachNeighbour(piece[i], width, height, (n) => {
        if (mask[n] && !seen[n]) { seen[n] = 1; piece.push(n); }
      });
    }
    if (piece.length <= maxSize) piece.forEach((k) => { out[k] = 0; });
  }
  return out;
}
