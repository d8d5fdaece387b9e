// The production stack must match what the appservice accepts and the names its services have.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import yaml from "js-yaml";
import { parseConfig } from "../../config/load.ts";

interface ComposeService {
  image?: string;
  command?: string[];
  volumes?: string[];
  expose?: string[];
  ports?: string[];
}

const read = async (path: string): Promise<unknown> => yaml.load(await readFile(new URL(`../../${path}`, import.meta.url), "utf8"));

describe("docker-compose.yml", () => {
  let services: Record<string, ComposeService>;
  before(async () => {
    services = ((await read("docker-compose.yml")) as { services: Record<string, ComposeService> }).services;
  });

  it("runs the appservice with a config that the schema accepts and that points at the stack's services", async () => {
    const appservice = services.appservice;
    assert.ok(appservice, "an appservice service");
    const configMount = appservice.volumes?.find((v) => v.endsWith(":/etc/visio/appservice.yaml:ro"));
    assert.ok(configMount, "the appservice config is mounted where its command reads it");
    assert.ok(appservice.command?.join(" ").includes("-c /etc/visio/appservice.yaml"));
    const config = parseConfig(await read(configMount.split(":")[0]!.replace(/^\.\//, "")));

    const homeserver = new URL(config.homeserver.url);
    assert.ok(services[homeserver.hostname], `homeserver.url names the service ${homeserver.hostname}`);
    assert.ok(services[homeserver.hostname]?.expose?.includes(homeserver.port), "Synapse exposes that port");

    const own = new URL(config.appservice.url);
    assert.equal(own.hostname, "appservice");
    assert.equal(Number(own.port), config.appservice.port);
    assert.ok(appservice.expose?.includes(String(config.appservice.port)));
    assert.equal(config.appservice.bind_address, "0.0.0.0");

    assert.equal(config.database.client, "postgres");
    assert.ok(services[new URL(config.database.connection ?? "").hostname], "database host is a service of the stack");
  });

  it("gives the focus service the LiveKit key that LiveKit signs its webhooks with", async () => {
    const appservice = parseConfig(await read("config/docker/appservice.yaml"));
    const livekit = (await read("config/docker/livekit.yaml")) as {
      keys: Record<string, string>;
      room: { auto_create: boolean };
      webhook: { api_key: string; urls: string[] };
    };
    const focus = appservice.focus;
    assert.ok(focus, "the stack runs the focus service");
    assert.equal(livekit.keys[focus.livekit.api_key], focus.livekit.api_secret);
    assert.equal(livekit.webhook.api_key, focus.livekit.api_key);
    assert.deepEqual(livekit.webhook.urls, [`${appservice.appservice.url}/livekit/webhook`]);
    assert.equal(livekit.room.auto_create, false);
    assert.ok(services[new URL(focus.livekit.api_url ?? "").hostname], "the LiveKit API host is a service of the stack");
  });

  it("pins the server versions the tests run", () => {
    assert.equal(services.synapse?.image, "matrixdotorg/synapse:v1.163.2");
    assert.equal(services.livekit?.image, "livekit/livekit-server:v1.13.5");
  });

  it("gives Synapse the registration generated from the appservice config", () => {
    assert.ok(services.synapse?.volumes?.some((v) => v.startsWith("./config/docker/visio-registration.yaml:")));
  });
});
