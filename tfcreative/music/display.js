// Renders the tunes that tfcreative.music.display puts in notebook outputs. Runs once, inside
// the loader that display.py writes around it, after abcjs (as `ABCJS`) and the demo page's
// synthesizer (web/tune_player.js: `renderNotes`); exposes only window.tfcreativeTunes.
//
// Each tune's output holds a JSON block: its ABC text and its notes (read in Python from the
// MIDI file music21 writes, as tune.to_wav plays them). abcjs engraves the ABC text as SVG; the
// notes are rendered offline to a WAV file in memory and given to an <audio> control, so the
// notebook stores no audio and the player works in a saved or exported notebook.

// 16-bit mono PCM WAV of float samples in [-1, 1].
function wavBlob(samples, sampleRate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, value) => {
    for (let i = 0; i < value.length; i++) view.setUint8(offset + i, value.charCodeAt(i));
  };
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const sample = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, Math.round(sample * 32767), true);
  }
  return new Blob([buffer], { type: "audio/wav" });
}

async function renderTune(root) {
  const data = JSON.parse(root.querySelector(".tfcreative-tune-data").textContent);
  const sheet = root.querySelector(".tfcreative-tune-sheet");
  // Generated tunes are often one long line: abcjs breaks them into lines of about 4 bars.
  ABCJS.renderAbc(sheet, data.abc, {
    add_classes: true,
    responsive: "resize",
    staffwidth: 560,
    wrap: { minSpacing: 1.8, maxSpacing: 2.7, preferredMeasuresPerLine: 4 },
  });
  root.querySelector(".tfcreative-tune-abc").removeAttribute("open");
  root.querySelector(".tfcreative-tune-hint")?.remove();
  if (data.notes && data.notes.length) {
    const { samples, sampleRate } = await renderNotes(data.notes, data.sampleRate);
    const audio = document.createElement("audio");
    audio.className = "tfcreative-tune-audio";
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = URL.createObjectURL(wavBlob(samples, sampleRate));
    sheet.after(audio);
  }
  root.dataset.rendered = "true";
}

window.tfcreativeTunes = {
  // Renders the tune output with this element id (once).
  render(id) {
    const root = document.getElementById(id);
    if (!root || root.dataset.rendered) return Promise.resolve();
    root.dataset.rendered = "pending";
    return renderTune(root).catch((error) => {
      root.dataset.rendered = "error";
      const message = document.createElement("div");
      message.className = "tfcreative-tune-error";
      message.textContent = `Could not show the tune: ${error}`;
      root.append(message);
    });
  },
};

// Outputs displayed before this loader ran (e.g. a notebook shown out of order) waited here.
for (const render of (window.tfcreativeTunesWaiting || []).splice(0)) render();
