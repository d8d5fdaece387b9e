// The worker's side of LiveKit's agent protocol: a websocket to `<LiveKit>/agent` carrying protobuf
// WorkerMessage / ServerMessage frames. The worker registers once per connection (room jobs, under one
// agent name, with the permissions its job tokens get), answers each AvailabilityRequest, receives the
// JobAssignment (the job and a token for its room) and JobTermination, reports job and load status, and
// pings so that a dead connection is noticed. A lost connection is reopened with a growing backoff;
// jobs already running are not affected, since each has its own connection to its room.
import { AccessToken } from "livekit-server-sdk";
import {
  AvailabilityResponse,
  JobType,
  ParticipantPermission,
  ServerMessage,
  UpdateJobStatus,
  UpdateWorkerStatus,
  WorkerMessage,
  WorkerPing,
  WorkerStatus,
  type Job,
  type JobAssignment,
  type JobStatus,
} from "@livekit/protocol";
import WebSocket from "ws";

/** What the worker answers to an AvailabilityRequest. */
export type AvailabilityAnswer =
  | { available: false; reason: string }
  | { available: true; identity: string; name: string; attributes?: Record<string, string> };

export interface AgentConnectionHandlers {
  availability(job: Job, resuming: boolean): AvailabilityAnswer;
  assignment(assignment: JobAssignment): void;
  termination(jobId: string): void;
  registered?(workerId: string): void;
  /** The connection dropped (or could not be opened); it is retried after delayMs. */
  disconnected?(reason: string, delayMs: number): void;
}

/** What the worker needs of its agent connection (a fake in unit tests). */
export interface AgentLink {
  /** Opens the connection, calling on handlers for what the server sends; kept open until close(). */
  start(handlers: AgentConnectionHandlers): void;
  updateJob(jobId: string, status: JobStatus, error?: string): void;
  /** Load in [0, 1]; a full worker is offered no more jobs. */
  updateStatus(load: number, jobCount: number, full: boolean): void;
  close(): Promise<void>;
}

