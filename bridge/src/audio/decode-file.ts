// Any recording to what the engines take (16 kHz mono s16le), through Debian's decoders: sox for WAV,
// FLAC, Ogg/Vorbis and the like; opusdec for Ogg/Opus, which Debian 12's sox cannot read.
import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { STT_SAMPLE_RATE } from "../stt/engine.ts";

export class AudioDecodeError extends Error {
  override name = "AudioDecodeError";
}

/** Ogg pages start with "OggS"; the first packet of an Opus stream is "OpusHead" (RFC 7845). */
export async function isOggOpus(path: string): Promise<boolean> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    return bytes.subarray(0, 4).toString("latin1") === "OggS" && bytes.includes(Buffer.from("OpusHead", "latin1"));
  } catch {
    return false;
  } finally {
    await file.close();
  }
}

const SOX_TO_PCM = ["-t", "raw", "-r", String(STT_SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-L", "-"];

/**
 * Decodes a file into 16 kHz mono PCM chunks, streaming: a long recording never sits in memory whole.
 * Throws AudioDecodeError with the decoder's message when the file cannot be read.
 */
export async function* decodeAudioFile(path: string): AsyncGenerator<Int16Array> {
  try {
    const file = await open(path, "r");
    await file.close();
  } catch (err) {
    throw new AudioDecodeError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const opus = await isOggOpus(path);
  // Paths travel as positional parameters, never inside the script, so no name needs quoting.
  const child = opus
    ? spawn("sh", ["-c", 'opusdec --quiet --force-wav "$0" - | sox -V1 -t wav - "$@"', path, ...SOX_TO_PCM])
    : spawn("sox", ["-V1", path, ...SOX_TO_PCM]);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "ENOENT" ? new AudioDecodeError("sox not found (Debian package sox)") : err),
    );
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
  if (code !== 0) {
    const message = stderr.trim().split("\n").slice(-2).join(" | ");
    if (code === 127) throw new AudioDecodeError(`${opus ? "opusdec (Debian package opus-tools) or sox" : "sox"} not found: ${message}`);
    throw new AudioDecodeError(`cannot decode ${path}: ${message || `decoder exited with ${code}`}`);
  }
}
