// Pix2Pix translation in the browser with the exported generator (input_image -> output_image),
// as `tfcreative pix2pix translate` runs it (tfcreative/pix2pix/translate.py): a model trained
// on photos (tfcreative.json's "tiling") in overlapping tiles at the image's own scale, any
// other at its own size; a colorization model ("keep_lightness") keeps its input's lightness.
import { lightnessKept, toUint8 } from "./colour.js";
import { translateTiled } from "./tiling.js";

// The generator on `count` images of the model's size (Float32Array [count, h, w, 3] in
// [-1, 1]) -> a Promise of its outputs, the same layout.
function generatorRun(pix2pix) {
  const [height, width] = pix2pix.meta.image_shape;
  const node = pix2pix.meta.output_nodes.output_image;
  return async (images, count) => {
    const output = tf.tidy(() => pix2pix.model.execute(
      { input_image: tf.tensor4d(images, [count, height, width, 3]) }, node));
    const data = await output.data();
    output.dispose();
    return data;
  };
}

// RGBA bytes -> RGB floats in [-1, 1], as translate reads a picture (uint8 / 255 * 2 - 1).
function modelRange({ width, height, data }) {
  const rgb = new Float32Array(width * height * 3);
  for (let k = 0; k < width * height; k++) {
    for (let c = 0; c < 3; c++) {
      rgb[3 * k + c] = Math.fround(Math.fround(data[4 * k + c] / 255) * 2) - 1;
    }
  }
  return { width, height, data: rgb };
}

function rgbaBytes({ width, height, data }) {
  const bytes = new Uint8ClampedArray(width * height * 4);
  for (let k = 0; k < width * height; k++) {
    bytes.set([toUint8(data[3 * k]), toUint8(data[3 * k + 1]), toUint8(data[3 * k + 2]), 255],
      4 * k);
  }
  return { width, height, data: bytes };
}

// Translates `image` ({width, height, data: RGBA bytes}) -> {image (the same size), ms (pixels
// in to pixels out), tiles (generator runs on one tile each)}. A model without tiling takes
// images of its own size only.
export async function translateImage(pix2pix, image) {
  const start = performance.now();
  const { meta } = pix2pix;
  let run = generatorRun(pix2pix);
  if (meta.keep_lightness) run = lightnessKept(run);
  const input = modelRange(image);
  let output;
  if (meta.tiling) {
    output = await translateTiled(run, input, meta.tiling.tile, meta.tiling.overlap_divisor);
  } else {
    const [height, width] = meta.image_shape;
    if (image.width !== width || image.height !== height) {
      throw new Error(`this model takes ${width}×${height} images, not ` +
        `${image.width}×${image.height}`);
    }
    output = { ...input, data: await run(input.data, 1), tiles: 1 };
  }
  return { image: rgbaBytes(output), ms: performance.now() - start, tiles: output.tiles };
}

// Translates the picture on `inputCanvas` onto `outputCanvas` (made the same size).
export async function translateCanvas(pix2pix, inputCanvas, outputCanvas) {
  const { width, height } = inputCanvas;
  const image = inputCanvas.getContext("2d").getImageData(0, 0, width, height);
  const result = await translateImage(pix2pix, image);
  outputCanvas.width = width;
  outputCanvas.height = height;
  outputCanvas.getContext("2d").putImageData(
    new ImageData(result.image.data, width, height), 0, 0);
  return result;
}

// Draws an uploaded image at the model's size. Nearest-neighbour scaling keeps a label map's
// colours exact (the training pipeline resizes label maps the same way).
export function drawImageAtSize(image, canvas, size) {
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(image, 0, 0, size, size);
}
