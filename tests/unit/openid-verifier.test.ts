// The OpenID verifier against a real local HTTPS homeserver stand-in, with CAs made for this run.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createFederationGet,
  resolveFederationTarget,
  type FederationGet,
} from "../../appservice/src/focus/federation-client.ts";
import { createOpenIdVerifier, OpenIdVerificationError, type OpenIdFailure } from "../../appservice/src/focus/openid-verifier.ts";

interface Pki {
  caPem: Buffer;
  otherCaPem: Buffer;
  key: Buffer;
  cert: Buffer;
}

async function makePki(dir: string): Promise<Pki> {
  const openssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const caExt = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"];
  openssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=Visio test CA", ...caExt);
  openssl("req", "-x509", ...ec, "-keyout", "other.key", "-out", "other.pem", "-days", "1", "-subj", "/CN=Other CA", ...caExt);
  openssl("req", ...ec, "-keyout", "hs.key", "-out", "hs.csr", "-subj", "/CN=127.0.0.1");
  await writeFile(join(dir, "hs.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  openssl("x509", "-req", "-in", "hs.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "hs.pem", "-days", "1", "-extfile", "hs.ext");
  const read = (name: string): Promise<Buffer> => readFile(join(dir, name));
  return { caPem: await read("ca.pem"), otherCaPem: await read("other.pem"), key: await read("hs.key"), cert: await read("hs.pem") };
}

async function refusal(promise: Promise<unknown>): Promise<OpenIdFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof OpenIdVerificationError, `expected OpenIdVerificationError, got ${String(err)}`);
    return err.reason;
  }
  assert.fail("verification succeeded");
}

describe("OpenID verifier (local HTTPS homeserver, per-run CA)", function () {
  this.timeout(20_000);
  let dir: string;
  let pki: Pki;
  let server: Server;
  let serverName: string;
  const requests: { path: string; host: string | undefined }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "visio-openid-"));
    pki = await makePki(dir);
    const served = new WeakMap<object, number>();
    server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
      requests.push({ path: req.url ?? "", host: req.headers.host });
      const url = new URL(req.url ?? "/", "https://x");
      const token = url.searchParams.get("access_token");
      const onThisConnection = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, onThisConnection);
      res.setHeader("content-type", "application/json");
      if (token === "closed-on-reuse" && onThisConnection > 1) {
        // A kept-alive connection the server drops as the client reuses it.
        req.socket.destroy();
      } else if (url.pathname !== "/_matrix/federation/v1/openid/userinfo") {
        res.statusCode = 404;
        res.end('{"errcode":"M_UNRECOGNIZED","error":"no"}');
      } else if (token === "good" || token === "good/+=" || token === "closed-on-reuse") {
        res.end(JSON.stringify({ sub: `@alice:${serverName}` }));
      } else if (token === "someone-elses") {
        res.end(JSON.stringify({ sub: "@mallory:ministry-b.test" }));
      } else if (token === "garbage") {
        res.end("<html>hello</html>");
      } else if (token === "hang") {
        // never answers
      } else {
        res.statusCode = 401;
        res.end('{"errcode":"M_UNKNOWN_TOKEN","error":"Unknown token"}');
      }
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    serverName = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    requests.length = 0;
  });

  const verifier = (ca: Buffer | undefined, cacheTtlMs = 60_000, timeoutMs = 2000) =>
    createOpenIdVerifier({ get: createFederationGet({ ca, timeoutMs }), cacheTtlMs });

  it("returns the token's user, asking with the server name as Host and the token URL-encoded", async () => {
    const v = verifier(pki.caPem);
    assert.equal(await v.verify({ accessToken: "good", serverName }), `@alice:${serverName}`);
    assert.equal(await v.verify({ accessToken: "good/+=", serverName }), `@alice:${serverName}`);
    assert.deepEqual(requests, [
      { path: "/_matrix/federation/v1/openid/userinfo?access_token=good", host: serverName },
      { path: "/_matrix/federation/v1/openid/userinfo?access_token=good%2F%2B%3D", host: serverName },
    ]);
  });

  it("sends a request again, once, on a new connection when the server closed the kept-alive one it was sent on", async () => {
    const v = verifier(pki.caPem);
    assert.equal(await v.verify({ accessToken: "good", serverName }), `@alice:${serverName}`);
    assert.equal(await v.verify({ accessToken: "closed-on-reuse", serverName }), `@alice:${serverName}`);
    assert.equal(requests.filter((r) => r.path.endsWith("=closed-on-reuse")).length, 2);
  });

  it("refuses a homeserver whose certificate does not chain to the configured CA", async () => {
    assert.equal(await refusal(verifier(pki.otherCaPem).verify({ accessToken: "good", serverName })), "untrusted_tls");
    // Node's built-in CAs do not know a private CA either.
    assert.equal(await refusal(verifier(undefined).verify({ accessToken: "good", serverName })), "untrusted_tls");
  });

  it("refuses a token the homeserver does not know, and remembers the refusal for five minutes: retries cost no federation request", async () => {
    let clock = 1_000_000;
    const v = createOpenIdVerifier({ get: createFederationGet({ ca: pki.caPem, timeoutMs: 2000 }), cacheTtlMs: 60_000, now: () => clock });
    assert.equal(await refusal(v.verify({ accessToken: "forged", serverName })), "rejected");
    assert.equal(await refusal(v.verify({ accessToken: "forged", serverName })), "rejected");
    assert.equal(await refusal(v.verify({ accessToken: "someone-elses", serverName })), "server_mismatch");
    assert.equal(await refusal(v.verify({ accessToken: "someone-elses", serverName })), "server_mismatch");
    assert.equal(requests.length, 2, "each refused token asked once");
    clock += 5 * 60_000;
    assert.equal(await refusal(v.verify({ accessToken: "forged", serverName })), "rejected");
    assert.equal(requests.length, 3, "asked again once the refusal is forgotten");
    // An unreachable homeserver is not a refusal: asked again at once.
    const slow = verifier(pki.caPem, 60_000, 300);
    assert.equal(await refusal(slow.verify({ accessToken: "hang", serverName })), "unreachable");
    assert.equal(await refusal(slow.verify({ accessToken: "hang", serverName })), "unreachable");
    assert.equal(requests.filter((r) => r.path.endsWith("=hang")).length, 2);
  });

  it("refuses a user of another server than the token claims", async () => {
    assert.equal(await refusal(verifier(pki.caPem).verify({ accessToken: "someone-elses", serverName })), "server_mismatch");
  });

  it("refuses an answer that is not a userinfo one", async () => {
    assert.equal(await refusal(verifier(pki.caPem).verify({ accessToken: "garbage", serverName })), "bad_response");
  });

  it("gives up on a homeserver that does not answer in time", async () => {
    assert.equal(await refusal(verifier(pki.caPem, 60_000, 300).verify({ accessToken: "hang", serverName })), "unreachable");
  });

  it("answers a cached token without asking again, until the cache time or the token's expiry passes", async () => {
    let now = 1_000_000;
    const v = createOpenIdVerifier({ get: createFederationGet({ ca: pki.caPem, timeoutMs: 2000 }), cacheTtlMs: 60_000, now: () => now });
    const concurrent = await Promise.all([1, 2, 3].map(() => v.verify({ accessToken: "good", serverName })));
    assert.deepEqual(new Set(concurrent), new Set([`@alice:${serverName}`]));
    assert.equal(requests.length, 1, "concurrent lookups of one token share one request");
    await v.verify({ accessToken: "good", serverName });
    assert.equal(requests.length, 1);
    now += 61_000;
    await v.verify({ accessToken: "good", serverName });
    assert.equal(requests.length, 2);
    // A token that expires sooner than the cache time is not trusted past its expiry.
    await v.verify({ accessToken: "good/+=", serverName, expiresInSeconds: 5 });
    now += 6_000;
    await v.verify({ accessToken: "good/+=", serverName, expiresInSeconds: 5 });
    assert.equal(requests.length, 4);
  });

  it("keys the cache by server too: a token is not reused for another server name", async () => {
    const v = verifier(pki.caPem);
    await v.verify({ accessToken: "good", serverName });
    const other = `localhost:${serverName.split(":")[1]}`;
    // Same token, other claimed server: not served from the cache, so refused (the certificate is
    // for 127.0.0.1; where localhost is ::1 first, nothing listens there).
    assert.ok(["untrusted_tls", "unreachable"].includes(await refusal(v.verify({ accessToken: "good", serverName: other }))));
  });
});

