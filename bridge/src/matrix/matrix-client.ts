// The bridge's Matrix client: the server sides' one Matrix client (its retries, its MatrixHttpError)
// with the calls the worker makes. It authenticates with the worker's own appservice token (a
// registration whose namespace is the bridge's user alone) and acts as that user (`?user_id=`), so the
// bridge has no password or device of its own.
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { markMembershipAsBot } from "../../../config/matrix/bot-membership.ts";
import { MatrixHttpClient } from "../../../config/matrix/matrix-http-client.ts";
import { MatrixHttpError } from "../../../config/matrix/matrix-http-error.ts";
import type { MatrixEventSender } from "./transcript-poster.ts";

/** How long a media download may take, each try: a recording of up to MAX_RECORDING_BYTES. */
const DOWNLOAD_TIMEOUT_MS = 300_000;

export class MatrixClient extends MatrixHttpClient implements MatrixEventSender {
  /** `PUT /rooms/{roomId}/send/{type}/{txnId}`: the homeserver deduplicates per txnId, so retries are safe. */
  async sendEvent(roomId: string, type: string, content: Record<string, unknown>, txnId: string): Promise<string> {
    const answer = await this.request<{ event_id?: unknown }>({
      method: "PUT",
      path: ["_matrix", "client", "v3", "rooms", roomId, "send", type, txnId],
      json: content,
    });
    if (typeof answer.event_id !== "string") throw new MatrixHttpError(`sending ${type}: the answer has no event_id`, 200);
    return answer.event_id;
  }

  /** `POST /_matrix/media/v3/upload`: the content's mxc:// URI. */
  async upload(data: Uint8Array<ArrayBuffer>, contentType: string, filename: string): Promise<string> {
    const answer = await this.request<{ content_uri?: unknown }>({
      method: "POST",
      path: ["_matrix", "media", "v3", "upload"],
      query: { filename },
      bytes: { data, contentType },
    });
    if (typeof answer.content_uri !== "string") throw new MatrixHttpError("upload: the answer has no content_uri", 200);
    return answer.content_uri;
  }

  /**
   * Downloads an mxc:// media into a file (the authenticated media API), streaming: refused with a
   * MatrixHttpError (status 413) past `maxBytes`, whatever the server announced.
   */
  async downloadToFile(mxc: string, path: string, maxBytes: number): Promise<number> {
    const match = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(mxc);
    if (match === null) throw new MatrixHttpError("not an mxc:// URI", 400);
    const [, server = "", mediaId = ""] = match;
    const body = await this.requestStream({
      method: "GET",
      path: ["_matrix", "client", "v1", "media", "download", server, mediaId],
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
    });
    return writeLimited(body, path, maxBytes);
  }

  /**
   * Joins a room (a no-op when already joined), the membership marked as a bot's (BOT_MEMBER_KEY) so
   * that clients do not count the bridge among the people.
   */
  async joinRoom(roomId: string): Promise<void> {
    await this.request({ method: "POST", path: ["_matrix", "client", "v3", "rooms", roomId, "join"], json: {} });
    await markMembershipAsBot(this, roomId);
  }

  /**
   * Registers the appservice user (`m.login.application_service`); one that exists already is fine.
   * Synapse only lets an appservice act as users it has registered.
   */
  async ensureRegistered(localpart: string): Promise<void> {
    try {
      await this.request({
        method: "POST",
        path: ["_matrix", "client", "v3", "register"],
        masquerade: false,
        json: { type: "m.login.application_service", username: localpart, inhibit_login: true },
      });
    } catch (err) {
      if (err instanceof MatrixHttpError && err.errcode === "M_USER_IN_USE") return;
      throw err;
    }
  }
}

async function writeLimited(body: ReadableStream<Uint8Array>, path: string, maxBytes: number): Promise<number> {
  const file = await open(path, "w", 0o600);
  let written = 0;
  try {
    for await (const chunk of Readable.fromWeb(body as NodeReadableStream<Uint8Array>) as AsyncIterable<Uint8Array>) {
      written += chunk.byteLength;
      if (written > maxBytes) {
        throw new MatrixHttpError(`the media is larger than ${maxBytes} bytes, the most the transcription service takes`, 413, "M_TOO_LARGE");
      }
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return written;
}
