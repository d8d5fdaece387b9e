// A PCM WAV file in memory, for engines that take whole files over HTTP.
import { endianness } from "node:os";

/** WAV samples are little-endian, as the samples in memory are on little-endian hosts: copied as they are. */
const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** 16-bit mono little-endian WAV (RIFF, WAVE_FORMAT_PCM). */
export function encodeWav(pcm: Int16Array, sampleRate: number): Uint8Array<ArrayBuffer> {
  const dataBytes = pcm.length * 2;
  // Its own ArrayBuffer, not Node's shared pool, so that Blob and fetch take it as it is.
  const bytes = new Uint8Array(44 + dataBytes);
  const wav = Buffer.from(bytes.buffer);
  wav.write("RIFF", 0, "latin1");
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write("WAVE", 8, "latin1");
  wav.write("fmt ", 12, "latin1");
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write("data", 36, "latin1");
  wav.writeUInt32LE(dataBytes, 40);
  if (LITTLE_ENDIAN_HOST) bytes.set(new Uint8Array(pcm.buffer, pcm.byteOffset, dataBytes), 44);
  else for (let i = 0; i < pcm.length; i++) wav.writeInt16LE(pcm[i] ?? 0, 44 + i * 2);
  return bytes;
}
