import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import yaml from "js-yaml";
import { ConfigError, parseConfig } from "../../config/load.ts";
import { renderSampleConfig } from "../../config/sample.ts";

const valid = {
  homeserver: { server_name: "ministry-a.example", url: "http://synapse:8008" },
  appservice: { url: "http://visio:9000", as_token: "a".repeat(32), hs_token: "h".repeat(32) },
  federation: { allowlist: ["ministry-a.example", "ministry-b.example"] },
};

describe("config", () => {
  it("fills defaults for what a valid config leaves out", () => {
    const config = parseConfig(valid);
    assert.equal(config.appservice.port, 9000);
    assert.equal(config.database.client, "sqlite");
    assert.equal(config.meetings.alias_prefix, "visio-");
    assert.equal(config.meetings.join_rule, "public");
  });

  it("names the missing key", () => {
    const { homeserver: _omitted, ...rest } = valid;
    assert.throws(() => parseConfig(rest), (err: Error) => err instanceof ConfigError && /^\s+homeserver: /m.test(err.message));
  });

  it("names a wrong value and an unknown key, all at once", () => {
    const bad = { ...valid, appservice: { ...valid.appservice, port: 70000, hs_tokn: "x" } };
    assert.throws(
      () => parseConfig(bad),
      (err: Error) => /appservice\.port: /.test(err.message) && /appservice\.hs_tokn: unknown key/.test(err.message),
    );
  });

  it("refuses short tokens and a bad server name", () => {
    const bad = {
      ...valid,
      appservice: { ...valid.appservice, hs_token: "short" },
      federation: { allowlist: ["not a server"] },
    };
    assert.throws(
      () => parseConfig(bad),
      (err: Error) => /appservice\.hs_token: must be at least 32/.test(err.message) && /federation\.allowlist\.0: /.test(err.message),
    );
  });

  it("requires a connection string for postgres", () => {
    assert.throws(
      () => parseConfig({ ...valid, database: { client: "postgres" } }),
      (err: Error) => /database\.connection: is required when client is postgres/.test(err.message),
    );
  });

  it("keeps config/appservice.sample.yaml in step with the schema, and the sample is valid", async () => {
    const committed = await readFile(new URL("../../config/appservice.sample.yaml", import.meta.url), "utf8");
    assert.equal(committed, renderSampleConfig(), "regenerate with: npm run appservice -- sample-config > config/appservice.sample.yaml");
    const config = parseConfig(yaml.load(committed));
    assert.deepEqual(config.federation.allowlist, ["ministry-a.example", "ministry-b.example"]);
  });
});
