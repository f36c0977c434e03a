// Colorization in Lab, as tfcreative/pix2pix/colour.py: a model that says `keep_lightness`
// keeps its input's lightness and takes only its colour (Lab's a and b) from its output.
import { labToRgb, rgbToLab } from "./lab.js";
import { roundHalfEven } from "./photo_transforms.js";

// images.to_uint8 of one value in [-1, 1] (float32 arithmetic, halves to even).
export function toUint8(v) {
  return Math.min(255, Math.max(0, roundHalfEven(Math.fround(Math.fround(v + 1) * 127.5))));
}

// colour.with_input_lightness: grey inputs (Lab L as grey) and colour outputs, Float32Arrays
// of RGB triples in [-1, 1] -> the outputs with their Lab lightness replaced by the inputs'.
export function withInputLightness(inputs, outputs) {
  const kept = new Float32Array(outputs.length);
  for (let p = 0; p < outputs.length; p += 3) {
    const lab = rgbToLab([0, 1, 2].map((c) => toUint8(outputs[p + c]) / 255.0));
    lab[0] = (inputs[p] + 1.0) * 50.0;
    labToRgb(lab).forEach((v, c) => { kept[p + c] = v * 2.0 - 1.0; });
  }
  return kept;
}

// colour.lightness_kept: a generator run (tiles, count) -> outputs, then withInputLightness.
export function lightnessKept(run) {
  return async (tiles, count) => withInputLightness(tiles, await run(tiles, count));
}
