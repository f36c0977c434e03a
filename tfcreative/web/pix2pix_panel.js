// The page's Pix2Pix panel: what it offers follows what the model was trained on (its
// tfcreative.json, docs/serving.md "In-browser demo"):
//  * "drawing" (input_transform edges or sketch): a pen of black lines on white, an eraser,
//    "Start again", and "Upload a photo" (its edges or sketch made in the page);
//  * "photo" (another photo transform, or a model that tiles): "Upload a photo", made into the
//    model's input in the page where the page can (grayscale), else taken as it is;
//  * "labels" (label maps, e.g. the synthetic_facades preset): the label-map painter.
// Photos larger than MAX_SIDE are scaled down first, as in training; a model that tiles
// translates images of any size in tiles (tiling.js), output at the input's size.
import { FACADE_CLASSES, LabelPainter } from "./label_painter.js";
import { LinePainter } from "./line_painter.js";
import { IN_THE_PAGE, TRANSFORMS, fitWithin } from "./photo_transforms.js";
import { drawImageAtSize, translateCanvas } from "./pix2pix.js";

const $ = (id) => document.getElementById(id);
const DRAWN = ["edges", "sketch"];
const TITLES = {
  edges: "edges → photo", sketch: "sketch → photo", grayscale: "grey → colour",
  masked: "photo with holes → whole photo", downscaled: "low resolution → detail",
  blurred: "blurred → sharp",
};

export function panelKind(meta) {
  if (DRAWN.includes(meta.input_transform)) return "drawing";
  return meta.input_transform || meta.tiling ? "photo" : "labels";
}

// Canvases are shown with their longer side at 256 px (small ones magnified, pixels sharp)
// up to 300 px (large ones reduced: photo, input and output side by side).
function showAtScale(canvas) {
  const longer = Math.max(canvas.width, canvas.height);
  const scale = longer <= 256 ? 256 / longer : Math.min(1, 300 / longer);
  canvas.style.width = `${Math.round(canvas.width * scale)}px`;
  canvas.style.height = `${Math.round(canvas.height * scale)}px`;
  canvas.style.imageRendering = scale >= 1 ? "pixelated" : "auto";
}

function pixelsOf(canvas) {
  return canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
}

function drawOn(canvas, { width, height, data }) {
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(data, width, height), 0, 0);
  showAtScale(canvas);
}

// An uploaded file's pixels as translate reads them: transparency over white.
async function readPhoto(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file,
      { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new Error(`${file.name}: not an image this browser can read (PNG, JPEG, ...)`);
  }
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return pixelsOf(canvas);
}

// Pix2Pix work one task at a time, in order; a translation asked for while one is waiting is
// the same translation.
function workQueue(onError) {
  let tail = Promise.resolve();
  let waiting = null;
  const add = (task) => {
    tail = tail.then(task).catch(onError);
    return tail;
  };
  return {
    add,
    translateSoon(translate) {
      if (!waiting) waiting = add(() => { waiting = null; return translate(); });
      return waiting;
    },
    // Resolves once nothing is left to do (tasks may queue more tasks).
    async settled() {
      let last;
      do { last = tail; await last; } while (last !== tail);
    },
  };
}

export function setUpPix2pix(pix2pix) {
  const { meta } = pix2pix;
  const kind = panelKind(meta);
  const inputCanvas = $("input-canvas");
  const outputCanvas = $("output-canvas");
  const queue = workQueue((error) => { $("pix2pix-timing").textContent = String(error); });
  const translateNow = async () => {
    const result = await translateCanvas(pix2pix, inputCanvas, outputCanvas);
    showAtScale(outputCanvas);
    const [tileH, tileW] = meta.image_shape;
    const tiles = meta.tiling ? ` in ${result.tiles} tile${result.tiles === 1 ? "" : "s"} of ` +
      `${tileW}×${tileH}` : "";
    $("pix2pix-timing").textContent = `${inputCanvas.width}×${inputCanvas.height} px${tiles}: ` +
      `inference ${result.ms.toFixed(1)} ms (${tf.getBackend()})`;
    return { width: inputCanvas.width, height: inputCanvas.height, ms: result.ms,
             tiles: result.tiles };
  };
  const translateSoon = () => queue.translateSoon(translateNow);
  $("pix2pix-title").textContent = `Pix2Pix: ${kind === "labels" ? "label map → facade"
    : TITLES[meta.input_transform] || "your image → output"}`;
  const panel = kind === "labels"
    ? setUpLabels(meta, inputCanvas, translateSoon)
    : setUpPhotos(meta, kind, inputCanvas, translateSoon, queue);
  showAtScale(inputCanvas);
  return { kind, painter: panel.painter, translateCanvas: translateSoon, settled: queue.settled };
}

