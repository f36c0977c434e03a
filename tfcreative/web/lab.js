// CIE Lab (D65, 2° observer) as skimage.color computes it (rgb2lab, lab2rgb): sRGB in [0, 1]
// <-> L in [0, 100], a, b. `round` is applied after each operation: identity for float64
// arrays (what colour.py's keep_lightness uses), Math.fround for float32 ones (the `grayscale`
// transform of a uint8 photo).

const XYZ_FROM_RGB = [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
  [0.019334, 0.119193, 0.950227]];
// numpy.linalg.inv(XYZ_FROM_RGB), as skimage's rgb_from_xyz
const RGB_FROM_XYZ = [[3.2404813432005266, -1.5371515162713183, -0.4985363261688878],
  [-0.9692549499965682, 1.8759900014898907, 0.04155592655829284],
  [0.055646639135177166, -0.20404133836651123, 1.0573110696453443]];
const WHITE = [0.95047, 1.0, 1.08883];

const same = (v) => v;

// Linear light of one sRGB value in [0, 1] (skimage's rgb2xyz).
function linear(v, round) {
  return v > round(0.04045) ? round(round(round(v + round(0.055)) / round(1.055)) ** 2.4)
    : round(v / round(12.92));
}

// [L, a, b] of one pixel, r, g, b in [0, 1].
export function rgbToLab(rgb, round = same) {
  const lin = rgb.map((v) => linear(v, round));
  // arr @ xyz_from_rgb.T: NumPy's float32 matmul accumulates with fused multiply-adds
  const xyz = XYZ_FROM_RGB.map((row) => round(lin[2] * round(row[2])
    + round(lin[1] * round(row[1]) + round(lin[0] * round(row[0])))));
  const [fx, fy, fz] = xyz.map((v, i) => {
    const t = round(v / round(WHITE[i]));
    return t > round(0.008856) ? round(Math.cbrt(t))
      : round(round(round(7.787) * t) + round(16.0 / 116.0));
  });
  return [round(round(116.0 * fy) - 16.0), round(500.0 * round(fx - fy)),
    round(200.0 * round(fy - fz))];
}

// [r, g, b] in [0, 1] of one Lab pixel, float64 (skimage's lab2rgb: negative Z clipped to 0,
// the result clipped to [0, 1]).
export function labToRgb([L, a, b]) {
  const y = (L + 16.0) / 116.0;
  const xyz = [(a / 500.0) + y, y, Math.max(0, y - (b / 200.0))].map((t, i) =>
    (t > 0.2068966 ? t ** 3.0 : (t - 16.0 / 116.0) / 7.787) * WHITE[i]);
  return RGB_FROM_XYZ.map((row) => {
    const v = row[0] * xyz[0] + row[1] * xyz[1] + row[2] * xyz[2];
    const s = v > 0.0031308 ? 1.055 * v ** (1 / 2.4) - 0.055 : v * 12.92;
    return Math.min(1, Math.max(0, s));
  });
}
