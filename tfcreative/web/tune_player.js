// Plays an ABC tune rendered by abcjs with a small WebAudio synthesizer.
// abcjs's own synth plays sampled instruments downloaded from the internet at play time; this
// one needs nothing but the browser, so the demo also works offline. abcjs still does the
// music: it turns the notation (repeats, ties, tuplets, tempo) into timed MIDI notes.

// The notes of a rendered tune: MIDI pitch, start and duration in seconds, volume 0..1.
export function tuneNotes(visualObj) {
  const sequence = visualObj.setUpAudio();
  const meter = visualObj.getMeterFraction();
  // abcjs times notes in whole notes; a measure lasts millisecondsPerMeasure at the tune's tempo.
  const secondsPerWholeNote =
    visualObj.millisecondsPerMeasure(sequence.tempo) / 1000 / (meter.num / meter.den);
  const notes = [];
  for (const track of sequence.tracks) {
    for (const event of track) {
      if (event.cmd !== "note" || !(event.duration > 0) || event.pitch === undefined) continue;
      notes.push({
        pitch: event.pitch,
        start: event.start * secondsPerWholeNote,
        duration: event.duration * secondsPerWholeNote,
        volume: (event.volume ?? 80) / 127,
      });
    }
  }
  return notes.sort((a, b) => a.start - b.start);
}

export function midiToHertz(pitch) {
  return 440 * 2 ** ((pitch - 69) / 12);
}

// Schedules every note on `context` (an AudioContext, or an OfflineAudioContext to render),
// starting at context time `when`; returns the time the last note has faded out.
export function scheduleNotes(context, notes, when) {
  const output = context.createGain();
  output.gain.value = 0.3;
  output.connect(context.destination);
  let end = when;
  for (const note of notes) {
    const start = when + note.start;
    const stop = start + Math.max(note.duration, 0.03);
    const oscillator = context.createOscillator();
    oscillator.type = "triangle";
    oscillator.frequency.value = midiToHertz(note.pitch);
    const envelope = context.createGain();
    // A plucked envelope: 5 ms attack, decay while held, 40 ms release (no clicks).
    envelope.gain.setValueAtTime(0, start);
    envelope.gain.linearRampToValueAtTime(note.volume, start + 0.005);
    envelope.gain.exponentialRampToValueAtTime(Math.max(note.volume * 0.4, 1e-3), stop);
    envelope.gain.exponentialRampToValueAtTime(1e-4, stop + 0.04);
    oscillator.connect(envelope).connect(output);
    oscillator.start(start);
    oscillator.stop(stop + 0.05);
    end = Math.max(end, stop + 0.05);
  }
  return end;
}

// Plays live; returns a function that stops playback.
export function playNotes(notes) {
  const context = new AudioContext();
  const end = scheduleNotes(context, notes, context.currentTime + 0.1);
  const timer = setTimeout(() => context.close(), (end - context.currentTime + 0.5) * 1000);
  return () => {
    clearTimeout(timer);
    if (context.state !== "closed") context.close();
  };
}

// Renders the notes offline into samples (what the speakers would get), for checks.
export async function renderNotes(notes, sampleRate = 22050) {
  const seconds = notes.reduce((end, n) => Math.max(end, n.start + n.duration), 0) + 0.2;
  const context = new OfflineAudioContext(1, Math.ceil(seconds * sampleRate), sampleRate);
  scheduleNotes(context, notes, 0);
  const buffer = await context.startRendering();
  return { samples: buffer.getChannelData(0), sampleRate };
}
