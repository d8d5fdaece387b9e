// The Kyutai client against the protocol-faithful moshi-server fake (bridge/src/stt/testing): the
// framing (MessagePack, float 32 samples, 80 ms frames at 24 kHz, integer marker ids), the key
// header, interim words then one final, the flush with silence and a marker, and every failure the
// real server can give. No Kyutai model runs here: its weights need a GPU host.
import { strict as assert } from "node:assert";
import { createServer } from "node:net";
import { SttEngineError, SttEngineNotReadyError, type SttResult } from "../../../bridge/src/stt/engine.ts";
import { KyutaiEngine } from "../../../bridge/src/stt/kyutai.ts";
import type { KyutaiOptions } from "../../../bridge/src/stt/kyutai-protocol.ts";
import { FakeMoshiServer, type FakeMoshiOptions } from "../../../bridge/src/stt/testing/fake-moshi-server.ts";
import { Upsampler16kTo24k } from "../../../bridge/src/stt/upsample-24k.ts";
import type { TranscriptSegment } from "../../../bridge/src/transcript/segment.ts";
import { UtteranceTranscriber } from "../../../bridge/src/transcript/utterance-transcriber.ts";

const KEY = "ministry-key";
const AMPLITUDE = 0.3;

/** 16 kHz audio: silence with 440 Hz tone bursts at the given [start, end) milliseconds. */
function bursts(totalMs: number, spans: [number, number][]): Int16Array {
  const pcm = new Int16Array((totalMs * 16_000) / 1000);
  for (const [start, end] of spans) {
    for (let i = (start * 16) | 0; i < end * 16; i++) pcm[i] = Math.round(AMPLITUDE * 32767 * Math.sin((2 * Math.PI * 440 * i) / 16_000));
  }
  return pcm;
}

function options(url: string, overrides: Partial<KyutaiOptions> = {}): KyutaiOptions {
  return {
    url,
    path: "/api/asr-streaming",
    apiKey: KEY,
    leadingSilenceMs: 0,
    flushSilenceMs: 1000,
    endTimeoutMs: 5000,
    connectTimeoutMs: 2000,
    ...overrides,
  };
}

async function withServer(serverOptions: Partial<FakeMoshiOptions>, body: (server: FakeMoshiServer, url: string) => Promise<void>): Promise<void> {
  const server = new FakeMoshiServer({ authorizedIds: [KEY], script: ["bonjour", "madame"], ...serverOptions });
  const url = await server.listen();
  try {
    await body(server, url);
  } finally {
    await server.close();
  }
}

/** Writes the audio in 20 ms chunks, as the live pipeline does, and ends the stream. */
async function transcribe(engine: KyutaiEngine, pcm: Int16Array): Promise<SttResult[]> {
  const results: SttResult[] = [];
  const stream = engine.start({ onResult: (r) => results.push(r) });
  for (let at = 0; at < pcm.length; at += 320) stream.write(pcm.subarray(at, at + 320));
  await stream.end();
  return results;
}

