// Meter-aware sampling in the browser: the ABC rhythm tracker of tfcreative/music/meter.py,
// character by character, for one tune. It follows the tune's grammar (the state tables of
// tfcreative/music/abc_grammar.py, passed in as the JSON of build_tables().to_json()) and
// integer registers (bar position, unit note length, tuplets, repeats ...), and says which
// characters keep the tune's grammar and every bar in time. Same rules and same numbers as
// the Python tracker (tests/test_meter_js.py compares the masks step by step).
//
//   const tracker = new MeterTracker(tables, meta.characters);  // ids 1..N, 0 = unknown
//   for (const ch of seed) tracker.advance(ids.get(ch));
//   const mask = tracker.allowed();   // Uint8Array over ids: 1 = may be sampled
//   tracker.advance(id);
//   tracker.unconstrained             // true once the tracker gave the tune up

const TPW = 20643840;  // ticks per whole note (abc_grammar.TICKS_PER_WHOLE)
const CAP = 10000;
const TICKS_CAP = 2 ** 40;
const BRK_ADJ = [[0, 1], [1, 2], [1, 4], [1, 8], [-1, 2], [-1, 4], [-1, 8]];
const BRK_NEXT = [[1, 1], [1, 2], [1, 4], [1, 8], [3, 2], [7, 4], [15, 8]];
const TUPLET_Q = [1, 1, 3, 2, 3, 0, 2, 0, 3, 0];
const H_T = 1, H_M = 2, H_L = 4, H_USET = 8;

const div = (a, b) => Math.floor(a / b);
const mod = (a, b) => a - b * Math.floor(a / b);

export class MeterTracker {
  constructor(tables, characters) {
    if (tables.ticks_per_whole !== TPW) throw new Error("meter tables of another version");
    this.t = tables;
    this.c = tables.constants;
    this.numClasses = tables.num_classes;
    this.kind = Object.fromEntries(tables.kinds.map((name, i) => [name, i]));
    this.set = Object.fromEntries(tables.setters.map((name, i) => [name, i]));
    // id 0 (unknown) and characters outside ASCII read as the "other" column
    const column = (ch) => (ch.codePointAt(0) < 128 ? ch.codePointAt(0) : 128);
    this.classOf = [tables.class_of[128], ...characters.map((ch) => tables.class_of[column(ch)])];
    this.size = this.classOf.length;
    this.stalled = false;
    this.reset();
  }

  reset() {
    const c = this.c;
    this.r = {
      s: this.t.start, hflags: 0, tlen: 0, acc: 0, acc2: 0, bar: TPW, unit: TPW / 8,
      ldef: TPW / 8, compound: 0, pos: 0, barno0: 1, fresh: 1, sec_start: 0, sec_own: -1,
      sec_open: 1, var: 0, need2: 0, pos_var: 0, nplays: 0, last_bar: 0, nbars: 0, viol: 0,
      psave: 0, psave_start: 0, e2carry: 0, soft_since: 0, pend: 0, lnum: 1, lden: 1,
      lden_base: 1, dacc: 0, lnode: c.dummy, fnum: 1, fden: 1, cin_num: 1, cin_den: 1, tp: 1,
      tq: 1, tr: 0, bnum: 1, bden: 1, last_w: 0, ftarget: -1, tie_tok: -1,
    };
    this.stalled = false;
  }

  get lost() { return this.r.s === this.t.lost; }

  // the tracker gave the tune up, or once allowed nothing (then everything was allowed)
  get unconstrained() { return this.lost || this.stalled; }

  // bars abc2midi would report as not matching the meter, so far
  get violations() { return this.r.viol; }

  edge(field, cls) { return this.t.edges[field][this.r.s * this.numClasses + cls]; }

  noteDuration() {
    const r = this.r;
    const plain = r.lnum === 1 && r.lden === 1;
    return [r.unit * (plain ? r.cin_num : r.lnum) * r.fnum, (plain ? r.cin_den : r.lden) * r.fden];
  }

