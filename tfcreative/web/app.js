// tfcreative in-browser demo: runs the exported TF.js graph models (see README, "Export: TF.js").
// window.demo exposes the same functions the buttons use, for tests and the console.
"use strict";

// TF.js starts every weight-shard request and reads no body until all have answered; over
// HTTP/1.x the browser opens at most 6 connections per host, so a model with more than 6 shards
// would wait forever. Reading each body as soon as it arrives frees its connection.
async function fetchWholeBody(url, init) {
  const response = await fetch(url, init);
  const body = await response.arrayBuffer();
  return new Response(body, { status: response.status, headers: response.headers });
}

async function loadModel(name) {
  const meta = await (await fetch(`models/${name}/tfcreative.json`)).json();
  const model = await tf.loadGraphModel(`models/${name}/model.json`,
    { fetchFunc: fetchWholeBody });
  return { model, meta };
}

// Mulberry32: a small seeded generator, so a random seed reproduces a tune in the page.
function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleFromLogits(logits, temperature, random) {
  // logits: Float32Array over ids; id 0 (unknown character) is never sampled.
  let max = -Infinity;
  for (let i = 1; i < logits.length; i++) max = Math.max(max, logits[i] / temperature);
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 1; i < logits.length; i++) {
    weights[i] = Math.exp(logits[i] / temperature - max);
    total += weights[i];
  }
  let r = random() * total;
  for (let i = 1; i < logits.length; i++) {
    r -= weights[i];
    if (r <= 0) return i;
  }
  return logits.length - 1;
}

async function generateTune(music, seedText, temperature, maxLength, randomSeed) {
  const { model, meta } = music;
  const ids = new Map(meta.characters.map((c, i) => [c, i + 1]));
  const unknown = [...seedText].filter((c) => !ids.has(c));
  if (unknown.length) throw new Error(`seed has characters the model never saw: ${unknown}`);
  const nodes = meta.output_nodes;
  const outputs = [nodes.logits, nodes.h, nodes.c];
  let h = tf.zeros([meta.num_layers, 1, meta.lstm_units]);
  let c = tf.zeros([meta.num_layers, 1, meta.lstm_units]);
  let logits = null;
  const step = async (id) => {
    const ids1 = tf.tensor1d([id], "int32");
    const [l, h2, c2] = await model.executeAsync({ ids: ids1, h, c }, outputs);
    ids1.dispose(); h.dispose(); c.dispose();
    if (logits) logits.dispose();
    logits = l; h = h2; c = c2;
  };
  for (const ch of seedText) await step(ids.get(ch));  // the seed, once
  const random = seededRandom(randomSeed);
  let text = seedText;
  const start = performance.now();
  let generated = 0;
  for (; generated < maxLength; generated++) {
    const id = sampleFromLogits(await logits.data(), temperature, random);
    const ch = meta.characters[id - 1];
    if (ch === "\n" && text.endsWith("\n")) { generated++; break; }  // a blank line ends it
    text += ch;
    await step(id);
  }
  const msPerChar = (performance.now() - start) / Math.max(generated, 1);
  [h, c, logits].forEach((t) => t.dispose());
  return { abc: text.trimEnd(), generated, msPerChar };
}

async function translate(pix2pix, inputCanvas, outputCanvas) {
  const size = pix2pix.meta.image_size;
  const start = performance.now();
  const output = tf.tidy(() => {
    const x = tf.browser.fromPixels(inputCanvas).toFloat().div(127.5).sub(1).expandDims(0);
    return pix2pix.model.execute({ input_image: x }, pix2pix.meta.output_nodes.output_image);
  });
  const pixels = tf.tidy(() => output.squeeze(0).add(1).mul(127.5).round().clipByValue(0, 255)
    .toInt());
  await tf.browser.toPixels(pixels, outputCanvas);
  const ms = performance.now() - start;
  output.dispose(); pixels.dispose();
  return { ms, size };
}

function drawToCanvas(image, canvas, size) {
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.drawImage(image, 0, 0, size, size);
}

async function main() {
  const status = document.getElementById("status");
  // ?backend=cpu|webgl picks the TF.js backend (default: TF.js chooses, webgl if it can).
  const backend = new URLSearchParams(location.search).get("backend");
  if (backend) await tf.setBackend(backend);
  await tf.ready();
  const music = await loadModel("music");
  const pix2pix = await loadModel("pix2pix");
  status.textContent = `Models loaded (TF.js ${tf.version.tfjs}, backend ${tf.getBackend()}).`;

  const button = document.getElementById("generate");
  button.disabled = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const tune = await generateTune(music, document.getElementById("seed").value,
        Number(document.getElementById("temperature").value), 1000,
        Number(document.getElementById("random-seed").value));
      document.getElementById("tune").textContent = tune.abc;
      document.getElementById("music-timing").textContent =
        `${tune.generated} characters, ${tune.msPerChar.toFixed(2)} ms per character`;
    } catch (error) {
      document.getElementById("tune").textContent = String(error);
    } finally {
      button.disabled = false;
    }
  });

  const input = document.getElementById("label-file");
  input.disabled = false;
  const inputCanvas = document.getElementById("input-canvas");
  const outputCanvas = document.getElementById("output-canvas");
  input.addEventListener("change", async () => {
    const image = await createImageBitmap(input.files[0]);
    drawToCanvas(image, inputCanvas, pix2pix.meta.image_size);
    const { ms } = await translate(pix2pix, inputCanvas, outputCanvas);
    document.getElementById("pix2pix-timing").textContent = `inference ${ms.toFixed(1)} ms`;
  });

  window.demo = {
    music, pix2pix,
    generateTune: (seed, temperature, maxLength, randomSeed) =>
      generateTune(music, seed, temperature, maxLength, randomSeed),
    translateCanvas: () => translate(pix2pix, inputCanvas, outputCanvas),
  };
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  document.getElementById("status").textContent = `Could not start: ${error}`;
  document.body.dataset.ready = "error";
});
