// A LiveKit double for transcription: rooms with participants, agent dispatches with their jobs, and
// the data packets sent. Unknown rooms answer not_found, as LiveKit does.
import { AgentDispatch, AgentDispatchState, type DataPacket_Kind, Job, ParticipantInfo, ParticipantInfo_Kind, JobState, JobStatus, Room } from "@livekit/protocol";
import { ServerError, type SendDataOptions } from "livekit-server-sdk";
import type { AgentDispatchApi, TranscriberRoomApi } from "../transcriber-dispatch.ts";

const notFound = (what: string): ServerError => new ServerError("not_found", `${what} does not exist`, 404, "not_found");

export interface SentPacket {
  room: string;
  data: string;
  kind: DataPacket_Kind;
  options: SendDataOptions;
}

export class FakeTranscriberLiveKit implements AgentDispatchApi, TranscriberRoomApi {
  readonly participants = new Map<string, ParticipantInfo[]>();
  readonly dispatches = new Map<string, AgentDispatch[]>();
  readonly sent: SentPacket[] = [];
  readonly removed: { room: string; identity: string }[] = [];
  readonly deleted: string[] = [];
  now: () => number = Date.now;
  #ids = 0;

  /** Opens a LiveKit room (as the focus does) with these participants. */
  openRoom(room: string): void {
    if (!this.participants.has(room)) this.participants.set(room, []);
    if (!this.dispatches.has(room)) this.dispatches.set(room, []);
  }

  connect(room: string, identity: string, kind: ParticipantInfo_Kind = ParticipantInfo_Kind.STANDARD): void {
    this.openRoom(room);
    this.participants.get(room)?.push(new ParticipantInfo({ identity, sid: `PA_${identity}`, kind }));
  }

  disconnect(room: string, identity: string): void {
    const list = this.participants.get(room) ?? [];
    this.participants.set(room, list.filter((p) => p.identity !== identity));
  }

  /** A worker takes the job of a dispatch (LiveKit records the job in the dispatch's state). */
  takeJob(room: string, dispatchId: string): void {
    const d = this.dispatches.get(room)?.find((x) => x.id === dispatchId);
    d?.state?.jobs.push(new Job({ id: `AJ_${++this.#ids}`, dispatchId }));
  }

  /** The jobs of a dispatch end (their worker shut down): LiveKit keeps them in the state, ended. */
  endJobs(room: string, dispatchId: string): void {
    const d = this.dispatches.get(room)?.find((x) => x.id === dispatchId);
    for (const job of d?.state?.jobs ?? []) job.state = new JobState({ status: JobStatus.JS_SUCCESS, endedAt: BigInt(this.now()) * 1_000_000n });
  }

  ofAgent(room: string, agentName: string): AgentDispatch[] {
    return (this.dispatches.get(room) ?? []).filter((d) => d.agentName === agentName);
  }

  async listParticipants(room: string): Promise<ParticipantInfo[]> {
    const list = this.participants.get(room);
    if (!list) throw notFound("room");
    return [...list];
  }

  async removeParticipant(room: string, identity: string): Promise<void> {
    const list = this.participants.get(room);
    if (!list?.some((p) => p.identity === identity)) throw notFound("participant");
    this.disconnect(room, identity);
    this.removed.push({ room, identity });
  }

  /** Rooms opened through createRoom, with their options. */
  readonly created: { name: string; emptyTimeout?: number; departureTimeout?: number }[] = [];

  async createRoom(options: { name: string; emptyTimeout?: number; departureTimeout?: number }): Promise<Room> {
    this.created.push(options);
    this.openRoom(options.name);
    return new Room({ name: options.name });
  }

  async sendData(room: string, data: Uint8Array, kind: DataPacket_Kind, options: SendDataOptions): Promise<void> {
    if (!this.participants.has(room)) throw notFound("room");
    this.sent.push({ room, data: new TextDecoder().decode(data), kind, options });
  }

  async createDispatch(room: string, agentName: string, options?: { metadata?: string }): Promise<AgentDispatch> {
    const list = this.dispatches.get(room);
    if (!list) throw notFound("room");
    const dispatch = new AgentDispatch({
      id: `AD_${++this.#ids}`,
      agentName,
      room,
      metadata: options?.metadata ?? "",
      state: new AgentDispatchState({ createdAt: BigInt(this.now()) * 1_000_000n, jobs: [] }),
    });
    list.push(dispatch);
    return dispatch;
  }

  async deleteDispatch(dispatchId: string, room: string): Promise<void> {
    const list = this.dispatches.get(room);
    const index = list?.findIndex((d) => d.id === dispatchId) ?? -1;
    if (!list || index < 0) throw notFound("dispatch");
    list.splice(index, 1);
    this.deleted.push(dispatchId);
  }

  async listDispatch(room: string): Promise<AgentDispatch[]> {
    const list = this.dispatches.get(room);
    if (!list) throw notFound("room");
    return [...list];
  }
}
