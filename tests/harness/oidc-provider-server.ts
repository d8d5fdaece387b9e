// A ministry's identity provider for the test bed and the demo: npm's oidc-provider (a certified
// OpenID Connect implementation) with a login page of our own that checks a fixed set of accounts,
// so that Synapse's single sign-on runs against a real provider: authorization code with PKCE,
// client_secret_post at the token endpoint, signed ID tokens, userinfo. Run inside the ministry's
// namespace by oidc-provider.ts:
//   node oidc-provider-server.ts <config.json>   (an IdentityProviderConfig; it holds secrets)
import { generateKeyPairSync, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import Provider, { type Configuration, type InteractionResults, type KoaContextWithOIDC } from "oidc-provider";
import { loginPage } from "./oidc-login-page.ts";

export interface IdentityProviderAccount {
  username: string;
  password: string;
  /** The `name` claim: Synapse's display name for the user. */
  name: string;
}

export interface IdentityProviderClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface IdentityProviderConfig {
  issuer: string;
  listenAddress: string;
  port: number;
  /** Shown on the login page. */
  title: string;
  clients: IdentityProviderClient[];
  accounts: IdentityProviderAccount[];
}

const MAX_FORM_BYTES = 16 * 1024;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
      if (body.length > MAX_FORM_BYTES) reject(new Error("form too large"));
    });
    req.on("end", () => resolve(new URLSearchParams(body)));
    req.on("error", reject);
  });
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

export function createIdentityProvider(config: IdentityProviderConfig): { provider: Provider; handle: (req: IncomingMessage, res: ServerResponse) => void } {
  const accounts = new Map(config.accounts.map((account) => [account.username, account]));
  // Keys live as long as the process: a restarted provider invalidates its sessions, as it should.
  const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const configuration: Configuration = {
    clients: config.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      token_endpoint_auth_method: "client_secret_post",
      grant_types: ["authorization_code"],
      response_types: ["code"],
    })),
    claims: { openid: ["sub"], profile: ["name", "preferred_username"] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    // Synapse calls the provider server to server; no browser script does.
    clientBasedCORS: () => false,
    jwks: { keys: [{ ...signingKey, kid: "signing", use: "sig", alg: "RS256" }] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    // Seconds; a test or a demo session is short.
    ttl: { Interaction: 10 * 60, Session: 8 * 60 * 60, Grant: 8 * 60 * 60, AccessToken: 60 * 60, IdToken: 60 * 60 },
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
      const account = accounts.get(sub);
      if (account === undefined) return undefined;
      return { accountId: sub, claims: () => ({ sub, preferred_username: account.username, name: account.name }) };
    },
  };
  const provider = new Provider(config.issuer, configuration);
  const oidc = provider.callback();

  // Both prompts are settled at the login: the provider belongs to the ministry, whose own services
  // (its homeserver) need no separate consent.
  async function finishWith(req: IncomingMessage, res: ServerResponse, accountId: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const grant = details.grantId === undefined ? new provider.Grant({ accountId, clientId: String(details.params.client_id) }) : await provider.Grant.find(details.grantId);
    if (grant === undefined) throw new Error("the interaction's grant is gone");
    grant.addOIDCScope(String(details.params.scope ?? "openid"));
    const result: InteractionResults = { login: { accountId }, consent: { grantId: await grant.save() } };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error("interaction mismatch");
    const formAction = `/interaction/${encodeURIComponent(uid)}/login`;
    if (action === undefined && req.method === "GET") {
      // Signed in already (a second sign-in in the same browser): only the consent is missing.
      if (details.prompt.name !== "login" && details.session?.accountId !== undefined) return finishWith(req, res, details.session.accountId);
      return sendHtml(res, 200, loginPage({ title: config.title, formAction }));
    }
    if (action === "login" && req.method === "POST") {
      const form = await readForm(req);
      const username = (form.get("username") ?? "").trim();
      const account = accounts.get(username);
      if (account === undefined || !sameSecret(form.get("password") ?? "", account.password)) {
        return sendHtml(res, 401, loginPage({ title: config.title, formAction, username, error: "Identifiant ou mot de passe incorrect." }));
      }
      return finishWith(req, res, account.username);
    }
    sendHtml(res, 405, "<p>Méthode non prise en charge.</p>");
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const match = /^\/interaction\/([^/?]+)(?:\/(login))?(?:\?|$)/.exec(req.url ?? "");
    if (match === null) {
      void oidc(req, res);
      return;
    }
    interaction(req, res, decodeURIComponent(match[1] ?? ""), match[2]).catch((error: unknown) => {
      // An expired or unknown interaction: the user starts again from their application.
      process.stderr.write(`interaction failed: ${error instanceof Error ? error.name : "error"}\n`);
      if (!res.headersSent) sendHtml(res, 400, "<p>Cette demande de connexion a expiré. Recommencez depuis votre application.</p>");
    });
  };
  return { provider, handle };
}

function main(): void {
  const path = process.argv[2];
  if (path === undefined) throw new Error("usage: oidc-provider-server.ts <config.json>");
  const config = JSON.parse(readFileSync(path, "utf8")) as IdentityProviderConfig;
  const { handle } = createIdentityProvider(config);
  const server = createServer(handle);
  server.listen(config.port, config.listenAddress, () => {
    process.stdout.write(`oidc-provider listening on ${config.listenAddress}:${config.port} (issuer ${config.issuer})\n`);
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

if (import.meta.url === `file://${process.argv[1] ?? ""}`) main();
