// The stage's layout (the grid's shape at any count, the spotlight's choice) and the call's toasts
// (who joined, who left, whose hand went up), without a browser.
import assert from "node:assert/strict";
import { createCallAwareness, presenceChanges, TOAST_LINGER_MS, type CallPresence } from "../../src/stores/call/call-awareness.ts";
import { arrangeStage, gridShape, tileKey, type StageTile } from "../../src/services/call/stage-layout.ts";

const camera = (identity: string, isLocal = false): StageTile => ({ key: tileKey(identity, "camera"), identity, source: "camera", isLocal });
const screen = (identity: string): StageTile => ({ key: tileKey(identity, "screen"), identity, source: "screen", isLocal: false });

describe("stage layout", () => {
  it("fills a wide stage: 1 tile uses the height, 4 tiles a 2×2 grid, 9 a 3×3", () => {
    const one = gridShape(1, 1600, 900, 0);
    assert.deepEqual(one, { columns: 1, rows: 1, tileWidth: 1600, tileHeight: 900 });
    assert.deepEqual([gridShape(4, 1600, 900).columns, gridShape(4, 1600, 900).rows], [2, 2]);
    assert.deepEqual([gridShape(9, 1600, 900).columns, gridShape(9, 1600, 900).rows], [3, 3]);
  });

  it("stacks tiles on a tall phone stage instead of shrinking them side by side", () => {
    const shape = gridShape(2, 380, 560);
    assert.equal(shape.columns, 1);
    assert.equal(shape.rows, 2);
    assert.ok(shape.tileWidth >= 370, `tile width ${shape.tileWidth}`);
  });

  it("never gives tiles that overflow the stage, from 1 to 30 tiles", () => {
    for (let count = 1; count <= 30; count++) {
      const shape = gridShape(count, 1000, 600, 8);
      assert.ok(shape.columns * shape.rows >= count);
      assert.ok(shape.columns * shape.tileWidth + (shape.columns - 1) * 8 <= 1000 + 1, `width at ${count}`);
      assert.ok(shape.rows * shape.tileHeight + (shape.rows - 1) * 8 <= 600 + 1, `height at ${count}`);
      assert.ok(shape.tileWidth > 0);
    }
  });

  it("a grid has no spotlight; the speaker view puts the active speaker in it", () => {
    const tiles = [camera("me", true), camera("alice"), camera("bob")];
    assert.equal(arrangeStage(tiles, { mode: "grid", pinned: null, activeSpeaker: "bob" }).main, null);
    const speaker = arrangeStage(tiles, { mode: "speaker", pinned: null, activeSpeaker: "bob" });
    assert.equal(speaker.main?.identity, "bob");
    assert.deepEqual(speaker.others.map((tile) => tile.identity), ["me", "alice"]);
  });

  it("the speaker view shows someone else than ourselves before anyone spoke", () => {
    const speaker = arrangeStage([camera("me", true), camera("alice")], { mode: "speaker", pinned: null, activeSpeaker: null });
    assert.equal(speaker.main?.identity, "alice");
  });

  it("a shared screen takes the stage, even in the grid; a pinned tile comes before it", () => {
    const tiles = [screen("alice"), camera("me", true), camera("alice")];
    assert.equal(arrangeStage(tiles, { mode: "grid", pinned: null, activeSpeaker: null }).main?.key, "alice:screen");
    const pinned = arrangeStage(tiles, { mode: "grid", pinned: "me:camera", activeSpeaker: null });
    assert.equal(pinned.main?.key, "me:camera");
    assert.equal(pinned.others.length, 2);
  });

  it("a pin on a tile that is gone is ignored", () => {
    assert.equal(arrangeStage([camera("me", true)], { mode: "grid", pinned: "gone:camera", activeSpeaker: null }).main, null);
  });
});

describe("call toasts", () => {
  const presence = (members: Record<string, string>, hands: string[] = []): CallPresence => ({ members: new Map(Object.entries(members)), hands });

  it("lists joins, leaves and newly raised hands", () => {
    const changes = presenceChanges(presence({ "@a:x": "Alice", "@b:y": "Bob" }, ["@a:x"]), presence({ "@a:x": "Alice", "@c:y": "Chloé" }, ["@a:x", "@c:y"]));
    assert.deepEqual(changes, [
      { kind: "joined", userId: "@c:y", name: "Chloé" },
      { kind: "left", userId: "@b:y", name: "Bob" },
      { kind: "hand", userId: "@c:y", name: "Chloé" },
    ]);
  });

  it("the first look at a call toasts nobody; later changes do, and go after their time", () => {
    const timers: { run: () => void; ms: number }[] = [];
    const awareness = createCallAwareness((run, ms) => void timers.push({ run, ms }));
    awareness.observe(presence({ "@a:x": "Alice", "@b:y": "Bob" }, ["@a:x"]));
    assert.equal(awareness.toasts.value.length, 0);
    awareness.observe(presence({ "@a:x": "Alice", "@b:y": "Bob" }, ["@a:x", "@b:y"]));
    assert.deepEqual(awareness.toasts.value.map((toast) => [toast.kind, toast.name]), [["hand", "Bob"]]);
    assert.equal(timers[0]?.ms, TOAST_LINGER_MS);
    timers[0]?.run();
    assert.equal(awareness.toasts.value.length, 0);
  });

  it("leaving the call clears the toasts, and the next call starts afresh", () => {
    const awareness = createCallAwareness(() => undefined);
    awareness.observe(presence({ "@a:x": "Alice" }));
    awareness.observe(presence({}));
    assert.equal(awareness.toasts.value.length, 1);
    awareness.observe(null);
    assert.equal(awareness.toasts.value.length, 0);
    awareness.observe(presence({ "@b:y": "Bob" }));
    assert.equal(awareness.toasts.value.length, 0);
  });

  it("keeps at most four toasts at once", () => {
    const awareness = createCallAwareness(() => undefined);
    awareness.observe(presence({}));
    awareness.observe(presence({ a: "1", b: "2", c: "3", d: "4", e: "5", f: "6" }));
    assert.deepEqual(awareness.toasts.value.map((toast) => toast.name), ["3", "4", "5", "6"]);
  });
});
