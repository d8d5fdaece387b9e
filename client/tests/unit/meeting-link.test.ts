import assert from "node:assert/strict";
import { meetingFromHash, meetingHash, meetingLink } from "../../src/services/meeting-link.ts";

describe("meeting links: #/m/<alias or room ID>", () => {
  it("round-trips an alias and a room ID through the fragment", () => {
    for (const ref of ["#visio-budget:ministry-a.test", "!AbC123:ministry-b.test:8448"]) assert.equal(meetingFromHash(meetingHash(ref)), ref);
  });
  it("builds the link from the page's address, replacing any fragment it had", () => {
    assert.equal(meetingLink("https://visio.ministry-a.test/app/?lang=fr#/m/old", "#visio-x:ministry-a.test"), "https://visio.ministry-a.test/app/?lang=fr#/m/%23visio-x%3Aministry-a.test");
  });
  it("names no meeting for other fragments, bad escapes or what is not an alias or ID", () => {
    for (const hash of ["", "#", "#/m/", "#/x/%23a%3Ab", "#/m/%E0%A4%A", "#/m/visio-x", "#/m/%23no-server", "#/m/%23a%3Ab%20c"]) assert.equal(meetingFromHash(hash), null, hash);
  });
});