export interface AgentConnectionOptions {
  /** The LiveKit server, ws:// or wss:// (http(s):// is accepted too). */
  url: string;
  apiKey: string;
  apiSecret: string;
  agentName: string;
  /** What the server grants in the tokens of this worker's jobs. */
  permissions: { canSubscribe: boolean; canPublish: boolean; canPublishData: boolean; hidden: boolean };
  version: string;
  pingIntervalMs?: number;
  /** No pong for this long: the connection is considered dead and reopened. */
  pongTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const DEFAULTS = { pingIntervalMs: 10_000, pongTimeoutMs: 25_000, minBackoffMs: 500, maxBackoffMs: 30_000 };

/** The URL of the agent endpoint of a LiveKit server. */
export function agentEndpoint(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol.replace(/^http/, "ws");
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, "")}/agent`;
  return parsed.toString();
}

/** The worker's own token: it may register as an agent, and nothing else. */
export async function workerToken(apiKey: string, apiSecret: string): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { ttl: 600 });
  token.addGrant({ agent: true });
  return token.toJwt();
}

export class AgentConnection implements AgentLink {
  #options: AgentConnectionOptions & typeof DEFAULTS;
  #handlers: AgentConnectionHandlers | undefined;
  #socket: WebSocket | undefined;
  #closed = false;
  #failures = 0;
  #registered = false;
  #pingTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #lastPong = 0;
  #status: { load: number; jobCount: number; full: boolean } = { load: 0, jobCount: 0, full: false };

  constructor(options: AgentConnectionOptions) {
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
    this.#options = { ...DEFAULTS, ...(given as unknown as AgentConnectionOptions) };
  }

  get registered(): boolean {
    return this.#registered;
  }

  /** Opens the connection; it is kept open (reopened when lost) until close(). */
  start(handlers: AgentConnectionHandlers): void {
    if (this.#handlers !== undefined) throw new Error("the agent connection is already started");
    this.#handlers = handlers;
    void this.#connect();
  }

  updateJob(jobId: string, status: JobStatus, error = ""): void {
    this.#send(new WorkerMessage({ message: { case: "updateJob", value: new UpdateJobStatus({ jobId, status, error }) } }));
  }

  /** Load in [0, 1]; a full worker is offered no more jobs. Sent again after each reconnection. */
  updateStatus(load: number, jobCount: number, full: boolean): void {
    this.#status = { load, jobCount, full };
    this.#sendStatus();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    const socket = this.#socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.close(1000);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    socket.terminate();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let token: string;
    try {
      token = await workerToken(this.#options.apiKey, this.#options.apiSecret);
    } catch (err) {
      this.#retry(`token: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const socket = new WebSocket(agentEndpoint(this.#options.url), { headers: { authorization: `Bearer ${token}` } });
    socket.binaryType = "nodebuffer";
    this.#socket = socket;
    this.#registered = false;
    let closeReason: string | undefined;
    socket.on("open", () => {
      const { permissions } = this.#options;
      this.#send(
        new WorkerMessage({
          message: {
            case: "register",
            value: {
              type: JobType.JT_ROOM,
              agentName: this.#options.agentName,
              version: this.#options.version,
              pingInterval: Math.round(this.#options.pingIntervalMs / 1000),
              allowedPermissions: new ParticipantPermission({ ...permissions, canUpdateMetadata: false, agent: true }),
            },
          },
        }),
      );
    });
    socket.on("message", (data, isBinary) => {
      if (!isBinary) return;
      try {
        this.#onMessage(ServerMessage.fromBinary(toBytes(data)));
      } catch (err) {
        closeReason = `bad server message: ${err instanceof Error ? err.message : String(err)}`;
        socket.terminate();
      }
    });
    socket.on("unexpected-response", (_req, res) => {
      closeReason = `the server answered HTTP ${res.statusCode}`;
      socket.terminate();
    });
    socket.on("error", (err) => {
      closeReason ??= err.message;
    });
    socket.on("close", () => {
      clearInterval(this.#pingTimer);
      if (this.#socket === socket) this.#socket = undefined;
      this.#registered = false;
      this.#retry(closeReason ?? "connection closed");
    });
  }

  #retry(reason: string): void {
    if (this.#closed) return;
    const { minBackoffMs, maxBackoffMs } = this.#options;
    const delayMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** this.#failures);
    this.#failures += 1;
    this.#handlers?.disconnected?.(reason, delayMs);
    this.#retryTimer = setTimeout(() => void this.#connect(), delayMs);
  }

  #onMessage(message: ServerMessage): void {
    const handlers = this.#handlers;
    if (handlers === undefined) return;
    switch (message.message.case) {
      case "register": {
        this.#registered = true;
        this.#failures = 0;
        this.#lastPong = Date.now();
        this.#startPings();
        this.#sendStatus();
        handlers.registered?.(message.message.value.workerId);
        return;
      }
      case "availability": {
        const { job, resuming } = message.message.value;
        if (job === undefined) return;
        const answer = handlers.availability(job, resuming);
        const value =
          answer.available
            ? new AvailabilityResponse({
                jobId: job.id,
                available: true,
                participantIdentity: answer.identity,
                participantName: answer.name,
                participantAttributes: answer.attributes ?? {},
              })
            : new AvailabilityResponse({ jobId: job.id, available: false });
        this.#send(new WorkerMessage({ message: { case: "availability", value } }));
        return;
      }
      case "assignment":
        handlers.assignment(message.message.value);
        return;
      case "termination":
        handlers.termination(message.message.value.jobId);
        return;
      case "pong":
        this.#lastPong = Date.now();
        return;
      default:
        return;
    }
  }

  #startPings(): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      if (Date.now() - this.#lastPong > this.#options.pongTimeoutMs) {
        // A half-open connection gets no jobs: drop it so that a new one registers.
        this.#socket?.terminate();
        return;
      }
      this.#send(new WorkerMessage({ message: { case: "ping", value: new WorkerPing({ timestamp: BigInt(Date.now()) }) } }));
    }, this.#options.pingIntervalMs);
    this.#pingTimer.unref();
  }

  #sendStatus(): void {
    if (!this.#registered) return;
    const { load, jobCount, full } = this.#status;
    const status = full ? WorkerStatus.WS_FULL : WorkerStatus.WS_AVAILABLE;
    this.#send(new WorkerMessage({ message: { case: "updateWorker", value: new UpdateWorkerStatus({ status, load, jobCount }) } }));
  }

  #send(message: WorkerMessage): void {
    const socket = this.#socket;
    // Status sent while disconnected is not lost: the worker status is resent at registration, and a
    // job's server-side state ends with its room when its updates cannot reach the server.
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) return;
    socket.send(message.toBinary());
  }
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
