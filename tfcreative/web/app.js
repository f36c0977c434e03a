// tfcreative in-browser demo: runs the exported TF.js graph models (see docs/serving.md, "In-browser
// demo"). window.demo exposes the functions the buttons use, for tests and the console.
import { generateTune } from "./music.js";
import { MeterTracker, formSettings } from "./abc_meter.js";
import { FACADE_CLASSES } from "./label_painter.js";
import { setUpPix2pix } from "./pix2pix_panel.js";
import { playNotes, renderNotes, tuneNotes } from "./tune_player.js";

const $ = (id) => document.getElementById(id);

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

// ?backend=wasm|webgl|cpu picks the TF.js backend. The default is WebAssembly (XNNPACK): on
// machines without a real GPU it was 2-30x faster than the others for these models.
async function chooseBackend() {
  const wanted = new URLSearchParams(location.search).get("backend") || "wasm";
  if (wanted === "wasm") tf.wasm.setWasmPaths("vendor/");
  if (!(await tf.setBackend(wanted))) throw new Error(`TF.js backend ${wanted} is unavailable`);
  await tf.ready();
}

// Renders the ABC text as sheet music; returns abcjs's tune object and its warnings.
// ("*": parse only, draw nothing.) onClick(charIndex): a note was clicked.
function renderSheet(abc, target = "sheet", onClick = null) {
  const options = { add_classes: true, responsive: "resize" };
  if (onClick) options.clickListener = (element) => onClick(element.startChar);
  const [visualObj] = ABCJS.renderAbc(target, abc, options);
  return { visualObj, warnings: visualObj.warnings || [] };
}

// The tracker a tune is written with: shape "form" (whole tunes), "meter" (bars in time) or
// "none"; true and false stand for "meter" and "none". controls: what is fixed (formSettings).
function makeTracker(music, shape, controls = {}) {
  const constrain = shape === true ? "meter" : shape === false ? "none" : shape;
  if (constrain === "none") return null;
  const settings = formSettings(music.meterTables, { ...controls, form: constrain === "form" });
  return new MeterTracker(music.meterTables, music.meta.characters, settings);
}

// The text up to the bar line before `charIndex` (a clicked note), or up to the header's
// end in the first bar: where "write it again from this bar" starts.
export function tuneUpToBar(abc, charIndex) {
  const body = abc.indexOf("\n", abc.search(/^K:/m)) + 1;
  let cut = abc.lastIndexOf("|", charIndex - 1);
  if (cut < body) return abc.slice(0, body);
  cut += 1;
  while (cut < abc.length && ":]".includes(abc[cut])) cut += 1;
  return abc.slice(0, cut);
}

function offerMidi(visualObj) {
  const link = $("midi-link");
  if (link.href) URL.revokeObjectURL(link.href);
  const bytes = ABCJS.synth.getMidiFile(visualObj, { midiOutputType: "binary" });
  link.href = URL.createObjectURL(new Blob([bytes], { type: "audio/midi" }));
  link.hidden = false;
}

// The page's controls (a type, key, meter and title fixed; parts; chord symbols).
function readControls() {
  return {
    parts: Number($("parts").value), key: $("key").value, meter: $("meter").value,
    tuneType: $("tune-type").value, chordSymbols: $("chords").checked,
  };
}

function fillControls(tables) {
  const c = tables.controls;
  const option = (value) => Object.assign(document.createElement("option"), { value });
  $("keys").append(...[...new Set(Object.values(c.key_spellings))].map(option));
  $("meters").append(...c.fixed_values.filter((v) => /^(C\|?|\d+\/\d+)$/.test(v)).map(option));
  for (const type of Object.keys(c.tune_types)) {
    $("tune-type").append(Object.assign(option(type), { textContent: type }));
  }
}

// The seed: the seed box, or with a title, a tune that starts with it.
function seedFor(title) {
  const seed = $("seed").value;
  if (!title.trim()) return seed;
  if (seed !== "X:1\nT:") throw new Error("title: give a title or a seed of your own, not both");
  return `X:1\nT:${title.trim()}\n`;
}

