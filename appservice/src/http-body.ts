// Reads a JSON request body with a size limit; the raw bytes stay available (webhooks sign them).
import type { Context } from "koa";
import { MatrixError } from "./errors.ts";

export async function readRawBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new MatrixError("M_TOO_LARGE", `Request body exceeds ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const raw = await readRawBody(ctx, limitBytes);
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new MatrixError("M_NOT_JSON", "Request body is not valid JSON");
  }
}