describe("Kyutai engine (moshi-server protocol)", function () {
  this.timeout(10_000);

  it("streams 24 kHz float frames with the key header, gives each word as an interim result and the whole utterance as a final", async function () {
    await withServer({ delaySteps: 6 }, async (server, url) => {
      const results = await transcribe(new KyutaiEngine(options(url)), bursts(2500, [[500, 1000], [1500, 2000]]));

      const final = results.at(-1);
      assert.equal(final?.final, true);
      assert.equal(final.text, "bonjour madame");
      assert.deepEqual(results.slice(0, -1).map((r) => [r.text, r.final]), [["bonjour", false], ["bonjour madame", false]]);
      // The fake places words on 80 ms frames: within one frame of the audio's own times.
      const words = final.words ?? [];
      assert.equal(words.length, 2);
      for (const [i, [start, end]] of ([[500, 1000], [1500, 2000]] as const).entries()) {
        const word = words[i]!;
        assert.ok(Math.abs(word.startMs - start) <= 80, `${word.text} starts at ${word.startMs} ms, audio at ${start} ms`);
        assert.ok(Math.abs(word.endMs - end) <= 80, `${word.text} ends at ${word.endMs} ms, audio at ${end} ms`);
      }
      assert.equal(final.startMs, words[0]!.startMs);
      assert.equal(final.endMs, words[1]!.endMs);

      const [connection] = server.connections;
      assert.ok(connection !== undefined);
      assert.equal(connection.headers["kyutai-api-key"], KEY);
      assert.equal(connection.url, "/api/asr-streaming");
      const audio = connection.messages.filter((m) => m.type === "Audio");
      // Every frame 1920 samples, each a MessagePack float 32: map(1) "type"(5) "Audio"(6) "pcm"(4) array16(3) + 5 per sample.
      assert.ok(audio.every((m) => m.samples === 1920 && m.bytes === 1 + 5 + 6 + 4 + 3 + 5 * 1920), "every Audio frame is 1920 float 32 samples");
      // The marker right after the audio (its last frame completed with silence), then the flushing silence.
      const markerAt = connection.messages.findIndex((m) => m.type === "Marker");
      const samplesBeforeMarker = connection.messages.slice(0, markerAt).reduce((n, m) => n + (m.samples ?? 0), 0);
      assert.equal(samplesBeforeMarker, Math.ceil((2500 * 24) / 1920) * 1920);
      assert.ok(connection.messages.slice(markerAt + 1).reduce((n, m) => n + (m.samples ?? 0), 0) >= 24_000, "at least flush_silence_ms after the marker");
      assert.ok(Number.isInteger(connection.messages[markerAt]?.id));
      // 24 kHz and the level kept: 1 s of tone in all, at the amplitude written.
      const loud = connection.pcm.filter((x) => Math.abs(x) > 0.01).length;
      assert.ok(Math.abs(loud - 24_000) < 24_000 * 0.03, `${loud} loud samples at 24 kHz for 1 s of tone`);
      const peak = connection.pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      assert.ok(Math.abs(peak - AMPLITUDE) < 0.01, `peak ${peak}`);
      // The client closes once the marker is back.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(connection.closed, true);
    });
  });

  it("takes word times back to the stream's own time base when it sends leading silence", async function () {
    await withServer({ delaySteps: 3 }, async (server, url) => {
      const results = await transcribe(new KyutaiEngine(options(url, { leadingSilenceMs: 1000 })), bursts(1200, [[400, 800]]));
      const final = results.at(-1);
      assert.equal(final?.text, "bonjour");
      assert.ok(Math.abs(final.startMs - 400) <= 80, `starts at ${final.startMs}`);
      assert.ok(final.endMs <= 1200);
      assert.equal(server.connections[0]?.messages[0]?.samples, 1920, "leading silence first");
    });
  });

  it("keeps sending silence until the marker returns when the model's delay is longer than the flush", async function () {
    // 40 steps = 3.2 s of delay, against 1 s of flush on each side of the marker.
    await withServer({ delaySteps: 40 }, async (_server, url) => {
      const results = await transcribe(new KyutaiEngine(options(url)), bursts(1000, [[200, 600]]));
      assert.equal(results.at(-1)?.text, "bonjour");
      assert.equal(results.at(-1)?.final, true);
    });
  });

  it("gives no result for a stream with no words, and none after abort", async function () {
    await withServer({}, async (server, url) => {
      const engine = new KyutaiEngine(options(url));
      assert.deepEqual(await transcribe(engine, new Int16Array(16_000)), []);

      const results: SttResult[] = [];
      const stream = engine.start({ onResult: (r) => results.push(r) });
      stream.write(bursts(1500, [[100, 1400]]));
      stream.abort();
      await stream.end();
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(results, []);
      assert.equal(server.connections.at(-1)?.closed, true);
    });
  });

  it("fails the stream with the server's Error message, and when the connection drops before the marker", async function () {
    await withServer({ failAfterSteps: { steps: 5, message: "model step failed: CUDA out of memory" } }, async (_server, url) => {
      await assert.rejects(transcribe(new KyutaiEngine(options(url)), bursts(2000, [[100, 500]])), (err: Error) => {
        assert.ok(err instanceof SttEngineError);
        assert.match(err.message, /Kyutai server error: model step failed: CUDA out of memory/);
        return true;
      });
    });
    await withServer({ mute: true }, async (server, url) => {
      const stream = new KyutaiEngine(options(url)).start({ onResult: () => {} });
      stream.write(bursts(500, []));
      const ended = stream.end();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await server.close();
      await assert.rejects(ended, /Kyutai server closed the connection \(1006\) before the end of the stream/);
    });
  });

  it("fails a stream whose marker never comes back within the timeout", async function () {
    await withServer({ mute: true }, async (_server, url) => {
      await assert.rejects(transcribe(new KyutaiEngine(options(url, { endTimeoutMs: 500 })), bursts(500, [])), /did not finish the stream within 500 ms/);
    });
  });

  it("behind the VAD and assembler: one connection and one segment per utterance, interim versions then the final, in transcript time", async function () {
    await withServer({ delaySteps: 6 }, async (server, url) => {
      const seen: TranscriptSegment[] = [];
      const transcriber = new UtteranceTranscriber({
        engine: new KyutaiEngine(options(url, { language: "fr" })),
        speaker: { id: "@alice:a.test", name: "Alice" },
        onSegment: (s) => seen.push(s),
      });
      // Two utterances of two "words" each, 2 s apart (the VAD ends an utterance after 600 ms of silence).
      const pcm = bursts(6000, [[500, 900], [1100, 1500], [3500, 3900], [4100, 4500]]);
      for (let at = 0; at < pcm.length; at += 320) transcriber.push(pcm.subarray(at, at + 320));
      await transcriber.finish();
      const finals = seen.filter((s) => s.final);
      assert.deepEqual(finals.map((s) => s.text), ["bonjour madame", "bonjour madame"]);
      assert.equal(server.connections.length, 2, "one websocket per utterance");
      for (const [i, start] of [500, 3500].entries()) {
        assert.ok(Math.abs(finals[i]!.startMs - start) <= 80, `utterance ${i} starts at ${finals[i]!.startMs} ms, audio at ${start} ms`);
        assert.equal(finals[i]!.engine, "kyutai");
        assert.equal(finals[i]!.language, "fr");
      }
      assert.ok(seen.some((s) => !s.final && s.text === "bonjour"), "interim before final");
    });
  });

  describe("checkReady()", function () {
    it("passes against the batched module (Ready) and the plain one (its marker back)", async function () {
      await withServer({ batched: true }, async (_server, url) => {
        await new KyutaiEngine(options(url)).checkReady();
      });
      await withServer({ batched: false }, async (server, url) => {
        await new KyutaiEngine(options(url)).checkReady();
        assert.ok(server.connections[0]?.messages.some((m) => m.type === "Marker"));
      });
    });

    it("names a refused key, a missing key, a wrong path, a full server, a silent server and an unreachable one", async function () {
      const notReady = async (engine: KyutaiEngine, pattern: RegExp): Promise<void> => {
        await assert.rejects(engine.checkReady(), (err: Error) => {
          assert.ok(err instanceof SttEngineNotReadyError, `${err.name}: ${err.message}`);
          assert.match(err.message, pattern);
          return true;
        });
      };
      await withServer({ batched: true, slots: 0 }, async (server, url) => {
        await notReady(new KyutaiEngine(options(url, { apiKey: "wrong" })), /Kyutai server ws:\/\/127\.0\.0\.1:\d+\/api\/asr-streaming refused the API key \(401\)/);
        await notReady(new KyutaiEngine(options(url, { apiKey: undefined })), /wants an API key \(401\); set stt\.kyutai\.api_key/);
        assert.equal(server.refused, 2);
        await notReady(new KyutaiEngine(options(url, { path: "/api/tts_streaming" })), /answered 404 instead of a websocket/);
        await notReady(new KyutaiEngine(options(url)), /answered: no free channels/);
      });
      await withServer({ mute: true }, async (_server, url) => {
        await notReady(new KyutaiEngine(options(url, { endTimeoutMs: 300 })), /accepted the connection but did not answer within 300 ms/);
      });
      const port = await freePort();
      await notReady(new KyutaiEngine(options(`ws://127.0.0.1:${port}`)), /unreachable: .*ECONNREFUSED/);
    });

    it("does not leak the key into error messages", async function () {
      await withServer({}, async (_server, url) => {
        await assert.rejects(new KyutaiEngine(options(url, { apiKey: "secret-value" })).checkReady(), (err: Error) => !err.message.includes("secret-value"));
      });
    });
  });
});

describe("16 → 24 kHz upsampler", function () {
  it("keeps a 1 kHz tone's shape and timing, whether pushed at once or in pieces", function () {
    const input = new Int16Array(16_000);
    for (let i = 0; i < input.length; i++) input[i] = Math.round(16_000 * Math.sin((2 * Math.PI * 1000 * i) / 16_000));
    const whole = new Upsampler16kTo24k();
    const out = Float32Array.from([...whole.push(input), ...whole.flush()]);
    assert.equal(out.length, 24_000);
    // Away from the edges, each output equals the tone sampled at 24 kHz.
    let worst = 0;
    for (let n = 100; n < out.length - 100; n++) worst = Math.max(worst, Math.abs(out[n]! - (16_000 / 32768) * Math.sin((2 * Math.PI * 1000 * n) / 24_000)));
    assert.ok(worst < 0.005, `largest error ${worst}`);

    const pieces = new Upsampler16kTo24k();
    const chunks: number[] = [];
    for (let at = 0; at < input.length; at += 333) chunks.push(...pieces.push(input.subarray(at, at + 333)));
    chunks.push(...pieces.flush());
    assert.deepEqual(Float32Array.from(chunks), out);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
