// A homeserver double for the appservice's Client-Server calls: creates rooms, and keeps every
// notice sent (no deduplication by transaction ID, so tests see each send).
import type { CallNoticeContent } from "../../../wire-types.ts";
import type { CreateRoomRequest, HomeserverClient } from "../homeserver-client.ts";

export interface PostedNotice {
  roomId: string;
  txnId: string;
  content: CallNoticeContent;
}

export class FakeHomeserver implements HomeserverClient {
  readonly notices: PostedNotice[] = [];
  readonly createdRooms: CreateRoomRequest[] = [];
  /** Sends fail with this error while set (the homeserver is down). */
  failing: Error | null = null;

  async createRoom(request: CreateRoomRequest): Promise<{ room_id: string }> {
    this.createdRooms.push(request);
    return { room_id: `!${request.room_alias_name}:fake.test` };
  }

  async resolveAlias(): Promise<string | null> {
    return null;
  }

  async pingAppservice(): Promise<{ duration_ms: number }> {
    return { duration_ms: 1 };
  }

  /** Rooms the bot joined, and the members each one reports. */
  readonly joined = new Map<string, string[]>();

  async joinRoom(roomId: string): Promise<void> {
    if (this.failing) throw this.failing;
    if (!this.joined.has(roomId)) this.joined.set(roomId, []);
  }

  async joinedMembers(roomId: string): Promise<string[]> {
    return this.joined.get(roomId) ?? [];
  }

  async sendNotice(roomId: string, txnId: string, content: CallNoticeContent): Promise<{ event_id: string }> {
    if (this.failing) throw this.failing;
    this.notices.push({ roomId, txnId, content });
    return { event_id: `$${txnId}` };
  }
}