  // Uint8Array over ids: 1 where the strict grammar and the meter allow the character.
  // Never all zero: a row that would have no allowed character allows them all.
  allowed() {
    const t = this.t, c = this.c, r = this.r, K = this.kind;
    const [num, den] = this.noteDuration();
    const pend = r.pend > 0;
    const wNow = pend ? Math.min(div(num, den), TICKS_CAP) : 0;
    const pos = r.pos, bar = r.bar;
    const pf = pos + wNow;
    const nomtr = bar <= 0;
    const full = pf === bar;
    const g = div(r.unit, 4);
    const tr = r.tr, ftarget = r.ftarget;
    const vid = t.trie_value_id[r.lnode];
    const trAfter = tr - (pend && tr > 0 ? 1 : 0);
    const ftNext = pend ? (trAfter > 0 ? (ftarget >= 0 ? ftarget : vid) : -1) : ftarget;
    const valNext = ftNext >= 0 ? t.trie_values[ftNext] : c.min_length;
    const inTup = trAfter > 0;
    const fn = (inTup ? r.tq : 1) * r.bnum;
    const fd = (inTup ? r.tp : 1) * r.bden;
    const need2 = r.need2 > 0, barno0 = r.barno0 > 0, fresh = r.fresh > 0, v = r.var;
    const room = nomtr || pf * fd + g * valNext * fn <= bar * fd;
    const note = room && !need2;
    const tfit = tr > 0 && ftarget < 0 ? tr : 1;
    const complete = vid >= 0 || r.lnode === c.dummy;
    const finOk = !pend || (complete && (nomtr ||
      (pos + wNow * tfit <= bar && (ftarget < 0 || vid === ftarget))));
    const space = trAfter === 0;
    const broken = pend && ftarget < 0 && tr === 0 && vid >= 0 && (nomtr || pf + wNow <= bar);
    const tup3 = !need2 && trAfter === 0 && r.bnum === 1 &&
      (nomtr || pf + 2 * c.min_length * g <= bar);
    const secOpen = r.sec_open, nplays = r.nplays, secOwn = r.sec_own;
    const carry = !barno0 && pf > 0 && pf < bar && secOwn >= 0 && pf + secOwn === bar;
    const nonempty = pf !== r.sec_start || secOwn >= 0;
    const singleOk = !fresh && (nomtr || full || (barno0 && pf > 0 && pf <= bar));
    const softOk = !fresh && v !== 1 && nonempty && (nomtr || full || carry);
    const repstartOk = v !== 1 && !need2 && secOpen !== 2 &&
      ((!fresh && (nomtr || full || carry)) || (fresh && barno0 && pf === 0));
    const closing = pf < bar ? pf : 0;
    const implicitOk = (nplays === 0 || (v === 1 && nplays === 1)) && r.soft_since === 0;
    const rependOk = !fresh && v !== 2 && !barno0 && secOwn >= 0 &&
      (secOpen === 2 || implicitOk) && (nomtr || (pf <= bar && closing + secOwn === bar));
    const dblrepOk = rependOk && v === 0 && secOpen !== 3;
    const noTup = trAfter === 0;
    const end1Ok = v === 0 && !need2 && !barno0 && secOwn >= 0 &&
      (secOpen === 2 || (secOpen === 1 && implicitOk));
    const lb = r.last_bar, tlen = r.tlen;
    const kindOk = new Array(t.kinds.length).fill(false);
    const ok = (name, value) => { kindOk[K[name]] = value; };
    ok("ALWAYS", true);
    ok("NOTE", note);
    ok("SPACE", space);
    ok("BROKEN", broken);
    ok("TUP3", tup3);
    ok("LBRK", note || (end1Ok && pf === 0) || need2);
    ok("BAR_START", noTup && (singleOk || (v !== 1 && softOk)));
    ok("COLON", noTup && rependOk);
    ok("SINGLE", singleOk);
    ok("SINGLE_TUP3", singleOk && (nomtr || 2 * c.min_length * g <= bar));
    ok("SINGLE_END1", singleOk && end1Ok);
    ok("SOFT", softOk);
    ok("REPSTART", repstartOk);
    ok("REPEND", rependOk);
    ok("REPEND_NOTE", rependOk && v !== 1);
    ok("REPEND_END2", rependOk && v === 1);
    ok("DBLREP", dblrepOk);
    ok("END1", end1Ok && pos === 0);
    ok("END2", need2);
    ok("TUNE_END", !need2 && v !== 1 && !barno0 && r.nbars >= 2 && secOpen !== 2 && fresh &&
      (lb === 1 || lb === 2 || lb === 4));
    ok("FIELD_ML", pos === 0 && v === 0 && !need2 && !pend);
    ok("FIELD_K", !need2);
    ok("HDR_K", (r.hflags & (H_T | H_M | H_L)) === (H_T | H_M | H_L));
    ok("HDR_M", (r.hflags & H_M) === 0);
    ok("HDR_L", (r.hflags & H_L) === 0);
    ok("TEXT_HEADER", tlen < c.header_text_cap);
    ok("TEXT_QUOTE", tlen < c.quote_cap);
    ok("TEXT_DECO", tlen < c.decoration_cap);
    ok("CHORD_MORE", tlen < c.chord_notes_cap);
    ok("CHORD_CLOSE", tlen >= 2);
    ok("TIE", note && r.tie_tok > 0);
    ok("TIE_SAME", true);

    const mask = new Uint8Array(this.size);
    let any = false;
    for (let id = 0; id < this.size; id++) {
      const cls = this.classOf[id];
      if (!this.edge("strict", cls)) continue;
      const kind = this.edge("kind", cls);
      if (!kindOk[kind]) continue;
      if (this.edge("fin", cls) && !finOk) continue;
      if (kind === K.TIE_SAME && id !== r.tie_tok) continue;
      // length digits: the shortest length the trie can still reach must fit
      const node = t.trie_next[r.lnode * this.numClasses + cls];
      const minG = t.trie_min_g[node];
      const fits = pos * r.fden + minG * (g * r.fnum * tfit) <= bar * r.fden;
      const reach = (t.trie_reach[node] >> (ftarget >= 0 ? ftarget : 0)) & 1;
      if (!((nomtr || fits) && (ftarget < 0 || reach === 1) && minG < c.forced_big)) continue;
      mask[id] = 1;
      any = true;
    }
    if (!any) {
      mask.fill(1);
      this.stalled = true;
    }
    return mask;
  }

