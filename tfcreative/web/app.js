// tfcreative in-browser demo: runs the exported TF.js graph models (see docs/serving.md, "In-browser
// demo"). window.demo exposes the functions the buttons use, for tests and the console.
import { generateTune } from "./music.js";
import { MeterTracker } from "./abc_meter.js";
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
// ("*": parse only, draw nothing.)
function renderSheet(abc, target = "sheet") {
  const [visualObj] = ABCJS.renderAbc(target, abc, { add_classes: true, responsive: "resize" });
  return { visualObj, warnings: visualObj.warnings || [] };
}

function offerMidi(visualObj) {
  const link = $("midi-link");
  if (link.href) URL.revokeObjectURL(link.href);
  const bytes = ABCJS.synth.getMidiFile(visualObj, { midiOutputType: "binary" });
  link.href = URL.createObjectURL(new Blob([bytes], { type: "audio/midi" }));
  link.hidden = false;
}

function setUpMusic(music) {
  let visualObj = null;
  let stop = null;
  const show = (abc) => {
    $("tune").textContent = abc;
    const sheet = renderSheet(abc);
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
      const tune = await generateTune(music, $("seed").value, Number($("temperature").value),
        Number($("max-length").value), Number($("random-seed").value),
        $("keep-in-time").checked ? new MeterTracker(music.meterTables, music.meta.characters)
          : null);
      show(tune.abc);
      $("music-timing").textContent = `${tune.generated} characters in the browser, ` +
        `${tune.msPerChar.toFixed(2)} ms per character (${tf.getBackend()})`;
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
  return { show };
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
    // keepInTime: meter-aware sampling, as the page's "Keep bars in time" switch.
    generateTune: (seed, temperature, maxLength, randomSeed, keepInTime = false) =>
      generateTune(music, seed, temperature, maxLength, randomSeed,
        keepInTime ? new MeterTracker(music.meterTables, music.meta.characters) : null),
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
