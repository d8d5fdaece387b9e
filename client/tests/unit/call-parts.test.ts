// Parts of the call store, each with fakes: the connections to other members' foci (which foci, the
// OpenID token only to a focus a member's server announces, retried when refused, dropped when
// unused) and the subtitle lines.
import assert from "node:assert/strict";
import type { Room as LkRoom } from "livekit-client";
import type { Room } from "matrix-js-sdk";
import type { CallMembership, MatrixRTCSession } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { createCallSubtitles } from "../../src/stores/call/call-subtitles.ts";
import { createRemoteFoci } from "../../src/stores/call/remote-foci.ts";

const OWN_FOCUS = "https://matrix.ministry-a.test/livekit/jwt";
const B_FOCUS = "https://matrix.ministry-b.test/livekit/jwt";
const EVIL_FOCUS = "https://collector.evil.test/livekit/jwt";

function membership(sender: string, deviceId: string, focus: string): CallMembership {
  const transport = { type: "livekit", livekit_service_url: focus, livekit_alias: "!r:ministry-a.test" };
  return { sender, deviceId, isExpired: () => false, transports: [transport], getTransport: () => transport } as unknown as CallMembership;
}

function fakeLk(): LkRoom & { closed: boolean } {
  const lk = { closed: false, disconnect: async () => void (lk.closed = true) };
  return lk as unknown as LkRoom & { closed: boolean };
}

/** Each server's .well-known: the foci it announces. */
function wellKnowns(announced: Record<string, string[]>) {
  return async (url: string | URL | Request): Promise<Response> => {
    const server = new URL(String(url)).hostname;
    const foci = announced[server];
    if (foci === undefined) return new Response("", { status: 404 });
    return Response.json({ "org.matrix.msc4143.rtc_foci": foci.map((f) => ({ type: "livekit", livekit_service_url: f })) });
  };
}

describe("call parts", () => {
  describe("connections to other members' foci", () => {
    const setup = (members: CallMembership[], refuse = new Set<string>()) => {
      const rtcSession = { memberships: members } as unknown as MatrixRTCSession;
      const connected: string[] = [];
      let changes = 0;
      const foci = createRemoteFoci({
        fetch: wellKnowns({ "ministry-a.test": [OWN_FOCUS], "ministry-b.test": [B_FOCUS] }),
        current: () => ({ rtcSession, room: { roomId: "!r:ministry-a.test" } as Room, ownFocusUrl: OWN_FOCUS, memberId: "@alice:ministry-a.test:DA" }),
        isOwnDevice: (m) => m.sender === "@alice:ministry-a.test" && m.deviceId === "DA",
        connect: async (url) => {
          if (refuse.has(url)) throw new Error("focus refused: membership before media");
          connected.push(url);
          return fakeLk();
        },
        changed: () => void changes++,
      });
      return { foci, rtcSession, connected, changes: () => changes };
    };

    it("subscribes on each other member's focus once, never on our own, and drops a focus nobody uses any more", async () => {
      const s = setup([
        membership("@alice:ministry-a.test", "DA", OWN_FOCUS),
        membership("@carol:ministry-a.test", "DC", OWN_FOCUS),
        membership("@bob:ministry-b.test", "DB", B_FOCUS),
        membership("@dave:ministry-b.test", "DD", B_FOCUS),
      ]);
      await s.foci.sync();
      await s.foci.sync();
      assert.deepEqual(s.connected, [B_FOCUS]);
      assert.deepEqual([...s.foci.rooms.value.keys()], [B_FOCUS]);
      const bRoom = s.foci.rooms.value.get(B_FOCUS) as LkRoom & { closed: boolean };
      (s.rtcSession as unknown as { memberships: CallMembership[] }).memberships = [membership("@alice:ministry-a.test", "DA", OWN_FOCUS)];
      await s.foci.sync();
      assert.equal(s.foci.rooms.value.size, 0);
      assert.equal(bRoom.closed, true);
    });

    it("sends nothing to a focus that the member's own server does not announce", async () => {
      const s = setup([membership("@mallory:ministry-b.test", "DM", EVIL_FOCUS)]);
      await s.foci.sync();
      assert.deepEqual(s.connected, []);
      assert.equal(s.foci.rooms.value.size, 0);
    });

    it("a focus that refuses for now is asked again; a lost connection is forgotten; clear() ends retries and hands back every connection", async () => {
      const refuse = new Set([B_FOCUS]);
      const s = setup([membership("@bob:ministry-b.test", "DB", B_FOCUS)], refuse);
      await s.foci.sync();
      assert.deepEqual(s.connected, []);
      refuse.clear();
      // Asked again after the retry delay (3 s), by itself.
      for (let i = 0; i < 80 && s.connected.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(s.connected, [B_FOCUS], "asked again after the retry delay");
      const lk = s.foci.rooms.value.get(B_FOCUS) as LkRoom;
      s.foci.lost(B_FOCUS, fakeLk());
      assert.equal(s.foci.rooms.value.get(B_FOCUS), lk, "another connection's loss changes nothing");
      assert.deepEqual(s.foci.clear(), [lk]);
      assert.equal(s.foci.rooms.value.size, 0);
    }).timeout(10_000);
  });

  describe("subtitle lines", () => {
    it("keeps the last three lines, a newer version of a segment replacing the older", () => {
      const { subtitles, add, clear } = createCallSubtitles();
      add({ segmentId: "s1", text: "Bonjour", final: false, speakerIdentity: null }, "Alice");
      add({ segmentId: "s1", text: "Bonjour à tous", final: false, speakerIdentity: null }, "Alice");
      assert.deepEqual(subtitles.value.map((s) => s.text), ["Bonjour à tous"]);
      for (const id of ["s2", "s3", "s4"]) add({ segmentId: id, text: id, final: false, speakerIdentity: null }, "Bob");
      assert.deepEqual(subtitles.value.map((s) => s.segmentId), ["s2", "s3", "s4"]);
      clear();
      assert.deepEqual(subtitles.value, []);
    });
  });
});
