// Just enough client-server API for tests to act as users, without a Matrix SDK in the way.

export class MatrixRequestError extends Error {
  readonly status: number;
  readonly errcode: string | undefined;

  constructor(method: string, path: string, status: number, body: string) {
    let errcode: string | undefined;
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed === "object" && parsed !== null && "errcode" in parsed && typeof parsed.errcode === "string") {
        errcode = parsed.errcode;
      }
    } catch {
      // Not JSON: keep the raw body in the message.
    }
    super(`${method} ${path}: HTTP ${status} ${body.slice(0, 500)}`);
    this.name = "MatrixRequestError";
    this.status = status;
    this.errcode = errcode;
  }
}

export async function matrixRequest<T>(
  baseUrl: string,
  accessToken: string,
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${accessToken}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new MatrixRequestError(method, path, response.status, text);
  return JSON.parse(text) as T;
}
