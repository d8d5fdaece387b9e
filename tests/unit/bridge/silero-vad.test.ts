// Silero VAD (the real v5 model the toolchain installs, run by sherpa-onnx-node) against the energy
// VAD on a recorded phrase of a person (Tux Paint) under steady noise 10 dB below the speech: Silero
// finds it, the energy threshold misses most of it (the reason the workers use Silero). The config picks Silero
// when it names a model, and a model that is not there is a clear error at start.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ConfigError } from "../../../config/load.ts";
import { vadOptions } from "../../../bridge/src/vad-from-config.ts";
import { parseWorkerConfig } from "../../../config/worker-schema.ts";
import { EnergyVad } from "../../../bridge/src/transcript/energy-vad.ts";
import type { Vad } from "../../../bridge/src/transcript/frame-vad.ts";
import { checkSileroModel, SileroVad } from "../../../bridge/src/transcript/silero-vad.ts";
import { createVad } from "../../../bridge/src/transcript/vad.ts";
import { listFrenchClips } from "../../harness/speech/french-speech.ts";

const run = promisify(execFile);
const RATE = 16_000;

function model(): string {
  const path = process.env.VISIO_SILERO_VAD_MODEL;
  if (path === undefined || path === "") throw new Error("VISIO_SILERO_VAD_MODEL is not set: run through `npm test`, which installs the Silero VAD model");
  return path;
}

/** A phrase with 1 s of silence around it, and white noise 10 dB below its speech; where it is speech. */
async function noisyPhrase(): Promise<{ pcm: Int16Array; speech: [number, number] }> {
  const clip = (await listFrenchClips()).find((c) => c.text.split(" ").length >= 6);
  assert.ok(clip);
  const { stdout } = await run("sox", [clip.audioPath, "-t", "raw", "-r", String(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-"], { encoding: "buffer", maxBuffer: 1 << 26 });
  const phrase = new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length / 2);
  const pcm = new Float64Array(phrase.length + 2 * RATE);
  phrase.forEach((v, i) => (pcm[RATE + i] = v));
  let power = 0;
  let loud = 0;
  let first = -1;
  let last = -1;
  for (let i = 0; i < phrase.length; i++) {
    if (Math.abs(phrase[i]!) > 300) {
      power += phrase[i]! ** 2;
      loud++;
      if (first < 0) first = i;
      last = i;
    }
  }
  let seed = 99;
  const amplitude = Math.sqrt((3 * power) / loud / 10);
  const noisy = Int16Array.from(pcm, (v) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return Math.max(-32768, Math.min(32767, Math.round(v + amplitude * ((seed / 2 ** 32) * 2 - 1))));
  });
  return { pcm: noisy, speech: [1000 + (first * 1000) / RATE, 1000 + (last * 1000) / RATE] };
}

function utterances(vad: Vad, pcm: Int16Array): [number, number][] {
  const found: [number, number][] = [];
  let start = 0;
  for (let at = 0; at < pcm.length; at += 960) {
    for (const e of vad.push(pcm.subarray(at, at + 960))) {
      if (e.type === "speech-start") start = e.startMs;
      if (e.type === "speech-end") found.push([start, e.speechEndMs]);
    }
  }
  for (const e of vad.flush()) if (e.type === "speech-end") found.push([start, e.speechEndMs]);
  return found;
}

describe("Silero VAD (real model, sherpa-onnx-node)", () => {
  it("finds a recorded phrase 10 dB under steady noise as one utterance, where the energy VAD misses most of it", async () => {
    const { pcm, speech } = await noisyPhrase();
    const silero = utterances(new SileroVad({ model: model() }), pcm);
    assert.equal(silero.length, 1, JSON.stringify(silero));
    const [[start, end]] = silero as [[number, number]];
    assert.ok(start <= speech[0] && end >= speech[1] - 300, `utterance ${start}-${end} ms, speech ${speech[0].toFixed(0)}-${speech[1].toFixed(0)} ms`);
    const covered = utterances(new EnergyVad(), pcm).reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, speech[1]) - Math.max(a, speech[0])), 0);
    assert.ok(covered < 0.5 * (speech[1] - speech[0]), `the energy VAD covers ${covered.toFixed(0)} ms of ${(speech[1] - speech[0]).toFixed(0)} ms`);
  });

  it("is the detector when the config names a model, the energy VAD otherwise; a missing model is a clear error", () => {
    const base = { livekit: { url: "ws://lk", api_key: "k", api_secret: "s".repeat(32) }, matrix: { homeserver_url: "http://hs", as_token: "t".repeat(32), user_id: "@bot:hs" } };
    const withModel = parseWorkerConfig({ ...base, vad: { silero_model: model() } });
    assert.ok(createVad(vadOptions(withModel.vad)) instanceof SileroVad);
    assert.ok(createVad(vadOptions(parseWorkerConfig(base).vad)) instanceof EnergyVad);
    assert.doesNotThrow(() => checkSileroModel(model()));
    assert.doesNotThrow(() => checkSileroModel(undefined));
    assert.throws(() => checkSileroModel("/nowhere/silero.onnx"), (err: unknown) => err instanceof ConfigError && /vad\.silero_model/.test(err.message));
  });
});
