import assert from "node:assert/strict";
import { userIdFromInput } from "../../src/services/matrix/user-id.ts";

describe("the person typed to invite", () => {
  it("takes a Matrix ID as it is, and name@server as the same person", () => {
    assert.equal(userIdFromInput(" @alice:ministry-a.test "), "@alice:ministry-a.test");
    assert.equal(userIdFromInput("Alice@ministry-a.test"), "@alice:ministry-a.test");
    assert.equal(userIdFromInput("bob@localhost:8448"), "@bob:localhost:8448");
  });

  it("names nobody for text that is not an address", () => {
    for (const text of ["", "alice", "@alice", "alice@", "Alice Martin", "@al ice:server", "a@b@c"]) assert.equal(userIdFromInput(text), null, text);
  });
});
