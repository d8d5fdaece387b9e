// A lean HTTP/1.1 load client: kept-alive sockets, one request in flight per socket, requests encoded
// before the clock starts, answers parsed only for status and length. On a two-core machine Node's
// own HTTP client costs more CPU per request than a lean service does to answer it, and would make
// the load generator what gets measured.
import { connect, type Socket } from "node:net";

const HEADER_END = Buffer.from("\r\n\r\n");

export class LoadConnection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: { resolve: (status: number) => void; reject: (err: Error) => void } | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.consume();
    });
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new Error("connection closed")));
  }

  static async open(host: string, port: number): Promise<LoadConnection> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new LoadConnection(socket);
  }

  /** Sends one complete request (see encodePost) and resolves with the answer's status code. */
  send(request: Buffer): Promise<number> {
    if (this.pending) return Promise.reject(new Error("a request is already in flight on this connection"));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private consume(): void {
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0 || !this.pending) return;
    const head = this.buffered.subarray(0, end).toString("latin1");
    const status = Number(head.slice(9, 12));
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    const total = end + HEADER_END.length + length;
    if (this.buffered.length < total) return;
    this.buffered = this.buffered.subarray(total);
    const { resolve } = this.pending;
    this.pending = null;
    resolve(status);
  }

  private fail(err: Error): void {
    const pending = this.pending;
    this.pending = null;
    pending?.reject(err);
  }
}

/** A POST with a JSON body, ready to write to a LoadConnection. */
export function encodePost(host: string, path: string, json: string): Buffer {
  const body = Buffer.from(json, "utf8");
  const head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}
