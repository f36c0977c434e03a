// Canny edges of a grey image as scikit-image 0.26 computes them, step by step, so that the
// page's edge maps are the pixels `photo_transforms.edges` gives (docs/pix2pix_photos.md, "edges
// in the page": the measured agreement). The ports follow the libraries' code:
//  * gaussianFilter: scipy.ndimage.gaussian_filter (skimage.filters.gaussian), kernel radius
//    int(truncate * sigma + 0.5), weights summed as NumPy's pairwise sum, each line in doubles
//    and stored as float32, axis 0 first; borders replicated (mode "nearest");
//  * sobel: scipy.ndimage.sobel, [-1, 0, 1] along the axis, then [1, 2, 1] across it;
//  * canny: skimage.feature.canny(mode="nearest", no mask): the gradient magnitude in float32,
//    non-maximum suppression with the bilinear interpolation of its Cython code (float32
//    thresholds), hysteresis with 8-connectivity.
// Images are Float32Array, row-major, `width` values per row.
import { forEachNeighbour } from "./morphology.js";

// NumPy's pairwise summation (np.sum of a float64 array of up to 128 values).
function pairwiseSum(values) {
  if (values.length < 8) return values.reduce((sum, v) => sum + v, 0);
  if (values.length > 128) throw new Error("pairwiseSum: up to 128 values");
  const r = values.slice(0, 8);
  let i = 8;
  for (; i < values.length - (values.length % 8); i += 8) {
    for (let j = 0; j < 8; j++) r[j] += values[i + j];
  }
  let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < values.length; i++) sum += values[i];
  return sum;
}

// scipy.ndimage's _gaussian_kernel1d(sigma, 0, radius), float64.
export function gaussianKernel(sigma, truncate = 4.0) {
  const radius = Math.trunc(truncate * sigma + 0.5);
  const sigma2 = sigma * sigma;
  const phi = Array.from({ length: 2 * radius + 1 },
    (_, i) => Math.exp(-0.5 / sigma2 * ((i - radius) ** 2)));
  const sum = pairwiseSum(phi);
  return phi.map((v) => v / sum);
}

// scipy.ndimage.correlate1d of a symmetric (sign 1) or antisymmetric (sign -1) kernel of odd
// length along `axis`, borders replicated (for a 3-tap kernel, mode "reflect" is the same), in
// the order of scipy's C loop: centre first, then the outermost pair inwards.
function correlate1d(image, width, height, kernel, axis, sign) {
  const out = new Float32Array(image.length);
  const radius = (kernel.length - 1) / 2;
  const [length, lines, step, lineStep] = axis === 0 ? [height, width, width, 1]
    : [width, height, 1, width];
  const line = new Float64Array(length + 2 * radius);
  for (let l = 0; l < lines; l++) {
    const first = l * lineStep;
    for (let i = -radius; i < length + radius; i++) {
      line[i + radius] = image[first + Math.min(length - 1, Math.max(0, i)) * step];
    }
    for (let i = 0; i < length; i++) {
      const c = i + radius;
      let sum = line[c] * kernel[radius];
      for (let j = radius; j > 0; j--) {
        sum += (sign > 0 ? line[c - j] + line[c + j] : line[c - j] - line[c + j])
          * kernel[radius - j];
      }
      out[first + i * step] = sum;  // rounded to float32, as scipy's (float) cast
    }
  }
  return out;
}

export function gaussianFilter(image, width, height, sigma) {
  const kernel = gaussianKernel(sigma);
  const rows = correlate1d(image, width, height, kernel, 0, 1);
  return correlate1d(rows, width, height, kernel, 1, 1);
}

// scipy.ndimage.sobel(image, axis): the derivative along `axis`, smoothed across it.
export function sobel(image, width, height, axis) {
  const derivative = correlate1d(image, width, height, [-1, 0, 1], axis, -1);
  return correlate1d(derivative, width, height, [1, 2, 1], 1 - axis, 1);
}

const f32 = Math.fround;

// skimage's _nonmaximum_suppression_bilinear (float32 images): the magnitude where it is at
// least `low` and a maximum along the gradient, else 0; the outermost pixels are 0.
function nonMaximumSuppression(isobel, jsobel, magnitude, width, height, low) {
  const out = new Float32Array(magnitude.length);
  const at = (x, y) => magnitude[x * width + y];
  for (let x = 1; x < height - 1; x++) {
    for (let y = 1; y < width - 1; y++) {
      const k = x * width + y;
      const m = magnitude[k];
      if (!(m >= low)) continue;
      const is = isobel[k];
      const js = jsobel[k];
      const cond1 = (is >= 0 && js >= 0) || (is <= 0 && js <= 0);
      const cond2 = (is <= 0 && js >= 0) || (is >= 0 && js <= 0);
      if (!cond1 && !cond2) continue;
      const ai = Math.abs(is);
      const aj = Math.abs(js);
      let w, n11, n12, n21, n22;
      if (cond1) {
        if (ai > aj) {
          w = f32(aj / ai);
          [n11, n12, n21, n22] = [at(x + 1, y), at(x + 1, y + 1), at(x - 1, y), at(x - 1, y - 1)];
        } else {
          w = f32(ai / aj);
          [n11, n12, n21, n22] = [at(x, y + 1), at(x + 1, y + 1), at(x, y - 1), at(x - 1, y - 1)];
        }
      } else if (ai < aj) {
        w = f32(ai / aj);
        [n11, n12, n21, n22] = [at(x, y + 1), at(x - 1, y + 1), at(x, y - 1), at(x + 1, y - 1)];
      } else {
        w = f32(aj / ai);
        [n11, n12, n21, n22] = [at(x - 1, y), at(x - 1, y + 1), at(x + 1, y), at(x + 1, y - 1)];
      }
      // float * float in float32, the rest in double (the C expression's types)
      if (f32(n12 * w) + n11 * (1.0 - w) <= m && f32(n22 * w) + n21 * (1.0 - w) <= m) {
        out[k] = m;
      }
    }
  }
  return out;
}

// Pixels of `candidates` (> 0) 8-connected to one of at least `high`: ndimage.label's
// components that hold a strong pixel.
function hysteresis(candidates, width, height, high) {
  const edges = new Uint8Array(candidates.length);
  const stack = [];
  candidates.forEach((v, k) => {
    if (v > 0 && v >= high) { edges[k] = 1; stack.push(k); }
  });
  while (stack.length) {
    forEachNeighbour(stack.pop(), width, height, (n) => {
      if (!edges[n] && candidates[n] > 0) { edges[n] = 1; stack.push(n); }
    });
  }
  return edges;
}

// skimage.feature.canny(grey, sigma, low, high, mode="nearest") -> Uint8Array, 1 on edges.
export function canny(grey, width, height, sigma, low, high) {
  const smoothed = gaussianFilter(grey, width, height, sigma);
  const jsobel = sobel(smoothed, width, height, 1);
  const isobel = sobel(smoothed, width, height, 0);
  const magnitude = new Float32Array(grey.length);
  for (let k = 0; k < grey.length; k++) {
    magnitude[k] = Math.sqrt(f32(f32(isobel[k] * isobel[k]) + f32(jsobel[k] * jsobel[k])));
  }
  const candidates = nonMaximumSuppression(isobel, jsobel, magnitude, width, height, f32(low));
  return hysteresis(candidates, width, height, f32(high));
}
