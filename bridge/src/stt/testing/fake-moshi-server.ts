// moshi-server's `asr` websocket endpoint for unit tests, as kyutai-labs/moshi's rust/moshi-server
// implements it (src/main.rs asr_router/batched_asr_router, src/asr.rs, src/batched_asr.rs):
// - GET <path> upgrades to a websocket only with an authorised id in the `kyutai-api-key` header or
//   the `auth_id` query parameter; otherwise HTTP 401 and no websocket;
// - every message is a binary MessagePack map tagged by "type"; a frame that does not decode as an
//   `InMsg` ends the connection (the server's receive loop returns the rmp-serde error);
// - audio is stepped in frames of 1920 samples (80 ms at 24 kHz), buffered across messages;
// - a word comes `delaySteps` steps after its audio, as Word {text, start_time} then EndWord
//   {stop_time}; a marker comes back once `delaySteps` more frames have been stepped;
// - the batched module sends Ready first, and Error {message: "no free channels"} then closes when full.
// In place of the model, each burst of sound (frames louder than -40 dBFS) is "recognised" as the
// next word of a script, so a test can check the audio's level, rate and timing end to end.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decode, encode } from "@msgpack/msgpack";
import { WebSocketServer, type WebSocket } from "ws";

export const MOSHI_FRAME_SAMPLES = 1920;
const FRAME_SECONDS = MOSHI_FRAME_SAMPLES / 24_000;

export interface FakeMoshiOptions {
  /** The server's `authorized_ids`. */
  authorizedIds: string[];
  path?: string;
  /** BatchedAsr (Ready first, a fixed number of slots) rather than Asr. */
  batched?: boolean;
  /** Slots of the batched module; a connection beyond them gets "no free channels". */
  slots?: number;
  /** `asr_delay_in_tokens`: steps between a frame and the words it holds (6 for stt-1b-en_fr). */
  delaySteps?: number;
  /** The words "recognised", one per burst of sound, in turn. */
  script?: string[];
  /** Sends Error {message} after this many steps of a connection, then closes (a failing model). */
  failAfterSteps?: { steps: number; message: string };
  /** Accepts connections but never answers anything (a stuck server). */
  mute?: boolean;
}

/** What one connection sent, for the tests' assertions. */
export interface FakeMoshiConnection {
  headers: Record<string, string | string[] | undefined>;
  url: string;
  /** Every InMsg in order, with the raw size of its frame. */
  messages: { type: string; bytes: number; samples?: number; id?: number }[];
  /** All audio received, 24 kHz. */
  pcm: number[];
  closed: boolean;
}

interface ConnectionState {
  record: FakeMoshiConnection;
  buffer: number[];
  step: number;
  voicedSince: number | undefined;
  words: number;
  /** Messages waiting for their step: [step at which to send, message]. */
  scheduled: { at: number; message: Record<string, unknown> }[];
}

export class FakeMoshiServer {
  readonly connections: FakeMoshiConnection[] = [];
  /** Upgrades refused with 401. */
  refused = 0;
  #options: FakeMoshiOptions;
  #http: Server;
  #wss = new WebSocketServer({ noServer: true });
  #open = new Set<WebSocket>();

