// LiveKit's SDK is loaded on first use: the appservice's start does not load it, the clients made
// without it reach LiveKit's API as the SDK's own do, and the protocol values written out match.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { DataPacket_Kind, JobStatus, ParticipantInfo_Kind, TrackSource, TrackType } from "@livekit/protocol";
import { ServerError } from "livekit-server-sdk";
import { isLiveKitNotFound, lazyAgentDispatch, lazyRoomService } from "../../appservice/src/livekit/lazy-sdk.ts";
import * as values from "../../appservice/src/livekit/protocol-values.ts";

describe("LiveKit's SDK loaded on first use", () => {
  it("is not loaded by the appservice's modules", async () => {
    // Every module the appservice's wiring loads, as Node resolves them.
    const script = `
      import { registerHooks } from "node:module";
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
      await import("./appservice/src/app.ts");
      process.stdout.write(JSON.stringify(seen));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd() });
    const seen = JSON.parse(stdout.slice(stdout.indexOf("["))) as string[];
    assert.ok(seen.includes("./storage/database.ts"), "the hook saw the appservice's modules");
    assert.deepEqual(seen.filter((s) => s.includes("livekit-server-sdk") || s.includes("@livekit/")), []);
  });

  it("writes out the protocol's values", () => {
    assert.equal(values.TRACK_TYPE_AUDIO, TrackType.AUDIO);
    assert.equal(values.TRACK_SOURCE_SCREEN_SHARE_AUDIO, TrackSource.SCREEN_SHARE_AUDIO);
    assert.equal(values.DATA_PACKET_RELIABLE, DataPacket_Kind.RELIABLE);
    assert.equal(values.PARTICIPANT_KIND_AGENT, ParticipantInfo_Kind.AGENT);
    assert.equal(values.JOB_STATUS_PENDING, JobStatus.JS_PENDING);
    assert.equal(values.JOB_STATUS_RUNNING, JobStatus.JS_RUNNING);
  });

  it("tells LiveKit's not-found errors from others", async () => {
    assert.equal(await isLiveKitNotFound(new ServerError("twirp error", "room not found", 404, "not_found")), true);
    assert.equal(await isLiveKitNotFound(new ServerError("twirp error", "no such thing", 404, "unknown")), true);
    assert.equal(await isLiveKitNotFound(new ServerError("twirp error", "denied", 401, "unauthenticated")), false);
    assert.equal(await isLiveKitNotFound(Object.assign(new Error("not found"), { status: 404, code: "not_found" })), false);
    assert.equal(await isLiveKitNotFound({ status: 404, code: "not_found" }), false);
  });

  it("sends the SDK's signed requests to LiveKit's API and gives back its errors", async () => {
    const requests: { path: string; auth: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        requests.push({ path: req.url ?? "", auth: req.headers.authorization ?? "", body });
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ code: "not_found", msg: "requested room does not exist" }));
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const rooms = lazyRoomService(url, "api-key", "api-secret-of-at-least-32-characters", { requestTimeout: 5 });
      const err = await rooms.listParticipants("some-room").then(
        () => assert.fail("LiveKit answered 404"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ServerError);
      assert.equal(await isLiveKitNotFound(err), true);
      await assert.rejects(lazyAgentDispatch(url, "api-key", "api-secret-of-at-least-32-characters").listDispatch("some-room"), ServerError);
      assert.deepEqual(
        requests.map((r) => r.path),
        ["/twirp/livekit.RoomService/ListParticipants", "/twirp/livekit.AgentDispatchService/ListDispatch"],
      );
      assert.match(requests[0]!.auth, /^Bearer ey/);
      assert.deepEqual(JSON.parse(requests[0]!.body), { room: "some-room" });
    } finally {
      server.close();
    }
  });
});
