// Kick → LiveKit disconnect on the test bed (root needed: network namespaces): a member of A in a call
// on LiveKit A (a real rtc-node participant in A's namespace) is removed from the meeting by its
// moderator (A's bot); measured from the kick request to the participant's own "disconnected". First
// with nothing else queued, then with `waiting` transcriptions waiting for a worker: recordings asked
// for with `!transcribe` while no worker runs, each a waiting effect that the appservice checks with
// LiveKit again every few seconds, the queue a kick must not wait behind.
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore } from "../../appservice/src/storage/store.ts";
import { matrixRequest } from "../../tests/harness/matrix-client.ts";
import { HOSTS } from "../../tests/harness/network.ts";
import { getTestbed, uniqueLocalpart, type RegisteredUser } from "../../tests/harness/testbed.ts";
import { waitUntil } from "../../tests/harness/wait.ts";
import { startAppservice } from "../../tests/support/appservice-process.ts";
import { createMeeting, joinAlias, publishCallMembership, requestFocusToken } from "../../tests/harness/matrix-users.ts";
import { startParticipant, type Participant } from "../../tests/support/participants.ts";

const SLOT = "m.call#ROOM";

export interface KickLatencyBench {
  /** Kick request → participant disconnected, ms, one per kick. */
  idleMs: number[];
  busyMs: number[];
  /** Transcriptions that were waiting for a worker while the busy kicks ran. */
  waiting: number;
}

export async function benchKickLatency({ kicks = 10, waiting = 200 } = {}): Promise<KickLatencyBench> {
  const testbed = await getTestbed();
  const a = testbed.ministries.a;
  const appservice = await startAppservice("a");
  const bot = appservice.config.appservice.as_token;
  const db = await openDatabase(appservice.config.database);
  // Reads what the appservice process stores, through the same store code (the effects by their table).
  const store = createStore(db);
  const participants: Participant[] = [];
  try {
    const host = await a.registerUser(uniqueLocalpart("host"));
    const { roomId, alias } = await createMeeting(appservice, a, host, "Mesure des exclusions");
    const room = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
    const asBot = <T>(method: "POST" | "PUT", path: string, body: unknown): Promise<T> => matrixRequest<T>(a.clientUrl, bot, method, path, body);

    /** One member joins the meeting and its call (membership, focus token, LiveKit), then is kicked. */
    const kickOne = async (): Promise<number> => {
      const member: RegisteredUser = await a.registerUser(uniqueLocalpart("kicked"));
      await joinAlias(a, member, alias);
      await waitUntil("the appservice saw the join", async () => (await store.membership(roomId, member.userId)) === "join", { timeoutMs: 30_000 });
      await publishCallMembership(a, member, roomId);
      const token = await requestFocusToken(appservice.url, roomId, a, member, SLOT);
      if (token.status !== 200) throw new Error(`focus answered ${token.status}: ${JSON.stringify(token.body)}`);
      const participant = startParticipant(testbed, HOSTS.a.namespace, "listen", String(token.body.url), String(token.body.jwt), 10_000_000);
      participants.push(participant);
      await participant.waitFor("connected");
      const kickedAt = Date.now();
      await asBot("POST", `${room}/kick`, { user_id: member.userId, reason: "bench" });
      const disconnected = await participant.waitFor("disconnected", 30_000);
      return Number(disconnected.at) - kickedAt;
    };

    const idleMs: number[] = [];
    for (let i = 0; i < kicks; i++) idleMs.push(await kickOne());

    // Recordings nobody will transcribe (no worker runs here): each stays a waiting effect.
    for (let i = 0; i < waiting; i++) {
      const audio = await matrixRequest<{ event_id: string }>(a.clientUrl, host.accessToken, "PUT", `${room}/send/m.room.message/bench-audio-${i}-${Date.now()}`, {
        msgtype: "m.audio",
        body: `minutes-${i}.ogg`,
        url: `mxc://${a.serverName}/bench${i}`,
        info: { mimetype: "audio/ogg", size: 1000 },
      });
      await matrixRequest(a.clientUrl, host.accessToken, "PUT", `${room}/send/m.room.message/bench-ask-${i}-${Date.now()}`, {
        msgtype: "m.text",
        body: "!transcribe",
        "m.relates_to": { "m.in_reply_to": { event_id: audio.event_id } },
      });
    }
    const waitingNow = async (): Promise<number> =>
      Number((await db("call_effects").whereNull("done_at").where({ kind: "recording_transcription" }).count({ n: "*" }).first())?.n ?? 0);
    await waitUntil(`${waiting} recordings waiting for a worker`, async () => (await waitingNow()) >= waiting, { timeoutMs: 120_000, intervalMs: 500 });
    // Each has been dispatched to LiveKit and checked again at least once.
    await new Promise((resolve) => setTimeout(resolve, 10_000));

    const busyMs: number[] = [];
    for (let i = 0; i < kicks; i++) busyMs.push(await kickOne());
    const stillWaiting = await waitingNow();
    if (stillWaiting < waiting) throw new Error(`only ${stillWaiting} of ${waiting} recordings were still waiting at the end`);
    return { idleMs, busyMs, waiting: stillWaiting };
  } finally {
    for (const p of participants) await p.process.stop();
    await store.close();
  }
}