describe("federation server resolution", () => {
  const wellKnown = (answer: unknown, status = 200): { get: FederationGet; asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      get: async (target, path) => {
        asked.push(`${target.host}:${target.port}${path}`);
        if (answer instanceof Error) throw answer;
        return { status, body: answer };
      },
    };
  };

  it("uses an explicit port or an IP literal directly", async () => {
    const fake = wellKnown({});
    assert.deepEqual(await resolveFederationTarget("hs.example:8449", fake.get), { host: "hs.example", port: 8449, hostHeader: "hs.example:8449" });
    assert.deepEqual(await resolveFederationTarget("[::1]", fake.get), { host: "::1", port: 8448, hostHeader: "[::1]" });
    assert.deepEqual(fake.asked, []);
  });

  it("follows .well-known/matrix/server delegation", async () => {
    const fake = wellKnown({ "m.server": "matrix.ministry-b.example:443" });
    assert.deepEqual(await resolveFederationTarget("ministry-b.example", fake.get), {
      host: "matrix.ministry-b.example",
      port: 443,
      hostHeader: "matrix.ministry-b.example:443",
    });
    assert.deepEqual(fake.asked, ["ministry-b.example:443/.well-known/matrix/server"]);
    const noPort = wellKnown({ "m.server": "matrix.ministry-b.example" });
    assert.equal((await resolveFederationTarget("ministry-b.example", noPort.get)).port, 8448);
  });

  it("falls back to port 8448 without a usable well-known", async () => {
    for (const fake of [wellKnown(new Error("ECONNREFUSED")), wellKnown({}, 404), wellKnown({ "m.server": "not a name!" })]) {
      assert.deepEqual(await resolveFederationTarget("ministry-b.example", fake.get), {
        host: "ministry-b.example",
        port: 8448,
        hostHeader: "ministry-b.example",
      });
    }
  });
});
