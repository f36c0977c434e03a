// Drawing for a model of edges or sketches: a pen of black one-pixel lines on white (what such
// a model saw in training: photo_transforms.edges draws thin black lines on white) and an
// eraser that paints white squares. Every pixel stays pure black or pure white.

// The canvas pixel under a pointer event, whatever the canvas's size on the screen.
export function canvasPixel(canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const clamp = (v, size) => Math.min(size - 1, Math.max(0, v));
  return [clamp(Math.floor((event.clientX - rect.left) * canvas.width / rect.width), canvas.width),
    clamp(Math.floor((event.clientY - rect.top) * canvas.height / rect.height), canvas.height)];
}

// The pixels of an 8-connected line from `from` to `to` (both included), so that fast strokes
// leave no gaps.
export function pixelsBetween([x0, y0], [x1, y1]) {
  const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  return Array.from({ length: steps + 1 }, (_, i) => [Math.round(x0 + (x1 - x0) * i / steps),
    Math.round(y0 + (y1 - y0) * i / steps)]);
}

export class LinePainter {
  // `onChange` runs after every finished stroke.
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d", { willReadFrequently: true });
    this.onChange = onChange;
    this.tool = "pen";  // or "eraser"
    this.eraserSize = 8;
    this.last = null;
    canvas.addEventListener("pointerdown", (event) => this.down(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    canvas.addEventListener("pointerup", (event) => this.up(event));
  }

  // A white page of width x height pixels ("Start again").
  clear(width, height) {
    this.canvas.width = width;
    this.canvas.height = height;
    this.context.fillStyle = "#fff";
    this.context.fillRect(0, 0, width, height);
  }

  down(event) {
    this.canvas.setPointerCapture(event.pointerId);
    this.last = canvasPixel(this.canvas, event);
    this.paint(event);
  }

  move(event) {
    if (this.last) this.paint(event);
  }

  up(event) {
    if (!this.last) return;
    this.paint(event);
    this.last = null;
    this.onChange();
  }

  paint(event) {
    const here = canvasPixel(this.canvas, event);
    const pen = this.tool === "pen";
    const side = pen ? 1 : this.eraserSize;
    const half = Math.floor(side / 2);
    this.context.fillStyle = pen ? "#000" : "#fff";
    for (const [x, y] of pixelsBetween(this.last, here)) {
      this.context.fillRect(x - half, y - half, side, side);
    }
    this.last = here;
  }
}