  constructor(options: FakeMoshiOptions) {
    this.#options = options;
    this.#http = createServer((_req, res) => res.writeHead(404).end());
    this.#http.on("upgrade", (req, socket, head) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname !== (options.path ?? "/api/asr-streaming")) return void socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      const header = req.headers["kyutai-api-key"];
      const id = typeof header === "string" ? header : url.searchParams.get("auth_id");
      if (id === null || !options.authorizedIds.includes(id)) {
        this.refused++;
        return void socket.end("HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n");
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req.headers, req.url ?? ""));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#http.listen(0, "127.0.0.1", resolve));
    return `ws://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const ws of this.#open) ws.terminate();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #accept(ws: WebSocket, headers: FakeMoshiConnection["headers"], url: string): void {
    const record: FakeMoshiConnection = { headers, url, messages: [], pcm: [], closed: false };
    this.connections.push(record);
    ws.on("close", () => {
      record.closed = true;
      this.#open.delete(ws);
    });
    if (this.#options.batched === true && this.#open.size >= (this.#options.slots ?? 64)) {
      send(ws, { type: "Error", message: "no free channels" });
      ws.close();
      return;
    }
    this.#open.add(ws);
    if (this.#options.mute === true) return;
    if (this.#options.batched === true) send(ws, { type: "Ready" });
    const state: ConnectionState = { record, buffer: [], step: 0, voicedSince: undefined, words: 0, scheduled: [] };
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      // Text, ping and pong messages are skipped by the server.
      if (!isBinary) return;
      let message: unknown;
      try {
        message = decode(data);
      } catch {
        ws.terminate();
        return;
      }
      if (!this.#handle(ws, state, message, data.length)) ws.terminate();
    });
  }

  /** One InMsg; false when rmp-serde would refuse it. */
  #handle(ws: WebSocket, state: ConnectionState, message: unknown, bytes: number): boolean {
    if (typeof message !== "object" || message === null) return false;
    const m = message as Record<string, unknown>;
    if (m.type === "Audio") {
      if (!Array.isArray(m.pcm) || !m.pcm.every((x) => typeof x === "number")) return false;
      const pcm = m.pcm as number[];
      state.record.messages.push({ type: "Audio", bytes, samples: pcm.length });
      state.record.pcm.push(...pcm);
      state.buffer.push(...pcm);
      while (state.buffer.length >= MOSHI_FRAME_SAMPLES) this.#step(ws, state, state.buffer.splice(0, MOSHI_FRAME_SAMPLES));
      return true;
    }
    if (m.type === "Marker") {
      // An i64: a float id does not deserialise.
      if (typeof m.id !== "number" || !Number.isInteger(m.id)) return false;
      state.record.messages.push({ type: "Marker", bytes, id: m.id });
      state.scheduled.push({ at: state.step + (this.#options.delaySteps ?? 6), message: { type: "Marker", id: m.id } });
      return true;
    }
    if (m.type === "Init" || m.type === "OggOpus") {
      state.record.messages.push({ type: m.type, bytes });
      return true;
    }
    return false;
  }

  #step(ws: WebSocket, state: ConnectionState, frame: number[]): void {
    const delay = this.#options.delaySteps ?? 6;
    const energy = frame.reduce((acc, x) => acc + x * x, 0) / frame.length;
    const voiced = 10 * Math.log10(energy + 1e-12) > -40;
    if (voiced && state.voicedSince === undefined) {
      state.voicedSince = state.step;
      const script = this.#options.script ?? ["word"];
      const text = script[state.words++ % script.length]!;
      state.scheduled.push({ at: state.step + delay, message: { type: "Word", text, start_time: state.step * FRAME_SECONDS } });
    } else if (!voiced && state.voicedSince !== undefined) {
      state.voicedSince = undefined;
      state.scheduled.push({ at: state.step + delay, message: { type: "EndWord", stop_time: state.step * FRAME_SECONDS } });
    }
    state.step++;
    send(ws, { type: "Step", step_idx: state.step, prs: [0, 0, 0, 0], buffered_pcm: state.buffer.length });
    const due = state.scheduled.filter((s) => s.at <= state.step);
    state.scheduled = state.scheduled.filter((s) => s.at > state.step);
    for (const s of due) send(ws, s.message);
    const failure = this.#options.failAfterSteps;
    if (failure !== undefined && state.step === failure.steps) {
      send(ws, { type: "Error", message: failure.message });
      ws.close();
    }
  }
}

/**
 * As the server serialises OutMsg: rmp-serde with struct maps. Word.start_time and EndWord.stop_time
 * are f64, so they go as MessagePack float 64 even when whole (0.0); the other numbers are integers.
 */
function send(ws: WebSocket, message: Record<string, unknown>): void {
  if (ws.readyState !== ws.OPEN) return;
  const timed = message.type === "Word" || message.type === "EndWord";
  ws.send(encode(message, { forceIntegerToFloat: timed }));
}
