// Reads a JSON request body with a size limit; the raw bytes stay available (webhooks sign them).
import type { IncomingMessage } from "node:http";
import type { Context } from "koa";
import { MatrixError } from "./errors.ts";

export function readRawBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  return readRequestBody(ctx.req, limitBytes);
}

export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  return parseJsonBody(await readRawBody(ctx, limitBytes));
}

/** The body of a plain node:http request (the focus endpoints run outside Koa). */
export function readRequestBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  // Stream events rather than `for await`: the async iterator costs more than small bodies do.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        req.off("data", onData);
        req.resume();
        reject(new MatrixError("M_TOO_LARGE", `Request body exceeds ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

export function parseJsonBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new MatrixError("M_NOT_JSON", "Request body is not valid JSON");
  }
}
