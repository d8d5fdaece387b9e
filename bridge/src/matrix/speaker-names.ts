// Display names of the room's members, for naming speakers: one joined_members read when a job starts,
// then a member-event read for a user who joins the call later. A name that cannot be read leaves the
// speaker named by their user ID; it never holds up transcription.
import type { MatrixClient } from "./matrix-client.ts";

export class SpeakerNames {
  #client: Pick<MatrixClient, "request">;
  #roomId: string;
  #names = new Map<string, string>();
  #pending = new Map<string, Promise<void>>();

  constructor(client: Pick<MatrixClient, "request">, roomId: string) {
    this.#client = client;
    this.#roomId = roomId;
  }

  nameOf(userId: string): string | undefined {
    return this.#names.get(userId);
  }

  /** All joined members' names. */
  async load(): Promise<void> {
    const answer = await this.#client.request<{ joined?: Record<string, { display_name?: unknown }> }>({
      method: "GET",
      path: ["_matrix", "client", "v3", "rooms", this.#roomId, "joined_members"],
    });
    for (const [userId, member] of Object.entries(answer.joined ?? {})) this.#remember(userId, member.display_name);
  }

  /** Reads one user's member event unless their name is known or being read; failures are ignored. */
  lookup(userId: string): Promise<void> {
    if (this.#names.has(userId)) return Promise.resolve();
    let pending = this.#pending.get(userId);
    if (pending === undefined) {
      pending = this.#client
        .request<{ displayname?: unknown }>({
          method: "GET",
          path: ["_matrix", "client", "v3", "rooms", this.#roomId, "state", "m.room.member", userId],
        })
        .then(
          (member) => this.#remember(userId, member.displayname),
          () => undefined,
        )
        .finally(() => this.#pending.delete(userId));
      this.#pending.set(userId, pending);
    }
    return pending;
  }

  #remember(userId: string, displayName: unknown): void {
    if (typeof displayName === "string" && displayName.trim() !== "") this.#names.set(userId, displayName.trim());
  }
}
