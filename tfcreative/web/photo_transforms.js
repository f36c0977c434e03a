// The photo transforms a model's inputs were made by (datasets/pix2pix/photo_transforms.py),
// repeated in the page: `edges` and `sketch` for a drawing model's uploads, `grayscale` for a
// colorization model's, and `fitWithin` (the data builder's scaling of photos larger than
// MAX_SIDE). Images are {width, height, data}: RGBA bytes, as ImageData; each function returns
// a new one of the same size (fitWithin: the scaled size). The settings are Python's; the
// agreement with Python is measured in docs/pix2pix_photos.md ("The transforms in the page").
import { canny, gaussianFilter } from "./canny.js";
import { rgbToLab } from "./lab.js";
import { removeSmallObjects, thin } from "./morphology.js";

export const EDGE_SIGMA = 2.0;
export const EDGE_LOW = 0.05;
export const EDGE_HIGH = 0.12;
export const EDGE_MIN_PIXELS = 20;
export const SKETCH = { sigma: 1.0, k: 1.6, gamma: 0.98, epsilon: -0.01, phi: 200.0 };
export const MAX_SIDE = 1024;  // Pix2PixConfig.max_side
export const IN_THE_PAGE = ["edges", "sketch", "grayscale"];

const f32 = Math.fround;

// NumPy's np.round: halves to even.
export function roundHalfEven(v) {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// skimage.color.rgb2gray of the photo as float32 in [0, 1]: 0.2125 R + 0.7154 G + 0.0721 B,
// accumulated as NumPy's float32 `rgb @ coeffs` does on x86-64 (fused multiply-adds).
export function grey({ width, height, data }) {
  const out = new Float32Array(width * height);
  const [cr, cg, cb] = [f32(0.2125), f32(0.7154), f32(0.0721)];
  for (let k = 0; k < out.length; k++) {
    const [r, g, b] = [0, 1, 2].map((c) => f32(data[4 * k + c] / 255));
    out[k] = b * cb + f32(g * cg + f32(r * cr));
  }
  return out;
}

// Grey levels in [0, 1] (any array) -> RGBA bytes, as _uint8_rgb.
function greyImage(values, width, height) {
  const data = new Uint8ClampedArray(4 * width * height);
  for (let k = 0; k < values.length; k++) {
    const v = Math.min(255, Math.max(0, roundHalfEven(f32(values[k] * 255))));
    data.set([v, v, v, 255], 4 * k);
  }
  return { width, height, data };
}

// Canny (sigma 2, hysteresis 0.05 / 0.12), thinned, 8-connected fragments of fewer than 20
// pixels removed: black lines on white.
export function edges(image) {
  const { width, height } = image;
  const lines = canny(grey(image), width, height, EDGE_SIGMA, EDGE_LOW, EDGE_HIGH);
  const kept = removeSmallObjects(thin(lines, width, height), width, height,
    EDGE_MIN_PIXELS - 1);
  return greyImage(kept.map((line) => (line ? 0 : 1)), width, height);
}

// XDoG: D = G(sigma) - gamma G(k sigma) of the grey image; white where D >= epsilon, else
// 1 + tanh(phi (D - epsilon)), in float32 as NumPy.
export function sketch(image) {
  const { width, height } = image;
  const { sigma, k, gamma, epsilon, phi } = SKETCH;
  const luminance = grey(image);
  const near = gaussianFilter(luminance, width, height, sigma);
  const far = gaussianFilter(luminance, width, height, sigma * k);
  const drawing = near.map((n, i) => {
    const d = f32(n - f32(f32(gamma) * far[i]));
    return d >= f32(epsilon) ? 1 : f32(1 + f32(Math.tanh(f32(f32(phi) * f32(d - f32(epsilon))))));
  });
  return greyImage(drawing, width, height);
}

// Lab's lightness L / 100 as grey (CIE, D65), in float32 as skimage computes it.
export function grayscale(image) {
  const { width, height, data } = image;
  const lightness = new Float32Array(width * height);
  for (let k = 0; k < lightness.length; k++) {
    const rgb = [0, 1, 2].map((c) => f32(data[4 * k + c] / 255));
    lightness[k] = f32(rgbToLab(rgb, f32)[0] / 100);
  }
  return greyImage(lightness, width, height);
}

export const TRANSFORMS = { edges, sketch, grayscale };

// The data builder's fit_within: a photo whose longer side exceeds `maxSide` is scaled down to
// it (each side round(side * maxSide / longer side), halves to even), by
// tf.image.resize(method="area") in float32 as TensorFlow's ResizeArea kernel, then rounded.
export function fitWithin(image, maxSide = MAX_SIDE) {
  const { width, height, data } = image;
  if (Math.max(width, height) <= maxSide) return image;
  const scale = maxSide / Math.max(width, height);
  const outHeight = Math.max(1, roundHalfEven(height * scale));
  const outWidth = Math.max(1, roundHalfEven(width * scale));
  const ys = areaSpans(height, outHeight);
  const xs = areaSpans(width, outWidth);
  const norm = f32(1.0 / f32(ys.scale * xs.scale));
  const out = new Uint8ClampedArray(4 * outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        ys.cells[y].forEach(([row, weightY]) => {
          let sumY = 0;
          xs.cells[x].forEach(([col, weightX]) => {
            const v = data[4 * (Math.min(row, height - 1) * width + Math.min(col, width - 1)) + c];
            sumY = f32(sumY + f32(v * weightX));
          });
          sum = f32(sum + f32(sumY * weightY));
        });
        out[4 * (y * outWidth + x) + c] = roundHalfEven(f32(sum * norm));
      }
      out[4 * (y * outWidth + x) + 3] = 255;
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

// For each output cell of a side scaled from `length` to `size` pixels: the input cells it
// covers with their float32 weights (ResizeArea's start_scale, 1, ..., end_minus_one_scale).
function areaSpans(length, size) {
  const scale = f32(length / size);
  const weight = (i, from, to) => (i < from ? (i + 1 > to ? scale : f32(i + 1 - from))
    : (i + 1 > to ? f32(to - i) : 1.0));
  const cells = Array.from({ length: size }, (_, o) => {
    const from = f32(o * scale);
    const to = f32((o + 1) * scale);
    const start = Math.floor(from);
    const end = Math.ceil(to);
    return Array.from({ length: end - start }, (__, j) => [start + j,
      weight(start + j, from, to)]);
  });
  return { scale, cells };
}
