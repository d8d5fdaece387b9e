// The production stack's web client (docker-compose.yml's `client` service and config/docker/nginx.conf):
// nginx serves the built client with the security headers the client is tested under, terminates TLS
// for everything a browser calls, and proxies Synapse, the appservice's focus and control API and
// LiveKit's signalling on the paths their configs give. Static checks, as in docker-compose.test.ts.
import assert from "node:assert/strict";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { LIVEKIT_WEBHOOK_PATH } from "../../appservice/src/calls/livekit-webhook.ts";
import { TRANSCRIPTION_API_PATH } from "../../config/wire-types.ts";
import { parseClientConfig } from "../../client/src/services/client-config.ts";
import { clientSecurityHeaders } from "../../config/client-security-headers.ts";
import { parseConfig } from "../../config/load.ts";
import { all, composeServices, mountSource, one, parseNginx, read, readText, type ComposeService, type LiveKitConfig, type NginxDirective } from "./support/compose-files.ts";

describe("docker-compose.yml", () => {
  let services: Record<string, ComposeService>;
  before(async () => {
    services = await composeServices();
  });

  describe("client", () => {
    let client: ComposeService;
    let servers: NginxDirective[];
    let docroot: string;
    before(async () => {
      client = services.client!;
      assert.ok(client, "a client service");
      assert.match(client.image ?? "", /^nginx:\d/);
      const top = parseNginx(await readText(mountSource(client, "/etc/nginx/conf.d/default.conf")));
      servers = all(top, "server");
      docroot = client.volumes?.find((v) => v.startsWith("./client/dist:"))?.split(":")[1] ?? "";
    });

    const tlsServer = (host: string): NginxDirective[] => {
      const server = servers.find((s) => one(s.block, "server_name")?.args.includes(host));
      assert.ok(server, `a server block for ${host}`);
      assert.ok(all(server.block, "listen").every((l) => l.args.includes("ssl")), `${host} is served over TLS only`);
      assert.ok(one(server.block, "ssl_certificate"), `${host} has a certificate`);
      return server.block ?? [];
    };
    /** The location of `server` that nginx picks for `path` (longest prefix). */
    const locationFor = (server: NginxDirective[], path: string): NginxDirective | undefined =>
      all(server, "location")
        .filter((l) => l.args.length === 1 && path.startsWith(l.args[0]!))
        .sort((a, b) => b.args[0]!.length - a.args[0]!.length)[0];

    it("serves the client's deployment settings (config.json, beside index.html), valid as the client reads them", async () => {
      const mounted = JSON.parse(await readText(mountSource(client, `${docroot}/config.json`))) as unknown;
      assert.deepEqual(parseClientConfig(mounted), { config: { matrixRtcMode: "compatibility" }, problems: [] });
    });

    it("publishes https (and http only to redirect to it), with the certificates mounted", () => {
      assert.deepEqual(client.ports?.sort(), ["443:443", "80:80"]);
      const tlsMount = client.volumes?.find((v) => v.endsWith(":/etc/nginx/tls:ro"));
      assert.ok(tlsMount, "the TLS material is mounted");
      for (const server of servers) {
        const listens = all(server.block, "listen");
        if (listens.some((l) => l.args.includes("ssl"))) {
          for (const file of [one(server.block, "ssl_certificate"), one(server.block, "ssl_certificate_key")]) {
            assert.ok(file?.args[0]?.startsWith("/etc/nginx/tls/"), "certificates come from the mounted folder");
          }
        } else {
          assert.ok(listens.every((l) => l.args[0]?.endsWith("80")));
          assert.deepEqual(server.block?.map((d) => d.name), ["listen", "listen", "server_name", "return"]);
          assert.deepEqual(one(server.block, "return")?.args, ["301", "https://$host$request_uri"]);
        }
      }
    });

    it("serves client/dist and proxies Matrix, the focus and the transcription control API on the https origin clients are given", async () => {
      const appservice = parseConfig(await read("config/docker/appservice.yaml"));
      const snippet = (await read("config/docker/homeserver-snippet.yaml")) as {
        public_baseurl: string;
        extra_well_known_client_content: {
          "org.matrix.msc4143.rtc_foci": { livekit_service_url: string }[];
          "org.visio.appservice": { url: string };
        };
        matrix_rtc: { transports: { livekit_service_url: string }[] };
      };
      const synapseUpstream = new URL(appservice.homeserver.url).origin;
      const appserviceUpstream = new URL(appservice.appservice.url).origin;

      const focusUrls = [
        ...snippet.extra_well_known_client_content["org.matrix.msc4143.rtc_foci"].map((f) => f.livekit_service_url),
        ...snippet.matrix_rtc.transports.map((t) => t.livekit_service_url),
      ];
      const routes: [string, string][] = [
        // The server name: clients read its .well-known at sign-in.
        [`https://${appservice.homeserver.server_name}/.well-known/matrix/client`, synapseUpstream],
        [new URL("/.well-known/matrix/client", snippet.public_baseurl).href, synapseUpstream],
        [new URL("/_matrix/client/versions", snippet.public_baseurl).href, synapseUpstream],
        ...focusUrls.map((url): [string, string] => [`${url}/get_token`, appserviceUpstream]),
        [`${snippet.extra_well_known_client_content["org.visio.appservice"].url}${TRANSCRIPTION_API_PATH}`, appserviceUpstream],
      ];
      for (const [href, upstream] of routes) {
        const url = new URL(href);
        assert.equal(url.protocol, "https:", `${href} is https`);
        const location = locationFor(tlsServer(url.hostname), url.pathname);
        assert.ok(location, `a location for ${url.pathname}`);
        // No URI after the upstream: nginx passes the request's path on unchanged.
        assert.deepEqual(one(location.block, "proxy_pass")?.args, [upstream], `${href} goes to ${upstream}`);
      }
      assert.ok(focusUrls.every((url) => new URL(url).pathname === FOCUS_PATH_PREFIX), "the focus URL is the appservice's focus path");

      // What only Synapse and LiveKit may call stays inside the stack.
      const matrixServer = tlsServer(new URL(snippet.public_baseurl).hostname);
      for (const path of [LIVEKIT_WEBHOOK_PATH, "/_matrix/app/v1/transactions/1", "/_matrix/app/v1/ping"]) {
        const upstream = one(locationFor(matrixServer, path)?.block, "proxy_pass")?.args[0];
        assert.notEqual(upstream, appserviceUpstream, `${path} is not proxied to the appservice`);
      }

      const root = locationFor(matrixServer, "/index.html");
      assert.equal(one(root?.block, "root")?.args[0], docroot, "the client's build is what / serves");
      assert.equal(docroot, "/usr/share/nginx/html");
      assert.ok(client.volumes?.includes(`./client/dist:${docroot}:ro`));
      assert.deepEqual(one(root?.block, "try_files")?.args, ["$uri", "$uri/", "/index.html"]);
    });

    it("sends the client's security headers with it (the ones the demo and the browser tests serve it with), HSTS kept", async () => {
      const snippet = (await read("config/docker/homeserver-snippet.yaml")) as { public_baseurl: string };
      const root = locationFor(tlsServer(new URL(snippet.public_baseurl).hostname), "/index.html");
      const sent = Object.fromEntries(all(root?.block, "add_header").map((h) => [h.args[0]?.toLowerCase() ?? "", h.args.slice(1)]));
      const expected = clientSecurityHeaders({ plainHttp: false });
      for (const [name, value] of Object.entries(expected)) assert.deepEqual(sent[name], [value, "always"], name);
      assert.deepEqual(sent["strict-transport-security"], ["max-age=31536000", "always"], "an add_header in the location replaces the server's: HSTS repeated");
      assert.match(expected["content-security-policy"] ?? "", /script-src 'self';/);
      assert.doesNotMatch(expected["content-security-policy"] ?? "", /unsafe-inline|unsafe-eval| http: | ws:/);
    });

    it("carries LiveKit's signalling websocket over wss at the URL the focus hands out", async () => {
      const appservice = parseConfig(await read("config/docker/appservice.yaml"));
      const livekit = (await read("config/docker/livekit.yaml")) as LiveKitConfig;
      const url = new URL(appservice.focus?.livekit.url ?? "");
      assert.equal(url.protocol, "wss:");
      const location = locationFor(tlsServer(url.hostname), "/rtc");
      assert.deepEqual(one(location?.block, "proxy_pass")?.args, [`http://livekit:${livekit.port}`]);
      const headers = all(location?.block, "proxy_set_header").map((d) => d.args.join(" "));
      assert.ok(headers.includes("Upgrade $http_upgrade"));
      assert.ok(headers.includes("Connection $connection_upgrade"));
    });

    it("has Synapse's client listener trust the proxy's forwarded address", async () => {
      const appservice = parseConfig(await read("config/docker/appservice.yaml"));
      const snippet = (await read("config/docker/homeserver-snippet.yaml")) as {
        listeners: { port: number; tls: boolean; x_forwarded: boolean; resources: { names: string[] }[] }[];
      };
      const listener = snippet.listeners.find((l) => l.port === Number(new URL(appservice.homeserver.url).port));
      assert.ok(listener, "a listener on the port the stack calls Synapse on");
      assert.equal(listener.tls, false);
      assert.equal(listener.x_forwarded, true);
      assert.ok(listener.resources.some((r) => r.names.includes("client")));
    });
  });
});
