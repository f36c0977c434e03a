// Tune generation in the browser with the exported music step model
// (ids, h, c) -> (logits, h, c): the same step as the SavedModel's `step` signature.

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

function sampleFromLogits(logits, temperature, random, allowed = null) {
  // logits: Float32Array over ids; id 0 (unknown character) is never sampled, nor an id the
  // optional mask (Uint8Array, see abc_meter.js) rules out.
  const ok = (i) => allowed === null || allowed[i] === 1;
  let max = -Infinity;
  for (let i = 1; i < logits.length; i++) if (ok(i)) max = Math.max(max, logits[i] / temperature);
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 1; i < logits.length; i++) {
    weights[i] = ok(i) ? Math.exp(logits[i] / temperature - max) : 0;
    total += weights[i];
  }
  if (!(total > 0)) return sampleFromLogits(logits, temperature, random);
  let r = random() * total;
  for (let i = 1; i < logits.length; i++) {
    r -= weights[i];
    if (r <= 0) return i;
  }
  return logits.length - 1;
}

// Runs the seed once, then samples one character per step, carrying (h, c), until a blank
// line (the end of a tune) or maxLength characters. Returns the tune and ms per character.
// meter: an optional MeterTracker (abc_meter.js) that keeps every bar in time.
export async function generateTune(music, seedText, temperature, maxLength, randomSeed,
                                   meter = null) {
  const { model, meta } = music;
  const ids = new Map(meta.characters.map((c, i) => [c, i + 1]));
  const unknown = [...seedText].filter((c) => !ids.has(c));
  if (unknown.length) throw new Error(`seed has characters the model never saw: ${unknown}`);
  if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature}`);
  const nodes = meta.output_nodes;
  const outputs = [nodes.logits, nodes.h, nodes.c];
  let h = tf.zeros([meta.num_layers, 1, meta.lstm_units]);
  let c = tf.zeros([meta.num_layers, 1, meta.lstm_units]);
  let logits = null;
  const step = (id) => {
    const ids1 = tf.tensor1d([id], "int32");
    const [l, h2, c2] = model.execute({ ids: ids1, h, c }, outputs);
    ids1.dispose(); h.dispose(); c.dispose();
    if (logits) logits.dispose();
    logits = l; h = h2; c = c2;
  };
  for (const ch of seedText) step(ids.get(ch));  // the seed, once
  if (meter) {
    meter.reset();
    for (const ch of seedText) meter.advance(ids.get(ch));
  }
  const random = seededRandom(randomSeed);
  let text = seedText;
  const start = performance.now();
  let generated = 0;
  for (; generated < maxLength; generated++) {
    const id = sampleFromLogits(await logits.data(), temperature, random,
                                meter ? meter.allowed() : null);
    if (meter) meter.advance(id);
    const ch = meta.characters[id - 1];
    if (ch === "\n" && text.endsWith("\n")) { generated++; break; }  // a blank line ends it
    text += ch;
    step(id);
  }
  const msPerChar = (performance.now() - start) / Math.max(generated, 1);
  [h, c, logits].forEach((t) => t.dispose());
  return { abc: text.trimEnd(), generated, msPerChar,
           unconstrained: meter ? meter.unconstrained : false };
}
