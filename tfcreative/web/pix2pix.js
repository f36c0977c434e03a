// Pix2Pix translation in the browser with the exported generator (input_image -> output_image).

// Translates the picture on `inputCanvas` (model size) onto `outputCanvas`; returns the time
// from pixels in to pixels out (inference plus conversions), in ms.
export async function translate(pix2pix, inputCanvas, outputCanvas) {
  const start = performance.now();
  const output = tf.tidy(() => {
    const x = tf.browser.fromPixels(inputCanvas).toFloat().div(127.5).sub(1).expandDims(0);
    return pix2pix.model.execute({ input_image: x }, pix2pix.meta.output_nodes.output_image);
  });
  const pixels = tf.tidy(() => output.squeeze(0).add(1).mul(127.5).round().clipByValue(0, 255)
    .toInt());
  await tf.browser.toPixels(pixels, outputCanvas);
  output.dispose(); pixels.dispose();
  return { ms: performance.now() - start };
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
