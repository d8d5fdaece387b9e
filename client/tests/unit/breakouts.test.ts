import assert from "node:assert/strict";
import type { BreakoutsContent } from "../../../config/wire-types.ts";
import { groupOf, isRunning, randomGroups } from "../../src/services/breakouts/breakouts.ts";

const NOW = 1_800_000_000_000;
const state = (extra: Partial<BreakoutsContent> = {}): BreakoutsContent => ({
  active: true,
  started_by: "@alice:a",
  started_at: NOW - 60_000,
  groups: [
    { room_id: "!g1:a", name: "Groupe 1", members: ["@alice:a", "@bob:b"] },
    { room_id: "!g2:a", name: "Groupe 2", members: ["@carol:a"] },
  ],
  ...extra,
});

describe("breakout groups (client rules)", () => {
  it("runs until ended or until its time limit, and puts each member in their own group", () => {
    assert.equal(isRunning(state(), NOW), true);
    assert.equal(isRunning(state({ ends_at: NOW + 1 }), NOW), true);
    assert.equal(isRunning(state({ ends_at: NOW }), NOW), false, "time is up: everyone goes back, whatever the server says");
    assert.equal(isRunning(state({ active: false }), NOW), false);
    assert.equal(isRunning(null, NOW), false);
    assert.equal(groupOf(state(), "@bob:b", NOW)?.room_id, "!g1:a");
    assert.equal(groupOf(state(), "@carol:a", NOW)?.room_id, "!g2:a");
    assert.equal(groupOf(state(), "@dave:b", NOW), null, "in no group: stays in the meeting");
    assert.equal(groupOf(state({ active: false }), "@bob:b", NOW), null);
  });

  it("deals people into groups at random, as evenly as can be, each once", () => {
    const people = ["a", "b", "c", "d", "e"];
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const groups = randomGroups(people, 2, random);
    assert.deepEqual(groups.map((g) => g.length).sort(), [2, 3]);
    assert.deepEqual(groups.flat().sort(), people);
    assert.deepEqual(randomGroups(people, 3, random).map((g) => g.length).sort(), [1, 2, 2]);
  });
});