function setUpMusic(music) {
  let visualObj = null;
  let stop = null;
  let current = null;  // the tune shown, and how it was made (to write it again from a bar)
  fillControls(music.meterTables);
  const write = async (seed, randomSeed, shape, controls) => {
    const tune = await generateTune(music, seed, Number($("temperature").value),
      Number($("max-length").value), randomSeed, makeTracker(music, shape, controls));
    current = { tune, shape, controls, randomSeed };
    show(tune.abc);
    $("music-timing").textContent = `${tune.generated} characters in the browser, ` +
      `${tune.msPerChar.toFixed(2)} ms per character (${tf.getBackend()})`;
    return tune;
  };
  // Writes the shown tune again from the bar of the note at charIndex (a new random seed).
  const rewriteFrom = async (charIndex) => {
    if (!current) return null;
    const seed = tuneUpToBar(current.tune.abc, charIndex);
    $("random-seed").value = String(current.randomSeed + 1);
    return write(seed, current.randomSeed + 1, current.shape, current.controls);
  };
  const show = (abc) => {
    $("tune").textContent = abc;
    const sheet = renderSheet(abc, "sheet", (charIndex) => {
      rewriteFrom(charIndex).catch((error) => { $("tune").textContent = String(error); });
    });
    visualObj = sheet.visualObj;
    offerMidi(visualObj);
    $("play").disabled = false;
    $("sheet-warnings").textContent = sheet.warnings.length
      ? `abcjs: ${sheet.warnings.length} notation warning(s)` : "";
    return sheet;
  };
  $("generate").disabled = false;
  $("generate").addEventListener("click", async () => {
    $("generate").disabled = true;
    try {
      await write(seedFor($("title").value), Number($("random-seed").value),
        $("constrain").value, readControls());
    } catch (error) {
      $("tune").textContent = String(error);
    } finally {
      $("generate").disabled = false;
    }
  });
  $("play").addEventListener("click", () => {
    if (stop) stop();
    stop = playNotes(tuneNotes(visualObj));
    $("stop").disabled = false;
  });
  $("stop").addEventListener("click", () => {
    if (stop) stop();
    stop = null;
    $("stop").disabled = true;
  });
  return { show, rewriteFrom };
}

async function main() {
  await chooseBackend();
  const music = await loadModel("music");
  // The tune grammar's tables for the meter tracker (tools/write_meter_tables.py).
  music.meterTables = await (await fetch("abc_meter_tables.json")).json();
  const pix2pix = await loadModel("pix2pix");
  $("status").textContent = `Models loaded (TF.js ${tf.version.tfjs}, ` +
    `backend ${tf.getBackend()}, abcjs ${ABCJS.signature}).`;
  const musicPanel = setUpMusic(music);
  const pix2pixPanel = setUpPix2pix(pix2pix);
  await pix2pixPanel.translateCanvas();

  window.demo = {
    music, pix2pix, facadeClasses: FACADE_CLASSES, painter: pix2pixPanel.painter,
    // What the Pix2Pix panel offers ("drawing", "photo" or "labels": pix2pix_panel.js), and a
    // promise that resolves once its uploads and translations are done.
    pix2pixKind: pix2pixPanel.kind, pix2pixSettled: () => pix2pixPanel.settled(),
    // shape: "form", "meter" or "none" (true: meter, false: none), as the page's Shape
    // menu; controls: {parts, key, meter, tuneType, chordSymbols, repeats}
    generateTune: (seed, temperature, maxLength, randomSeed, shape = false, controls = {}) =>
      generateTune(music, seed, temperature, maxLength, randomSeed,
        makeTracker(music, shape, controls)),
    // Writes the tune shown again from the bar of the note at charIndex (a click on it).
    rewriteFrom: (charIndex) => musicPanel.rewriteFrom(charIndex),
    // Shows a tune as text, sheet music and MIDI link; returns what abcjs made of it.
    showTune: (abc) => {
      const { visualObj, warnings } = musicPanel.show(abc);
      return { notes: tuneNotes(visualObj), warnings: warnings.length,
               noteheads: document.querySelectorAll("#sheet .abcjs-note").length };
    },
    // Renders a tune's audio offline: what Play sends to the speakers.
    renderTuneAudio: async (abc) => {
      const notes = tuneNotes(renderSheet(abc, "*").visualObj);
      const { samples, sampleRate } = await renderNotes(notes);
      return { notes, sampleRate, samples: Array.from(samples) };
    },
    translateCanvas: () => pix2pixPanel.translateCanvas(),
  };
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  $("status").textContent = `Could not start: ${error}`;
  document.body.dataset.ready = "error";
});
