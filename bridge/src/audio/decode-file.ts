// Any recording to what the engines take (16 kHz mono s16le), through Debian's ffmpeg: audio files
// (WAV, FLAC, Ogg Vorbis or Opus, MP3, AAC/M4A…) and the sound of video files (MP4, WebM, Matroska…),
// whose pictures are ignored.
import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { STT_SAMPLE_RATE } from "../stt/engine.ts";

export class AudioDecodeError extends Error {
  override name = "AudioDecodeError";
  /** The file was read, but it has no sound: a video without a sound track. */
  readonly soundless: boolean;
  constructor(message: string, { soundless = false } = {}) {
    super(message);
    this.soundless = soundless;
  }
}

const TO_PCM = ["-vn", "-sn", "-dn", "-ac", "1", "-ar", String(STT_SAMPLE_RATE), "-f", "s16le", "-"];

/** ffmpeg's words when the file has no audio stream to decode. */
const NO_AUDIO_STREAM = /does not contain any stream|matches no streams/i;

/**
 * Decodes a file into 16 kHz mono PCM chunks, streaming: a long recording never sits in memory whole.
 * Throws AudioDecodeError with the reason when the file cannot be read.
 */
export async function* decodeAudioFile(path: string): AsyncGenerator<Int16Array> {
  try {
    const file = await open(path, "r");
    await file.close();
  } catch (err) {
    throw new AudioDecodeError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // "file:" keeps a name that starts with a protocol ("http:…") or a dash a file name.
  const child = spawn("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-i", `file:${path}`, ...TO_PCM]);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on("error", (err: NodeJS.ErrnoException) => reject(err.code === "ENOENT" ? new AudioDecodeError("ffmpeg not found (Debian package ffmpeg)") : err));
    child.on("close", (code) => resolve(code));
  });
  // An error before the first chunk must not go unhandled while the loop below awaits data.
  closed.catch(() => {});

  let odd: Buffer | undefined;
  try {
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      let bytes = odd === undefined ? data : Buffer.concat([odd, data]);
      odd = undefined;
      if (bytes.length % 2 === 1) {
        odd = bytes.subarray(bytes.length - 1);
        bytes = bytes.subarray(0, bytes.length - 1);
      }
      // Copied so that the chunk owns aligned memory, whatever offset Node's buffer pool gave it.
      const pcm = new Int16Array(bytes.length / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
      if (pcm.length > 0) yield pcm;
    }
  } finally {
    if (child.exitCode === null) child.kill();
  }
  const code = await closed;
  if (code === 0) return;
  if (NO_AUDIO_STREAM.test(stderr)) throw new AudioDecodeError(`${path} has no sound track`, { soundless: true });
  const lines = stderr.trim().split("\n").filter((l) => l.trim() !== "");
  throw new AudioDecodeError(`cannot decode ${path}: ${lines.slice(-2).join(" | ") || `ffmpeg exited with ${code}`}`);
}