function setUpLabels(meta, inputCanvas, translateSoon) {
  const [height, width] = meta.image_shape;
  if (height !== width) {
    throw new Error(`this page draws square label maps; the pix2pix model is ${height}×${width}`);
  }
  const size = height;
  $("label-tools").hidden = false;
  $("pix2pix-help").textContent =
    "Draw with the mouse (the output follows every change), or upload a label map.";
  $("input-caption").textContent = "label map";
  const painter = new LabelPainter(inputCanvas, size, translateSoon);
  painter.drawStarter();
  const palette = $("palette");
  FACADE_CLASSES.forEach((cls, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = cls.name;
    button.dataset.classIndex = String(i);
    button.style.setProperty("--swatch", `rgb(${cls.rgb.join(",")})`);
    button.setAttribute("aria-pressed", String(i === painter.classIndex));
    button.addEventListener("click", () => {
      painter.classIndex = i;
      palette.querySelectorAll("button").forEach(
        (b) => b.setAttribute("aria-pressed", String(b === button)));
    });
    palette.append(button);
  });
  $("tool").addEventListener("change", () => { painter.tool = $("tool").value; });
  $("brush-size").value = String(painter.brushSize);
  $("brush-size").addEventListener("change", () => {
    painter.brushSize = Math.max(1, Number($("brush-size").value));
  });
  $("starter").addEventListener("click", () => { painter.drawStarter(); translateSoon(); });
  $("label-file").disabled = false;
  $("label-file").addEventListener("change", async () => {
    const image = await createImageBitmap($("label-file").files[0]);
    drawImageAtSize(image, inputCanvas, size);
    translateSoon();
  });
  return { painter };
}

function setUpPhotos(meta, kind, inputCanvas, translateSoon, queue) {
  const [height, width] = meta.image_shape;
  const transform = meta.input_transform;
  const made = IN_THE_PAGE.includes(transform);
  $("photo-tools").hidden = false;
  const caption = transform ? `${transform} (the model's input)` : "input";
  $("input-caption").textContent = caption;
  let painter = null;
  if (kind === "drawing") {
    $("drawing-tools").hidden = false;
    $("pix2pix-help").textContent = `Draw black lines on white with the pen (the model learnt ` +
      `from the ${transform} of photos), rub out with the eraser, or upload a photo: the page ` +
      `makes its ${transform} as training did, to draw on. The output follows every change.`;
    painter = new LinePainter(inputCanvas, translateSoon);
    painter.clear(width, height);
    $("line-tool").addEventListener("change", () => { painter.tool = $("line-tool").value; });
    $("eraser-size").value = String(painter.eraserSize);
    $("eraser-size").addEventListener("change", () => {
      painter.eraserSize = Math.max(1, Number($("eraser-size").value));
    });
    $("clear").addEventListener("click", () => {
      $("photo-figure").hidden = true;
      $("input-caption").textContent = caption;
      painter.clear(width, height);
      showAtScale(inputCanvas);
      translateSoon();
    });
  } else {
    $("pix2pix-help").textContent = made
      ? `Upload a photo: the page makes its ${transform} version, as in training, and the ` +
        "model translates it." : "Upload an image: it is the model's input as it is.";
    const white = new Uint8ClampedArray(4 * width * height).fill(255);
    drawOn(inputCanvas, { width, height, data: white });
  }
  $("photo-file").disabled = false;
  $("photo-file").addEventListener("change", () => queue.add(async () => {
    let photo = fitWithin(await readPhoto($("photo-file").files[0]));
    if (!meta.tiling) photo = atSize(photo, width, height);  // the model's size only
    drawOn($("photo-canvas"), photo);
    $("photo-figure").hidden = false;
    const start = performance.now();
    drawOn(inputCanvas, made ? TRANSFORMS[transform](photo) : photo);
    $("input-caption").textContent = made ? `${transform} (the model's input), made in the ` +
      `page in ${(performance.now() - start).toFixed(0)} ms` : caption;
    translateSoon();  // queued after this task: not awaited here
  }));
  return { painter };
}

// The image scaled to width x height by the browser (a model without tiling takes its size).
function atSize(image, width, height) {
  const source = document.createElement("canvas");
  drawOn(source, image);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(source, 0, 0, width, height);
  return pixelsOf(canvas);
}
