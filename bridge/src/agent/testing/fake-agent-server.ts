// A LiveKit agent endpoint for unit tests: accepts websockets on /agent with a worker token (checked
// like LiveKit checks it: an `agent` grant signed with the key's secret), decodes WorkerMessages and
// lets the test send ServerMessages or drop the connection.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ServerMessage, WorkerMessage } from "@livekit/protocol";
import { TokenVerifier } from "livekit-server-sdk";
import { WebSocketServer, type WebSocket } from "ws";

export class FakeAgentServer {
  readonly received: WorkerMessage[] = [];
  /** Connections accepted so far (a reconnection adds one). */
  connections = 0;
  #http: Server;
  #wss = new WebSocketServer({ noServer: true });
  #socket: WebSocket | undefined;
  #waiters: Array<() => void> = [];

  constructor(apiKey: string, apiSecret: string) {
    const verifier = new TokenVerifier(apiKey, apiSecret);
    this.#http = createServer((_req, res) => res.writeHead(404).end());
    this.#http.on("upgrade", (req, socket, head) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      const refuse = (): void => void socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
      if (req.url !== "/agent" || token === undefined) return refuse();
      verifier.verify(token).then(
        (claims) => {
          if (claims.video?.agent !== true) return refuse();
          this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
        },
        () => refuse(),
      );
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#http.listen(0, "127.0.0.1", resolve));
    return `ws://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
  }

  send(message: ServerMessage): void {
    this.#socket?.send(message.toBinary());
  }

  /** Drops the worker's connection, as a restarting server or a broken network would. */
  drop(): void {
    this.#socket?.terminate();
  }

  /** Resolves once a WorkerMessage matching the predicate has arrived. */
  async waitFor(match: (message: WorkerMessage) => boolean, timeoutMs = 3000): Promise<WorkerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error("the worker did not send the expected message");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #accept(ws: WebSocket): void {
    this.connections += 1;
    this.#socket = ws;
    ws.on("message", (data: Buffer) => {
      this.received.push(WorkerMessage.fromBinary(new Uint8Array(data)));
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }
}

export { ServerMessage };