  // Reads one character (its id).
  advance(token) {
    const t = this.t, c = this.c, r = this.r, S = this.set;
    const cls = this.classOf[token];
    const e = (field) => this.edge(field, cls);
    const d = t.digit[cls];
    const lost = e("follow") === 0;
    const n = { ...r };

    // 1. the pending note ends
    const [num, den] = this.noteDuration();
    const finish = e("fin") > 0 && r.pend > 0;
    let inexact = finish && mod(num, den) !== 0;
    const w = Math.min(div(num, den), TICKS_CAP);
    const vid = t.trie_value_id[r.lnode];
    let pos = Math.min(r.pos + (finish ? w : 0), TICKS_CAP);
    n.last_w = finish ? w : r.last_w;
    let tr = r.tr - (finish && r.tr > 0 ? 1 : 0);
    let ftarget = finish ? (tr > 0 ? (r.ftarget >= 0 ? r.ftarget : vid) : -1) : r.ftarget;
    let pend = finish ? 0 : r.pend;
    let lnode = finish ? c.dummy : r.lnode;

    // 2. broken rhythm
    const brk = e("brk");
    const adj = n.last_w * BRK_ADJ[brk][0];
    inexact = inexact || mod(adj, BRK_ADJ[brk][1]) !== 0;
    pos = Math.min(pos + div(adj, BRK_ADJ[brk][1]), TICKS_CAP);
    let bnum = brk > 0 ? BRK_NEXT[brk][0] : r.bnum;
    let bden = brk > 0 ? BRK_NEXT[brk][1] : r.bden;
    if (brk === 1 || brk === 4) ftarget = vid;

    // 3. a bar line resolves (abc2midi's bar check; see meter.py)
    const k = e("bar"), B = c.bar;
    const isBar = k > 0;
    let bar = r.bar;
    let barno0 = r.barno0 > 0;
    const metered = bar > 0;
    const hard = isBar && (k === B.single || pos >= bar || barno0);
    const carried = hard ? 0 : pos;
    let secOpen = r.sec_open, nplays = r.nplays;
    const rep = k === B.repend || k === B.dblrep;
    const quirk = k === B.repend && r.var === 0 && secOpen !== 2 && nplays > 0;
    const secOwnNow = r.sec_own >= 0 ? r.sec_own : pos - r.sec_start;
    const firstAgain = carried + (quirk ? r.psave : secOwnNow);
    const checked = rep && !(quirk && r.psave_start > 0);
    let viol = r.viol;
    if (checked && metered && firstAgain !== bar && firstAgain !== 0) viol += 1;
    if (quirk && r.e2carry > 0) viol += 1;
    if (k === B.dblrep && secOpen === 3) viol += 1;
    if (hard && metered && pos !== bar && pos !== 0 && !barno0) viol += 1;
    const setsOwn = hard && r.sec_own < 0;
    let secOwn = setsOwn ? pos - r.sec_start : r.sec_own;
    let psave = setsOwn && secOpen !== 3 ? secOwn : r.psave;
    let psaveStart = setsOwn && secOpen !== 3 ? (secOpen === 1 ? 1 : 0) : r.psave_start;
    if (k === B.repend && secOpen === 3 && nplays === 0) {
      psave = secOwnNow;
      psaveStart = 0;
    }
    n.e2carry = r.e2carry | (isBar && !hard && r.var === 2 ? 1 : 0);
    n.nbars = r.nbars + (hard && pos > 0 ? 1 : 0);
    barno0 = barno0 && !(hard && pos > 0);
    pos = carried;
    const section = isBar && k !== B.single && k !== B.soft;
    n.soft_since = section ? 0 : r.soft_since | (k === B.soft ? 1 : 0);
    n.sec_start = section ? pos : r.sec_start;
    if (section) {
      secOwn = -1;
      secOpen = k === B.repend ? 3 : 2;
    }
    let v = r.var;
    let need2 = k === B.repend ? (v === 1 ? 1 : 0) : (isBar && k !== B.single ? 0 : r.need2);
    if (isBar && k !== B.single && !(k === B.repend && v === 1)) v = 0;
    let fresh = isBar ? 1 : r.fresh;
    n.last_bar = isBar ? k : r.last_bar;

    // 4. a variant ending starts
    const isEnd = e("end") > 0;
    const first = d === 1;
    if (isEnd && secOpen === 3 && nplays === 0) viol += 1;
    n.pos_var = isEnd && first ? pos : r.pos_var;
    if (isEnd && !first) pos = r.pos_var;
    if (isEnd) v = first ? 1 : 2;
    if (isEnd && !first) need2 = 0;
    nplays += isEnd ? 1 : 0;

    // 5. field values and tuplet counts
    const sv = e("set");
    let acc = r.acc, acc2 = r.acc2, hflags = r.hflags;
    if (sv === S.HDR_T) hflags |= H_T;
    if (sv === S.M_SHIFT) acc2 = acc;
    const mSet = sv === S.M_SET;
    const mC = sv === S.M_C || sv === S.M_CB;
    const mNum = mSet ? acc2 : (mC ? 4 : 0);
    const mDen = mSet ? Math.min(acc, CAP) + (acc === 0 ? 1 : 0) : 4;
    const mAny = mSet || mC || sv === S.M_NONE;
    if (mSet && mod(TPW * mNum, mDen) !== 0) inexact = true;
    let compound = r.compound, ldef = r.ldef, unit = r.unit;
    if (mAny) {
      bar = div(TPW * mNum, mDen);
      compound = mNum % 3 === 0 && mNum > 3 ? 1 : 0;
      ldef = 4 * mNum < 3 * mDen ? TPW / 16 : TPW / 8;
      hflags |= H_M;
    }
    if (sv === S.M_NONE) ldef = TPW / 8;
    const lSet = sv === S.L_SET;
    const lDen = Math.min(acc, CAP) + (acc === 0 ? 1 : 0);
    if (lSet && mod(TPW, lDen) !== 0) inexact = true;
    if (lSet) {
      unit = div(TPW, lDen);
      hflags |= H_L | H_USET;
    }
    if (sv === S.HDR_END && (hflags & H_USET) === 0) unit = r.ldef;
    let tp = sv === S.TUP_SETP || sv === S.TUP_START_P ? acc : r.tp;
    let tq = sv === S.TUP_SETQ ? acc : r.tq;
    if (sv === S.TUP_START_P) tq = 0;
    if (sv === S.TUP_START_Q) tq = acc;
    const tStart = sv === S.TUP_START_P || sv === S.TUP_START_Q || sv === S.TUP_START_R;
    if (tStart) {
      tp = Math.min(Math.min(tp, 99) + (tp <= 0 ? 1 : 0), 99);
      let qDefault = tp < TUPLET_Q.length ? TUPLET_Q[tp] : 0;
      if (qDefault === 0) qDefault = 2 + compound;
      tq = tq <= 0 ? qDefault : Math.min(tq, 99);
      const rCount = sv === S.TUP_START_R ? Math.min(acc, 99) : 0;
      tr = rCount > 0 ? rCount : tp;
      ftarget = -1;
    }

    // 6. numbers
    const nv = e("num");
    if (nv === c.num.first) acc = d;
    if (nv === c.num.more) acc = Math.min(acc * 10 + d, CAP);
    if (nv === c.num.clear) acc = 0;

    // 7. a note, rest or chord starts, or a chord closes
    const st = e("start");
    const starts = st === c.start.note || st === c.start.chord;
    const closes = st === c.start.chord_close;
    let lnum = r.lnum, lden = r.lden;
    n.cin_num = starts ? 1 : (closes ? lnum : r.cin_num);
    n.cin_den = starts ? 1 : (closes ? lden : r.cin_den);
    if (starts || closes) { lnum = 1; lden = 1; }
    if (st === c.start.note || closes) lnode = c.root;
    else if (st === c.start.chord) lnode = c.dummy;
    let fnum = r.fnum, fden = r.fden;
    if (starts) {
      fnum = (tr > 0 ? tq : 1) * bnum;
      fden = (tr > 0 ? tp : 1) * bden;
      bnum = 1;
      bden = 1;
      pend = 1;
      fresh = 0;
    }

    // 8. length digits and slashes
    const lv = e("len"), L = c.len;
    if (lv === L.numfirst) lnum = d;
    if (lv === L.nummore) lnum = Math.min(lnum * 10 + d, CAP);
    let ldenBase = r.lden_base, dacc = r.dacc;
    if (lv === L.slash) {
      ldenBase = lden;
      lden = Math.min(lden * 2, CAP);
      dacc = 0;
    }
    if (lv === L.denfirst) dacc = d;
    if (lv === L.denmore) dacc = Math.min(dacc * 10 + d, CAP);
    if (lv === L.denfirst || lv === L.denmore) lden = Math.min(ldenBase * dacc, CAP);
    if (lv > 0) lnode = t.trie_next[lnode * this.numClasses + cls];

    let tieTok = r.tie_tok;
    if (e("tie") === c.tie.set) tieTok = token;
    if (e("tie") === c.tie.clear) tieTok = -1;

    // 9. text length
    const tl = e("tlen");
    const tlen = tl === c.tlen.reset ? 0 : (tl === c.tlen.inc ? r.tlen + 1 : r.tlen);

    Object.assign(n, {
      s: lost || inexact || r.s === t.lost ? t.lost : e("nxt"),
      hflags, tlen, acc, acc2, bar, unit, ldef, compound, pos, barno0: barno0 ? 1 : 0, fresh,
      sec_own: secOwn, sec_open: secOpen, psave, psave_start: psaveStart, var: v, need2,
      nplays, viol, pend, lnum, lden, lden_base: ldenBase, dacc, lnode, fnum, fden, tp, tq,
      tr, bnum, bden, ftarget, tie_tok: tieTok,
    });
    this.r = n;
  }
}
