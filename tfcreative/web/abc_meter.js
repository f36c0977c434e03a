// Meter-aware sampling in the browser: the ABC rhythm tracker of tfcreative/music/meter.py,
// character by character, for one tune. It has no rhythm rule of its own: the tune's grammar
// (the state tables of tfcreative/music/abc_grammar.py) and the rules that update the
// registers and decide what may be written (tfcreative/music/meter_rules.py, traced into
// programs by meter_program.py) come in as one JSON document, abc_meter_tables.json
// (tools/write_meter_tables.py). Same rules and same numbers as the Python tracker
// (tests/test_meter_js.py compares the masks step by step).
//
//   const tracker = new MeterTracker(tables, meta.characters);  // ids 1..N, 0 = unknown
//   // or, with the form rules and what the user fixed (the settings registers of
//   // meter_rules.SETTINGS: {form: 1, parts_wanted: 2, ...}):
//   const tracker = new MeterTracker(tables, meta.characters, settings);
//   for (const ch of seed) tracker.advance(ids.get(ch));
//   const mask = tracker.allowed();   // Uint8Array over ids: 1 = may be sampled
//   tracker.advance(id);
//   tracker.unconstrained             // true once the tracker gave the tune up

const TICKS_PER_WHOLE = 20643840;  // abc_grammar.TICKS_PER_WHOLE: tables of this version

// JavaScript for each operation of a program (see meter_program.py); a, b, c: its arguments.
const OPERATIONS = {
  "+": (a, b) => `${a} + ${b}`,
  "-": (a, b) => `${a} - ${b}`,
  "*": (a, b) => `${a} * ${b}`,
  "//": (a, b) => `Math.floor(${a} / ${b})`,
  "%": (a, b) => `${a} - ${b} * Math.floor(${a} / ${b})`,  // floored, as in Python
  "<": (a, b) => `${a} < ${b}`,
  "<=": (a, b) => `${a} <= ${b}`,
  ">": (a, b) => `${a} > ${b}`,
  ">=": (a, b) => `${a} >= ${b}`,
  "==": (a, b) => `${a} === ${b}`,
  "!=": (a, b) => `${a} !== ${b}`,
  and: (a, b) => `${a} && ${b}`,
  or: (a, b) => `${a} || ${b}`,
  bitand: (a, b) => `${a} & ${b}`,
  bitor: (a, b) => `${a} | ${b}`,
  right_shift: (a, b) => `${a} >> ${b}`,
  minimum: (a, b) => `Math.min(${a}, ${b})`,
  not: (a) => `!${a}`,
  as_int: (a) => `${a} ? 1 : 0`,
  where: (a, b, c) => `${a} ? ${b} : ${c}`,
  gather: (a, b) => `${a}[${b}]`,
};

// Compiles a program (meter_program.py: a list of instructions over earlier results) into a
// JavaScript function of (sources, tables, classOf, numClasses), sources being
// {group: {name: value}}; it returns the program's outputs by name. (Compiled when a tracker
// is made: an instruction then costs what hand-written JavaScript would.)
function compile(program) {
  const value = (i) => `v${i}`;
  const quote = JSON.stringify;
  const lines = program.code.map(([op, a, b, c], i) => {
    let expression;
    if (op === "input") expression = `sources[${quote(a)}][${quote(b)}]`;
    else if (op === "const" || op === "table") expression = quote(a);
    else if (op === "named_table") expression = `tables[${quote(a)}]`;
    else if (op === "item") expression = `${value(a)}[${b}]`;
    else if (op === "gather_by_class") {
      expression = `tables[${quote(a)}][${value(b)} * numClasses + classOf[${value(c)}]]`;
    } else if (op in OPERATIONS) expression = OPERATIONS[op](value(a), value(b), value(c));
    else throw new Error(`meter tables with an operation this tracker does not know: ${op}`);
    return `const ${value(i)} = ${expression};`;
  });
  const outputs = Object.entries(program.outputs).map(([name, i]) => `${quote(name)}: ${value(i)}`);
  return new Function("sources", "tables", "classOf", "numClasses",
    `${lines.join("\n")}\nreturn {${outputs.join(", ")}};`);
}

export class MeterTracker {
  constructor(tables, characters, settings = {}) {
    if (tables.ticks_per_whole !== TICKS_PER_WHOLE) throw new Error("meter tables of another version");
    this.t = tables;
    this.numClasses = tables.num_classes;
    // id 0 (unknown) and characters outside ASCII read as the "other" column
    const column = (ch) => (ch.codePointAt(0) < 128 ? ch.codePointAt(0) : 128);
    this.codes = [128, ...characters.map(column)];  // each id's ASCII code (128: any other)
    this.classOf = this.codes.map((code) => tables.class_of[code]);
    this.size = this.classOf.length;
    this.programs = Object.fromEntries(Object.entries(tables.programs).map(
      ([name, program]) => [name, compile(program)]));
    this.reset(settings);
  }

