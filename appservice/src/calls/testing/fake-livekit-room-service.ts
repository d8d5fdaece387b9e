// A LiveKit room API double for the call lifecycle: rooms with connected participants, and a log
// of what was asked. Unknown rooms and participants answer not_found, as LiveKit does.
import { ParticipantInfo, ServerError } from "livekit-server-sdk";
import type { LiveKitRoomService } from "../call-effects.ts";

const notFound = (what: string): ServerError => new ServerError("not_found", `${what} does not exist`, 404, "not_found");

export class FakeLiveKitRoomService implements LiveKitRoomService {
  readonly rooms = new Map<string, ParticipantInfo[]>();
  readonly removed: { room: string; identity: string }[] = [];
  readonly deleted: string[] = [];

  /**
   * Connects a participant (joinedAt in ms, stored in seconds as LiveKit does), under the SID the test
   * webhooks give it by default; connecting the same SID again changes nothing.
   */
  connect(room: string, identity: string, joinedAtMs = Date.now(), sid = `PA_${identity.slice(0, 8)}`): void {
    const list = this.rooms.get(room) ?? [];
    if (!list.some((p) => p.sid === sid)) list.push(new ParticipantInfo({ identity, sid, joinedAt: BigInt(Math.floor(joinedAtMs / 1000)) }));
    this.rooms.set(room, list);
  }

  /** The participant's connection ended (no removal asked: not logged in `removed`). */
  disconnect(room: string, sid: string): void {
    const list = this.rooms.get(room);
    if (list) this.rooms.set(room, list.filter((p) => p.sid !== sid));
  }

  async listParticipants(room: string): Promise<ParticipantInfo[]> {
    const list = this.rooms.get(room);
    if (!list) throw notFound("room");
    return [...list];
  }

  async removeParticipant(room: string, identity: string): Promise<void> {
    const list = this.rooms.get(room);
    const index = list?.findIndex((p) => p.identity === identity) ?? -1;
    if (!list || index < 0) throw notFound("participant");
    list.splice(index, 1);
    this.removed.push({ room, identity });
  }

  async deleteRoom(room: string): Promise<void> {
    if (!this.rooms.delete(room)) throw notFound("room");
    this.deleted.push(room);
  }
}
