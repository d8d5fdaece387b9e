// The set-up of the transcription control integration test (transcription-control.test.ts), on the
// real test bed: A's appservice with its database read beside it, alice of A, bob and carol of B, and
// what the test does as the clients do: Matrix requests as a user, the control API with an OpenID
// token, a meeting of A joined by bob, a call joined through the focus, the transcriber's dispatches.
// `transcriptionControlBed()` registers its mocha hooks in the calling `describe`.
import assert from "node:assert/strict";
import { AgentDispatchClient, type AgentDispatch } from "livekit-server-sdk";
import { FOCUS_PATH_PREFIX } from "../../../appservice/src/app.ts";
import { openDatabase } from "../../../appservice/src/storage/database.ts";
import { createStore, type Store } from "../../../appservice/src/storage/store.ts";
import {
  TRANSCRIBER_AGENT_NAME,
  TRANSCRIPTION_API_PATH,
  TRANSCRIPTION_STATE_EVENT,
  type TranscriptionControlRequest,
  type TranscriptionStateContent,
} from "../../../config/wire-types.ts";
import { requestJson, type JsonResponse } from "../../harness/http.ts";
import type { JsonLineProcess } from "../../harness/json-line-process.ts";
import { matrixRequest, MatrixRequestError } from "../../harness/matrix-client.ts";
import { createMeeting, joinAlias, openIdToken, requestFocusToken, waitForJoins } from "../../harness/matrix-users.ts";
import { HOSTS } from "../../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../../harness/testbed.ts";
import { startAppservice, type AppserviceProcess } from "../../support/appservice-process.ts";
import { startParticipant, type Participant } from "../../support/participants.ts";

export const SLOT = "m.call#ROOM";
const CALL_MEMBER = "org.matrix.msc3401.call.member";

export function transcriptionControlBed() {
  const bed = {
    testbed: undefined as unknown as Testbed,
    /** A's appservice; a test may replace it (another config), the helpers then use the new one. */
    appservice: undefined as unknown as AppserviceProcess,
    db: undefined as unknown as { store: Store; close(): Promise<void> },
    /** A, joined to every meeting. */
    alice: undefined as unknown as RegisteredUser,
    /** B, joined to every meeting. */
    bob: undefined as unknown as RegisteredUser,
    /** B, in no meeting. */
    carol: undefined as unknown as RegisteredUser,
    /** Callers started, stopped at the end. */
    participants: [] as Participant[],
    /** Workers started, stopped at the end. */
    workers: [] as JsonLineProcess[],

    path: (roomId: string): string => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`,
    as: (server: SynapseServer, user: RegisteredUser) =>
      <T>(method: "GET" | "POST" | "PUT", p: string, body?: unknown): Promise<T> => matrixRequest<T>(server.clientUrl, user.accessToken, method, p, body),

    /** What the web client does: an OpenID token from the user's own homeserver, then the API. */
    control: async (server: SynapseServer, user: RegisteredUser, roomId: string, action: "start" | "stop", language?: string): Promise<JsonResponse> => {
      const body: TranscriptionControlRequest = {
        room_id: roomId,
        action,
        openid_token: await openIdToken(server, user),
        ...(language !== undefined ? { language } : {}),
      };
      return requestJson("POST", `${bed.appservice.url}${TRANSCRIPTION_API_PATH}`, { body });
    },

    stateSeenBy: async (server: SynapseServer, user: RegisteredUser, roomId: string): Promise<TranscriptionStateContent | null> => {
      try {
        return await bed.as(server, user)<TranscriptionStateContent>("GET", `${bed.path(roomId)}/state/${TRANSCRIPTION_STATE_EVENT}/`);
      } catch (err) {
        if (err instanceof MatrixRequestError && err.status === 404) return null;
        throw err;
      }
    },

    /** A meeting of A created by alice, joined by bob. */
    newMeeting: async (name: string): Promise<string> => {
      const { roomId, alias } = await createMeeting(bed.appservice, bed.testbed.ministries.a, bed.alice, `Réunion ${name}`);
      await joinAlias(bed.testbed.ministries.b, bed.bob, alias);
      await waitForJoins(bed.db.store, roomId, [bed.alice, bed.bob]);
      return roomId;
    },

    /** What a MatrixRTC client does to join a call: membership event, focus token, LiveKit connection (as call-state.test.ts). */
    joinCall: async (roomId: string, server: SynapseServer, user: RegisteredUser, namespace: string, mode: "publish" | "listen"): Promise<Participant> => {
      await bed.as(server, user)("PUT", `${bed.path(roomId)}/state/${CALL_MEMBER}/${encodeURIComponent(`_${user.userId}_${user.deviceId}`)}`, {
        application: "m.call",
        call_id: "",
        scope: "m.room",
        device_id: user.deviceId,
        focus_active: { type: "livekit", focus_selection: "oldest_membership" },
        foci_preferred: [{ type: "livekit", livekit_service_url: `http://${HOSTS.a.address}:${HOSTS.a.appservicePort}${FOCUS_PATH_PREFIX}`, livekit_alias: roomId }],
        expires: 3_600_000,
      });
      const res = await requestFocusToken(bed.appservice.url, roomId, server, user, SLOT);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const participant = startParticipant(bed.testbed, namespace, mode, String(res.body.url), String(res.body.jwt), mode === "publish" ? 600 : 10_000_000);
      bed.participants.push(participant);
      await participant.waitFor("connected");
      return participant;
    },

    /** The transcriber agent's dispatches in a LiveKit room (none when the room does not exist). */
    dispatchesIn: async (livekitRoom: string): Promise<AgentDispatch[]> => {
      const livekit = bed.testbed.livekit.a;
      try {
        return (await new AgentDispatchClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret).listDispatch(livekitRoom)).filter(
          (d) => d.agentName === TRANSCRIBER_AGENT_NAME,
        );
      } catch {
        return [];
      }
    },
  };

  before(async function () {
    this.timeout(300_000);
    bed.testbed = await getTestbed();
    bed.appservice = await startAppservice("a");
    const knex = await openDatabase(bed.appservice.config.database);
    bed.db = { store: createStore(knex), close: () => knex.destroy() };
    bed.alice = await bed.testbed.ministries.a.registerUser(uniqueLocalpart("alice"));
    bed.bob = await bed.testbed.ministries.b.registerUser(uniqueLocalpart("bob"));
    bed.carol = await bed.testbed.ministries.b.registerUser(uniqueLocalpart("carol"));
  });
  after(async () => {
    await Promise.all([...bed.participants, ...bed.workers].map((p) => p.process.stop()));
    await bed.db?.close();
  });
  return bed;
}
