// A homeserver double for the appservice's Client-Server calls: creates rooms, and keeps every
// notice sent (no deduplication by transaction ID, so tests see each send).
import type { CallNoticeContent, RoomEvent } from "../../../config/wire-types.ts";
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

  /** Delayed events the homeserver holds (their IDs), and those sent through sendDelayedEvent. */
  readonly delayedEvents = new Set<string>();
  readonly sentDelayedEvents: string[] = [];

  async sendDelayedEvent(delayId: string): Promise<boolean> {
    if (this.failing) throw this.failing;
    if (!this.delayedEvents.delete(delayId)) return false;
    this.sentDelayedEvents.push(delayId);
    return true;
  }

  async sendNotice(roomId: string, txnId: string, content: CallNoticeContent): Promise<{ event_id: string }> {
    if (this.failing) throw this.failing;
    this.notices.push({ roomId, txnId, content });
    return { event_id: `$${txnId}` };
  }

  /** Other messages the bot sent (transcription notices, command replies). */
  readonly messages: { roomId: string; txnId: string; content: Record<string, unknown> }[] = [];
  /** Room state by room, then `type\u0000stateKey`. */
  readonly state = new Map<string, Map<string, Record<string, unknown>>>();
  readonly invites: { roomId: string; userId: string }[] = [];
  /** Set: invites fail with it (the rest answers). */
  inviteFails: Error | null = null;

  async sendMessage(roomId: string, txnId: string, content: Record<string, unknown>): Promise<{ event_id: string }> {
    if (this.failing) throw this.failing;
    // The homeserver deduplicates per txnId: a retried send is one message.
    if (!this.messages.some((m) => m.roomId === roomId && m.txnId === txnId)) this.messages.push({ roomId, txnId, content });
    return { event_id: `$${txnId}` };
  }

  /** Room events by ID, for getEvent. */
  readonly events = new Map<string, RoomEvent>();

  async getEvent(roomId: string, eventId: string): Promise<RoomEvent | null> {
    if (this.failing) throw this.failing;
    const event = this.events.get(eventId);
    return event?.room_id === roomId ? event : null;
  }

  async getState(roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | null> {
    if (this.failing) throw this.failing;
    return this.state.get(roomId)?.get(`${type}\u0000${stateKey}`) ?? null;
  }

  async setState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<{ event_id: string }> {
    if (this.failing) throw this.failing;
    const room = this.state.get(roomId) ?? new Map<string, Record<string, unknown>>();
    room.set(`${type}\u0000${stateKey}`, content);
    this.state.set(roomId, room);
    return { event_id: `$state-${type}-${room.size}` };
  }

  async invite(roomId: string, userId: string): Promise<void> {
    if (this.failing) throw this.failing;
    if (this.inviteFails) throw this.inviteFails;
    this.invites.push({ roomId, userId });
  }

}
