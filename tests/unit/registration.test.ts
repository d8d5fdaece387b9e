// The two homeserver registrations of a ministry: the appservice's (bot, meeting aliases) and the
// transcription worker's (the bridge's user alone). Synapse matches a namespace's regex from the
// start of the user ID (Python's re.match); the test does the same.
import assert from "node:assert/strict";
import yaml from "js-yaml";
import { buildRegistration } from "../../appservice/src/registration.ts";
import { buildWorkerRegistration, workerRegistrationYaml } from "../../bridge/src/worker/worker-registration.ts";
import { parseConfig } from "../../config/load.ts";
import { testConfig } from "../support/config.ts";

const matches = (regex: string, userId: string): boolean => new RegExp(`^(?:${regex})`).test(userId);
const BRIDGE = "@visio-transcriber:ministry-a.test";

describe("homeserver registrations", () => {
  const appservice = buildRegistration(testConfig());
  const worker = buildWorkerRegistration({ as_token: "worker-token-0123456789abcdefghijklmn", user_id: BRIDGE });
  const usersOf = (r: { namespaces: { users: { regex: string }[] } }) => (userId: string) => r.namespaces.users.some((n) => matches(n.regex, userId));

  it("the appservice's namespace holds the bot and its users, never the bridge's user nor other servers' users", () => {
    const ours = usersOf(appservice);
    assert.ok(ours("@visio:ministry-a.test"));
    assert.ok(ours("@visio-guest1:ministry-a.test"));
    assert.equal(ours(BRIDGE), false);
    assert.ok(ours("@visio-transcriber2:ministry-a.test"), "only the bridge's exact localpart is left out");
    assert.equal(ours("@visio:ministry-a.test.evil"), false);
    assert.equal(ours("@alice:ministry-a.test"), false);
  });

  it("the worker's namespace is the bridge's user alone, exclusive, without a URL: the homeserver pushes it nothing", () => {
    const its = usersOf(worker);
    assert.ok(its(BRIDGE));
    for (const other of ["@visio:ministry-a.test", "@visio-transcriber:ministry-a.test.evil", "@visio-transcriber2:ministry-a.test", "@alice:ministry-a.test"]) {
      assert.equal(its(other), false, other);
    }
    assert.equal(worker.url, null);
    assert.equal(worker.sender_localpart, "visio-transcriber");
    assert.ok(worker.namespaces.users.every((n) => n.exclusive));
    assert.deepEqual([worker.namespaces.aliases, worker.namespaces.rooms], [[], []]);
    assert.notEqual(worker.id, appservice.id, "two registrations of one homeserver need two ids");
    assert.notEqual(worker.hs_token, worker.as_token);
  });

  it("writes YAML that reads back as the same registration, token included", () => {
    const read = yaml.load(workerRegistrationYaml({ as_token: "worker-token-0123456789abcdefghijklmn", user_id: BRIDGE })) as Record<string, unknown>;
    assert.equal(read.as_token, "worker-token-0123456789abcdefghijklmn");
    assert.equal(read.url, null);
    assert.deepEqual(read.namespaces, worker.namespaces);
  });

  it("refuses a bridge localpart equal to the bot's: they are two users with two tokens", () => {
    const config = testConfig();
    assert.throws(() => parseConfig({ ...config, transcription: { ...config.transcription, bridge_localpart: "visio" } }), /bridge_localpart/);
  });
});
