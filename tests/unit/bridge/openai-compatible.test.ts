// The OpenAI-compatible client against a local HTTP server that checks the request as the API defines
// it (multipart/form-data with the WAV file and the form fields). A protocol test: no Whisper server runs.
import { strict as assert } from "node:assert";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SttEngineError, SttEngineNotReadyError, type SttResult } from "../../../bridge/src/stt/engine.ts";
import { OpenAiCompatibleEngine, stableWords } from "../../../bridge/src/stt/openai-compatible.ts";

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  form?: FormData;
}

type Handler = (request: Received, response: ServerResponse) => void;

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("OpenAI-compatible engine", function () {
  let server: Server;
  let baseUrl: string;
  let handler: Handler;
  const received: Received[] = [];

  before(async function () {
    server = createServer((request, response) => {
      void (async () => {
        const body = await readBody(request);
        const entry: Received = { method: request.method ?? "", url: request.url ?? "", headers: request.headers };
        const type = request.headers["content-type"];
        if (type?.startsWith("multipart/form-data")) {
          // The platform's own multipart parser: what a real server would accept.
          entry.form = await new Response(new Uint8Array(body), { headers: { "content-type": type } }).formData();
        }
        received.push(entry);
        handler(entry, response);
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  after(function () {
    server.close();
  });

  beforeEach(function () {
    received.length = 0;
  });

  it("posts each stream's audio as a 16 kHz mono WAV with the model and verbose_json, and reads segments and words", async function () {
    handler = (_request, response) =>
      json(response, 200, {
        text: " Bonjour à tous. ",
        language: "french",
        segments: [{ id: 0, start: 0.32, end: 1.4, text: " Bonjour à tous." }],
        words: [
          { word: " Bonjour", start: 0.32, end: 0.8, probability: 0.9 },
          { word: " à", start: 0.8, end: 0.9 },
          { word: " tous.", start: 0.9, end: 1.4 },
        ],
      });
    const engine = new OpenAiCompatibleEngine({ url: baseUrl, models: ["Systran/faster-whisper-small"], apiKey: "sk-test", timeoutMs: 5000 });
    const results: SttResult[] = [];
    const stream = engine.start({ language: "fr-FR", onResult: (r) => results.push(r) });
    const pcm = Int16Array.from({ length: 24_000 }, (_, i) => (i % 100) - 50);
    stream.write(pcm.subarray(0, 10_000));
    stream.write(pcm.subarray(10_000));
    await stream.end();

    assert.equal(received.length, 1);
    const [request] = received;
    assert.ok(request?.form !== undefined, "multipart/form-data");
    assert.equal(request.method, "POST");
    assert.equal(request.url, "/v1/audio/transcriptions");
    assert.equal(request.headers.authorization, "Bearer sk-test");
    assert.equal(request.form.get("model"), "Systran/faster-whisper-small");
    assert.equal(request.form.get("response_format"), "verbose_json");
    assert.equal(request.form.get("language"), "fr");
    assert.deepEqual(request.form.getAll("timestamp_granularities[]"), ["segment", "word"]);
    const file = request.form.get("file");
    assert.ok(file instanceof File);
    assert.equal(file.name, "utterance.wav");
    assert.equal(file.type, "audio/wav");
    const wav = Buffer.from(await file.arrayBuffer());
    assert.equal(wav.subarray(0, 4).toString("latin1"), "RIFF");
    assert.equal(wav.subarray(8, 12).toString("latin1"), "WAVE");
    assert.equal(wav.readUInt16LE(20), 1, "PCM");
    assert.equal(wav.readUInt16LE(22), 1, "mono");
    assert.equal(wav.readUInt32LE(24), 16_000);
    assert.equal(wav.readUInt16LE(34), 16);
    assert.equal(wav.readUInt32LE(40), 48_000);
    assert.equal(wav.readInt16LE(44 + 2 * 12_345), pcm[12_345]);

    assert.deepEqual(results, [
      {
        text: "Bonjour à tous.",
        startMs: 320,
        endMs: 1400,
        final: true,
        words: [
          { text: "Bonjour", startMs: 320, endMs: 800, confidence: 0.9 },
          { text: "à", startMs: 800, endMs: 900 },
          { text: "tous.", startMs: 900, endMs: 1400 },
        ],
      },
    ]);
  });

  it("sends nothing for a stream without audio, and no language unless one is set", async function () {
    handler = (_request, response) => json(response, 200, { text: "hi", segments: [{ start: 0, end: 0.5, text: "hi" }] });
    const engine = new OpenAiCompatibleEngine({ url: baseUrl, models: ["m"], timeoutMs: 5000 });
    await engine.start({ onResult: () => assert.fail("no result") }).end();
    assert.equal(received.length, 0);
    const results: SttResult[] = [];
    const stream = engine.start({ onResult: (r) => results.push(r) });
    stream.write(new Int16Array(16_000));
    await stream.end();
    assert.equal(received[0]?.form?.get("language"), null);
    assert.equal(received[0]?.headers.authorization, undefined);
    assert.deepEqual(results, [{ text: "hi", startMs: 0, endMs: 500, final: true }]);
  });

  it("fails the stream with the server's error message", async function () {
    handler = (_request, response) => json(response, 400, { error: { message: "Invalid file format", type: "invalid_request_error" } });
    const engine = new OpenAiCompatibleEngine({ url: baseUrl, models: ["m"], timeoutMs: 5000 });
    const stream = engine.start({ onResult: () => {} });
    stream.write(new Int16Array(1600));
    await assert.rejects(stream.end(), (err: unknown) => err instanceof SttEngineError && /400: Invalid file format/.test(err.message));
  });

  it("checks at start that the server answers and serves the model", async function () {
    handler = (_request, response) => json(response, 200, { object: "list", data: [{ id: "tiny.en" }, { id: "small" }] });
    await new OpenAiCompatibleEngine({ url: baseUrl, models: ["small"], timeoutMs: 5000 }).checkReady();
    await assert.rejects(
      new OpenAiCompatibleEngine({ url: baseUrl, models: ["large-v3"], timeoutMs: 5000 }).checkReady(),
      (err: unknown) => err instanceof SttEngineNotReadyError && /does not serve model large-v3 \(it serves: tiny.en, small\)/.test(err.message),
    );
    handler = (_request, response) => json(response, 401, { error: "bad key" });
    await assert.rejects(new OpenAiCompatibleEngine({ url: baseUrl, models: ["small"], timeoutMs: 5000 }).checkReady(), /refused the API key/);
    // A server without /v1/models is reachable, which is all that can be checked.
    handler = (_request, response) => json(response, 404, { detail: "Not Found" });
    await new OpenAiCompatibleEngine({ url: baseUrl, models: ["small"], timeoutMs: 5000 }).checkReady();
  });

  it("re-decodes the growing utterance and shows as interim only the words two decodings agree on", async function () {
    // What Whisper does with a growing utterance: its last word changes as more audio comes.
    const hypotheses = ["The meat", "The meeting will", "The meeting will start at", "The meeting will start at ten."];
    handler = (request, response) => {
      const file = request.form?.get("file");
      void (file as File).arrayBuffer().then((wav) => {
        const seconds = (wav.byteLength - 44) / 32_000;
        json(response, 200, { text: hypotheses[Math.min(hypotheses.length, Math.round(seconds)) - 1] ?? "", segments: [{ start: 0, end: seconds }] });
      });
    };
    const engine = new OpenAiCompatibleEngine({ url: baseUrl, models: ["tiny.en"], timeoutMs: 5000, interimIntervalMs: 1000 });
    const results: SttResult[] = [];
    const stream = engine.start({ onResult: (r) => results.push(r) });
    const second = new Int16Array(16_000);
    for (let i = 0; i < 4; i++) {
      stream.write(second);
      // Each interim answer comes before the next second of audio, as with a real-time caller.
      const before = received.length;
      await waitFor(() => received.length > before);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await stream.end();
    const interims = results.filter((r) => !r.final).map((r) => r.text);
    // "The meat" → "The"; "The meeting will" shares only "The" with it → nothing new; then the agreed prefixes.
    assert.deepEqual(interims, ["The", "The meeting will", "The meeting will start at"], "first: all but the last word; then only what two decodings share");
    assert.deepEqual(results.filter((r) => r.final).map((r) => r.text), ["The meeting will start at ten."]);
    assert.equal(results.at(-1)?.final, true, "the final comes last");
    // Interim decodings ask for a quick decoding and no word times; the final one asks for word times.
    const forms = received.map((r) => r.form!);
    assert.deepEqual(forms.map((f) => f.get("interim")), [...forms.slice(0, -1).map(() => "true"), null]);
    assert.deepEqual(forms.at(-1)?.getAll("timestamp_granularities[]"), ["segment", "word"]);
    assert.deepEqual(forms[0]?.getAll("timestamp_granularities[]"), ["segment"]);
  });

  it("compares words as a reader does, and keeps only what two decodings share from the start", function () {
    assert.deepEqual(stableWords(undefined, ["Hello", "there"]), ["Hello"]);
    assert.deepEqual(stableWords(["hello,", "there"], ["Hello", "there.", "friend"]), ["Hello", "there."]);
    assert.deepEqual(stableWords(["a", "b"], ["x", "b"]), []);
  });

  it("refuses at start a language the served model does not know (an English-only .en model asked for French)", async function () {
    handler = (_request, response) => json(response, 200, { data: [{ id: "tiny.en", multilingual: false, languages: ["en"] }] });
    await new OpenAiCompatibleEngine({ url: baseUrl, models: ["tiny.en"], language: "en", timeoutMs: 5000 }).checkReady();
    await assert.rejects(
      new OpenAiCompatibleEngine({ url: baseUrl, models: ["tiny.en"], language: "fr", timeoutMs: 5000 }).checkReady(),
      (err: unknown) => err instanceof SttEngineNotReadyError && /no configured Whisper model transcribes language fr \(tiny\.en: en\)/.test(err.message),
    );
  });

  it("sends each stream to the first model that covers its language, as the server lists them or as a .en name says", async function () {
    handler = (_request, response) =>
      json(response, 200, { data: [{ id: "tiny.en", languages: ["en"] }, { id: "base", languages: ["en", "fr", "de"] }, { id: "small" }] });
    const engine = new OpenAiCompatibleEngine({ url: baseUrl, models: ["tiny.en", "base"], timeoutMs: 5000 });
    await engine.checkReady();
    assert.equal(engine.modelFor("en-GB"), "tiny.en");
    assert.equal(engine.modelFor("fr-FR"), "base");
    assert.equal(engine.modelFor("und"), "base", "detection needs a multilingual model");
    assert.throws(() => engine.modelFor("br"), (err: unknown) => err instanceof SttEngineNotReadyError && /language br \(tiny\.en: en; base: en, fr, de\)/.test(err.message));
    // Without a server's list: a .en name is English only, any other name may be anything.
    const unlisted = new OpenAiCompatibleEngine({ url: baseUrl, models: ["small.en", "small"], timeoutMs: 5000 });
    assert.equal(unlisted.modelFor("en"), "small.en");
    assert.equal(unlisted.modelFor("fr"), "small");
    const englishOnly = new OpenAiCompatibleEngine({ url: baseUrl, models: ["tiny.en"], timeoutMs: 5000 });
    assert.equal(englishOnly.modelFor("und"), "tiny.en", "detection falls back on the one model there is");
    // The request names the chosen model; a stream in a language no model covers fails at its end without asking.
    handler = (_request, response) => json(response, 200, { text: "bonjour" });
    const french = engine.start({ language: "fr", onResult: () => {} });
    french.write(new Int16Array(1600));
    await french.end();
    const breton = engine.start({ language: "br", onResult: () => assert.fail("nothing is transcribed") });
    breton.write(new Int16Array(1600));
    await assert.rejects(breton.end(), SttEngineNotReadyError);
    const posts = received.filter((r) => r.method === "POST");
    assert.deepEqual(posts.map((r) => r.form?.get("model")), ["base"]);
  });

  it("says when the server is unreachable", async function () {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      new OpenAiCompatibleEngine({ url: `http://127.0.0.1:${port}`, models: ["m"], timeoutMs: 2000 }).checkReady(),
      (err: unknown) => err instanceof SttEngineNotReadyError && /unreachable/.test(err.message),
    );
  });
});
