// Drawing label maps for pix2pix: rectangles and a square brush in the exact class colours.
// Every pixel stays one of the palette's colours (no anti-aliasing), as in the training data.
import { canvasPixel, pixelsBetween } from "./line_painter.js";

// The classes and colours of tfcreative.pix2pix.synthetic_facades (CMP facades' 12 classes in a
// jet palette); tests check the two lists agree.
export const FACADE_CLASSES = [
  ["background", [0, 0, 128]], ["facade", [0, 0, 220]], ["window", [0, 58, 255]],
  ["door", [0, 151, 255]], ["cornice", [0, 243, 255]], ["sill", [81, 255, 174]],
  ["balcony", [174, 255, 81]], ["blind", [255, 243, 0]], ["deco", [255, 151, 0]],
  ["molding", [255, 58, 0]], ["pillar", [220, 0, 0]], ["shop", [128, 0, 0]],
].map(([name, rgb]) => ({ name, rgb }));

const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

export class LabelPainter {
  // `onChange` runs after every finished stroke or rectangle.
  constructor(canvas, size, onChange) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d", { willReadFrequently: true });
    this.onChange = onChange;
    this.classIndex = 2;  // window
    this.tool = "rect";
    this.brushSize = Math.max(1, Math.round(size / 32));
    this.resize(size);
    canvas.addEventListener("pointerdown", (event) => this.down(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    canvas.addEventListener("pointerup", (event) => this.up(event));
  }

  resize(size) {
    this.canvas.width = size;
    this.canvas.height = size;
    this.size = size;
  }

  // A simple facade to start from: wall, sky, three floors of windows and a door.
  drawStarter() {
    const s = this.size;
    const box = (name, top, left, height, width) => this.fillBox(
      FACADE_CLASSES.findIndex((c) => c.name === name),
      Math.round(left * s), Math.round(top * s), Math.round(width * s), Math.round(height * s));
    box("background", 0, 0, 1, 1);
    box("facade", 0.12, 0.05, 0.88, 0.9);
    box("cornice", 0.12, 0.05, 0.05, 0.9);
    for (const top of [0.25, 0.47]) {
      for (const left of [0.12, 0.4, 0.68]) {
        box("window", top, left, 0.14, 0.2);
        box("sill", top + 0.14, left - 0.02, 0.025, 0.24);
      }
    }
    box("shop", 0.7, 0.1, 0.22, 0.35);
    box("door", 0.7, 0.62, 0.3, 0.18);
  }

  fillBox(classIndex, x, y, width, height) {
    this.context.fillStyle = css(FACADE_CLASSES[classIndex].rgb);
    this.context.fillRect(x, y, width, height);
  }

  down(event) {
    this.canvas.setPointerCapture(event.pointerId);
    this.start = canvasPixel(this.canvas, event);
    this.last = this.start;
    this.before = this.context.getImageData(0, 0, this.size, this.size);
    this.paint(event);
  }

  move(event) {
    if (this.start) this.paint(event);
  }

  up(event) {
    if (!this.start) return;
    this.paint(event);
    this.start = null;
    this.onChange();
  }

  paint(event) {
    const [x, y] = canvasPixel(this.canvas, event);
    if (this.tool === "brush") {
      // Stamp along the line from the last position, so fast strokes leave no gaps.
      const half = Math.floor(this.brushSize / 2);
      for (const [px, py] of pixelsBetween(this.last, [x, y])) {
        this.fillBox(this.classIndex, px - half, py - half, this.brushSize, this.brushSize);
      }
      this.last = [x, y];
      return;
    }
    // Rectangle: redraw from the picture as it was when the drag started.
    this.context.putImageData(this.before, 0, 0);
    const [x0, y0] = this.start;
    this.fillBox(this.classIndex, Math.min(x, x0), Math.min(y, y0),
                 Math.abs(x - x0) + 1, Math.abs(y - y0) + 1);
  }
}