  // Starts a tune (again): the meter alone, or with settings (registers by name: form,
  // parts_wanted, repeats, chord_symbols, fixed_key, fixed_meter, fixed_rhythm,
  // no_broken_rhythm); by default the tracker's own.
  reset(settings = this.settings) {
    for (const name of Object.keys(settings)) {
      if (!this.t.settings.includes(name)) throw new Error(`unknown tracker setting: ${name}`);
    }
    this.settings = settings;
    this.r = { ...this.t.registers, ...settings };
    this.stalled = false;
  }

  get lost() { return this.r.state === this.t.lost; }

  // the tracker gave the tune up, or once allowed nothing (then everything was allowed)
  get unconstrained() { return this.lost || this.stalled; }

  // bars abc2midi would report as not matching the meter, so far
  get violations() { return this.r.violations; }

  run(program, sources) {
    return this.programs[program](sources, this.t, this.classOf, this.numClasses);
  }

  // Uint8Array over ids: 1 where the strict grammar and the meter allow the character.
  // Never all zero: a row that would have no allowed character allows them all.
  allowed() {
    const t = this.t, edges = t.edges;
    const row = this.run("conditions", { register: this.r });
    const kindAllowed = t.kinds.map((name) => row[name]);
    const char = {};
    const sources = { row, char };
    const mask = new Uint8Array(this.size);
    let any = false;
    for (let id = 0; id < this.size; id++) {
      const cls = this.classOf[id];
      const at = this.r.state * this.numClasses + cls;
      const node = t.trie_next[this.r.length_node * this.numClasses + cls];
      char.id = id;
      char.code = this.codes[id];
      char.pitch = edges.pitch[at];
      char.strict = edges.strict[at] === 1;
      char.kind = edges.kind[at];
      char.kind_allowed = kindAllowed[char.kind];
      char.ends_note = edges.ends_note[at] > 0;
      char.shortest_length = t.trie_min_g[node];
      char.reachable_lengths = t.trie_reach[node];
      if (this.run("character", sources).allowed) {
        mask[id] = 1;
        any = true;
      }
    }
    if (!any) {
      mask.fill(1);
      this.stalled = true;
    }
    return mask;
  }

  // Reads one character (its id).
  advance(token) {
    const t = this.t;
    const cls = this.classOf[token];
    const at = this.r.state * this.numClasses + cls;
    const edge = { digit: t.digit[cls] };
    for (const field of t.fields) edge[field] = t.edges[field][at];
    this.r = this.run("advance", { register: this.r, edge, token: { token } });
  }
}

// The tracker's settings for a tune (meter.settings_registers in Python): the form rules
// (form: true) or the meter alone, with what the musician fixed:
//   formSettings(tables, { form: true, parts: 2, key: "Ador", meter: "", tuneType: "jig",
//                          chordSymbols: false, repeats: true })
// Empty values are the model's choice; a type fixes its meter as tfcreative.music.controls
// does. Throws an Error naming the control for a value the tracker cannot write.
export function formSettings(tables, controls = {}) {
  const c = tables.controls;
  const { form = true, parts = 2, key = "", meter = "", tuneType = "", chordSymbols = false,
          repeats = true } = controls;
  if (form && !(Number.isInteger(parts) && parts >= 1 && parts <= c.max_parts)) {
    throw new Error(`parts: expected a whole number from 1 to ${c.max_parts}, got ${parts}`);
  }
  const keyText = key.trim();
  if (keyText && !(keyText in c.key_spellings)) {
    throw new Error(`key: expected a key such as D, Em, Ador, A Dorian or F#m, got ${key}`);
  }
  let meterText = meter.replaceAll(" ", "");
  if (meterText && (!/^(C\|?|\d+\/\d+)$/.test(meterText)
                    || !c.fixed_values.includes(meterText))) {
    throw new Error(`meter: expected C, C| or n/d with n from 1 to 16 and d 2, 4 or 8, got ${meter}`);
  }
  const type = tuneType.trim().toLowerCase().replaceAll("-", " ");
  if (type && !(type in c.tune_types)) {
    throw new Error(`type: expected one of ${Object.keys(c.tune_types).join(", ")}, got ${tuneType}`);
  }
  if (type) {
    const meters = c.tune_types[type];
    if (meterText && meters.length && !meters.includes(meterText)) {
      throw new Error(`meter: a ${type} is written in ${meters.join(" or ")}, not ${meterText}`);
    }
    if (!meterText && meters.length) meterText = meters[0];
  }
  const index = (value) => (value ? c.fixed_values.indexOf(value) : 0);
  return {
    form: form ? 1 : 0, parts_wanted: parts, repeats: repeats ? 1 : 0,
    chord_symbols: chordSymbols ? 1 : 0,
    fixed_key: index(keyText ? c.key_spellings[keyText] : ""), fixed_meter: index(meterText),
    fixed_rhythm: index(type), no_broken_rhythm: c.no_broken_rhythm.includes(type) ? 1 : 0,
  };
}
