// Kyutai's streaming speech-to-text through moshi-server's `asr` module (the Rust server of
// kyutai-labs/moshi, modules `Asr` and `BatchedAsr`): one websocket per stream at `<url>/api/asr-streaming`,
// authenticated by the `kyutai-api-key` header. Every frame both ways is one binary websocket message
// holding one MessagePack map tagged by "type":
//   client → server  {type: "Audio", pcm: [float32…]}  24 kHz mono in [-1, 1], any length (80 ms here)
//                    {type: "Marker", id: int}          echoed once the audio before it is transcribed
//   server → client  {type: "Ready"}                    (BatchedAsr) a batch slot is ours
//                    {type: "Word", text, start_time}    a word, seconds from the first sample sent
//                    {type: "EndWord", stop_time}        end of the last word
//                    {type: "Step", step_idx, prs, buffered_pcm}  one model step (semantic VAD heads)
//                    {type: "Marker", id}
//                    {type: "Error", message}            then the server closes ("no free channels")
// A refused key is an HTTP 401 before the upgrade. The model answers with a fixed delay (0.5 s for
// stt-1b-en_fr, 2.5 s for stt-2.6b-en), and only as audio keeps coming: the end of a stream is a marker
// followed by silence until the marker comes back, as Kyutai's clients do.
import { decode, encode } from "@msgpack/msgpack";
import WebSocket from "ws";
import { KYUTAI_SAMPLE_RATE } from "./upsample-24k.ts";

export const KYUTAI_API_KEY_HEADER = "kyutai-api-key";
export const KYUTAI_DEFAULT_PATH = "/api/asr-streaming";
/** The model's frame: 80 ms at 24 kHz, what Kyutai's own clients send per message. */
export const KYUTAI_FRAME_SAMPLES = 1920;

export interface KyutaiOptions {
  /** ws:// or wss:// base URL of moshi-server; `path` is appended. */
  url: string;
  path: string;
  apiKey?: string;
  /** Language recorded in the transcript; the model itself detects en/fr. */
  language?: string;
  /** Silence sent before the audio (Kyutai sends 1 s for stt-2.6b-en); word times are corrected for it. */
  leadingSilenceMs: number;
  /** Silence sent right after the end marker: at least the model's delay. */
  flushSilenceMs: number;
  /** How long end() waits for the end marker before failing. */
  endTimeoutMs: number;
  connectTimeoutMs: number;
}

/** What the server sends, as its Rust `OutMsg` serialises (rmp-serde, struct maps, tag "type"). */
export type ServerMessage =
  | { type: "Ready" }
  | { type: "Word"; text: string; start_time: number }
  | { type: "EndWord"; stop_time: number }
  | { type: "Step"; step_idx: number; prs: number[]; buffered_pcm: number }
  | { type: "Marker"; id: number }
  | { type: "Error"; message: string };

/** `Audio.pcm` is `Vec<f32>`: every sample goes as a MessagePack float 32, even 0. */
export function encodeAudioMessage(pcm: Float32Array): Uint8Array {
  return encode({ type: "Audio", pcm: Array.from(pcm) }, { forceFloat32: true, forceIntegerToFloat: true });
}

/** `Marker.id` is an `i64`: an integer, never a float. */
export function encodeMarkerMessage(id: number): Uint8Array {
  return encode({ type: "Marker", id });
}

/** A server frame, or undefined when it is not one we know (newer servers may add types). */
export function decodeServerMessage(data: Uint8Array): ServerMessage | undefined {
  let value: unknown;
  try {
    value = decode(data);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case "Ready":
      return { type: "Ready" };
    case "Word":
      return typeof m.text === "string" && typeof m.start_time === "number"
        ? { type: "Word", text: m.text, start_time: m.start_time }
        : undefined;
    case "EndWord":
      return typeof m.stop_time === "number" ? { type: "EndWord", stop_time: m.stop_time } : undefined;
    case "Step":
      return {
        type: "Step",
        step_idx: Number(m.step_idx),
        prs: Array.isArray(m.prs) ? m.prs.map(Number) : [],
        buffered_pcm: Number(m.buffered_pcm),
      };
    case "Marker":
      return typeof m.id === "number" ? { type: "Marker", id: m.id } : undefined;
    case "Error":
      return { type: "Error", message: typeof m.message === "string" ? m.message : String(m.message) };
    default:
      return undefined;
  }
}

export function endpoint(options: KyutaiOptions): string {
  return `${options.url.replace(/\/+$/, "")}/${options.path.replace(/^\/+/, "")}`;
}

/** Why a connection attempt failed, in words an operator can act on. */
type ConnectFailure = { kind: "refused-key"; status: number } | { kind: "http"; status: number } | { kind: "network"; message: string };

function describeFailure(options: KyutaiOptions, failure: ConnectFailure): string {
  const url = endpoint(options);
  switch (failure.kind) {
    case "refused-key":
      return options.apiKey === undefined
        ? `Kyutai server ${url} wants an API key (${failure.status}); set stt.kyutai.api_key`
        : `Kyutai server ${url} refused the API key (${failure.status})`;
    case "http":
      return `Kyutai server ${url} answered ${failure.status} instead of a websocket (is ${options.path} its asr-streaming path?)`;
    case "network":
      return `Kyutai server ${url} unreachable: ${failure.message}`;
  }
}

/** Opens the websocket; resolves when it is open, rejects with what went wrong. */
export function connect(options: KyutaiOptions): { socket: WebSocket; opened: Promise<void> } {
  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined) headers[KYUTAI_API_KEY_HEADER] = options.apiKey;
  const socket = new WebSocket(endpoint(options), { headers, handshakeTimeout: options.connectTimeoutMs });
  const opened = new Promise<void>((resolve, reject) => {
    const fail = (failure: ConnectFailure): void => reject(Object.assign(new Error(describeFailure(options, failure)), { failure }));
    socket.once("open", () => resolve());
    socket.once("unexpected-response", (_request, response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      socket.terminate();
      fail(status === 401 || status === 403 ? { kind: "refused-key", status } : { kind: "http", status });
    });
    socket.once("error", (err) => fail({ kind: "network", message: err.message }));
  });
  // Later errors surface through "close"; an unhandled "error" event would crash the process.
  socket.on("error", () => {});
  return { socket, opened };
}

/** At least `ms` of silence, in whole frames. */
export function silence(ms: number): Float32Array {
  return new Float32Array(Math.ceil((ms * KYUTAI_SAMPLE_RATE) / 1000 / KYUTAI_FRAME_SAMPLES) * KYUTAI_FRAME_SAMPLES);
}

/** Audio cut into whole model frames, each an `Audio` message. */
export function frames(pcm: Float32Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < pcm.length; at += KYUTAI_FRAME_SAMPLES) {
    out.push(encodeAudioMessage(pcm.subarray(at, Math.min(pcm.length, at + KYUTAI_FRAME_SAMPLES))));
  }
  return out;
}
