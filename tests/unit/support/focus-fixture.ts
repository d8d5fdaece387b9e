// The focus API behind a plain node:http server, with fakes for the OpenID verifier and LiveKit's room API
// and a fixed membership table: ALICE (local) and BOB (remote, allowlisted) joined, CAROL (local) left.
// Tokens are real LiveKit tokens, read back with livekit-server-sdk's TokenVerifier.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Room, TokenVerifier, type ClaimGrants } from "livekit-server-sdk";
import type { DelegatedLeave } from "../../../appservice/src/calls/call-store.ts";
import { createFocusApi } from "../../../appservice/src/focus/focus-api.ts";
import { liveKitRoomAlias } from "../../../appservice/src/focus/livekit-names.ts";
import { OpenIdVerificationError, type OpenIdTokenClaim, type OpenIdVerifier } from "../../../appservice/src/focus/openid-verifier.ts";
import { createTokenIssuer, type LiveKitRooms, type SfuSelection } from "../../../appservice/src/focus/token-issuer.ts";
import { createLogger } from "../../../appservice/src/log.ts";
import { requestLimits, type RateLimit } from "../../../appservice/src/rate-limiter.ts";
import type { JsonResponse } from "../../harness/http.ts";

const API_KEY = "focus-test-key";
const API_SECRET = "focus-test-secret-0123456789abcdefghij";
const LIVEKIT_URL = "wss://livekit.ministry-a.test";
export const ROOM = "!call:ministry-a.test";
export const SLOT = "m.call#ROOM";
export const ALICE = "@alice:ministry-a.test"; // local, joined
export const BOB = "@bob:ministry-b.test"; // remote, allowlisted, joined
export const CAROL = "@carol:ministry-a.test"; // local, left the room
const tokens: Record<string, string> = { "alice-token": ALICE, "bob-token": BOB, "carol-token": CAROL, "eve-token": "@eve:evil.test" };

class FakeVerifier implements OpenIdVerifier {
  calls: OpenIdTokenClaim[] = [];
  async verify(claim: OpenIdTokenClaim): Promise<string> {
    this.calls.push(claim);
    const userId = tokens[claim.accessToken];
    if (claim.accessToken === "down-token") throw new OpenIdVerificationError("unreachable", "Homeserver unreachable (ECONNREFUSED)");
    if (!userId) throw new OpenIdVerificationError("rejected", "Homeserver refused the token (HTTP 401)");
    return userId;
  }
}

class FakeRooms implements LiveKitRooms {
  existing = new Set<string>();
  created: string[] = [];
  failing = false;
  async listRooms(names?: string[]): Promise<Room[]> {
    if (this.failing) throw new Error("connect ECONNREFUSED");
    return (names ?? []).filter((n) => this.existing.has(n)).map((name) => new Room({ name }));
  }
  async createRoom(options: { name: string }): Promise<Room> {
    if (this.failing) throw new Error("connect ECONNREFUSED");
    this.created.push(options.name);
    this.existing.add(options.name);
    return new Room({ name: options.name });
  }
}

const memberships = new Map([
  [`${ROOM}|${ALICE}`, "join"],
  [`${ROOM}|${BOB}`, "join"],
  [`${ROOM}|${CAROL}`, "leave"],
]);

export interface Focus {
  url: string;
  verifier: FakeVerifier;
  rooms: FakeRooms;
  logs: string[];
  close(): Promise<void>;
}

export async function startFocus(
  sfuSelection: SfuSelection,
  prefix?: string,
  limits?: { per_user: RateLimit; per_server: RateLimit },
  /** Given: the focus takes delegated leaves (of ministry-a.test's users) and keeps them here. */
  delegated?: DelegatedLeave[],
): Promise<Focus> {
  const logs: string[] = [];
  const log = createLogger("debug", (line) => logs.push(line));
  const verifier = new FakeVerifier();
  const rooms = new FakeRooms();
  const focus = createFocusApi({
    verifier,
    issuer: createTokenIssuer({
      url: LIVEKIT_URL,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      ttlSeconds: 300,
      sfuSelection,
      fullAccessServers: ["ministry-a.test"],
      rooms,
      log,
    }),
    membership: { membership: async (roomId, userId) => memberships.get(`${roomId}|${userId}`) ?? null },
    allowedServers: ["ministry-a.test", "ministry-b.test"],
    log,
    ...(prefix !== undefined ? { prefix } : {}),
    ...(limits !== undefined ? { limits: requestLimits(limits, "focus") } : {}),
    ...(delegated !== undefined
      ? { delegatedLeaves: { store: { delegateLeave: async (leave: DelegatedLeave) => void delegated.push(leave) }, localServer: "ministry-a.test" } }
      : {}),
  });
  const server: Server = createServer((req, res) => {
    if (focus.owns(req)) focus.handle(req, res);
    else res.writeHead(404).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    verifier,
    rooms,
    logs,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const openid = (token: string, server: string) => ({
  access_token: token,
  token_type: "Bearer",
  matrix_server_name: server,
  expires_in: 3600,
});
export const getTokenBody = (userId: string, token: string, overrides: Record<string, unknown> = {}) => ({
  room_id: ROOM,
  slot_id: SLOT,
  openid_token: openid(token, userId.split(":")[1] ?? ""),
  member: { id: "member-1", claimed_user_id: userId, claimed_device_id: "DEVICE1" },
  ...overrides,
});

export async function claims(res: JsonResponse): Promise<ClaimGrants> {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.url, LIVEKIT_URL);
  return new TokenVerifier(API_KEY, API_SECRET).verify(String(res.body.jwt));
}

/** The call has been started on this SFU: remote users may join it. */
export function focusRoomsExist(focus: Focus): void {
  focus.rooms.existing.add(liveKitRoomAlias(ROOM, SLOT));
}

export function assertRefused(res: JsonResponse, status: number, errcode: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.errcode, errcode);
  assert.equal(typeof res.body.error, "string");
}
