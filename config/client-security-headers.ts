// The response headers the web client is served with, by nginx in production (config/docker/nginx.conf,
// checked against this by tests/unit/docker-compose.test.ts) and by the demo's and the browser tests'
// static servers: no script but the bundle's own (no inline script, no eval), no framing, no MIME
// sniffing, no referrer sent to the homeservers and foci it calls, camera, microphone and screen for
// this origin only. It talks to any ministry's homeserver, focus, appservice and LiveKit, which the user
// chooses by signing in and joining meetings: connections go to any https/wss origin (http/ws too where
// the client itself is served over plain http, as in the demo).

export function clientSecurityHeaders({ plainHttp }: { plainHttp: boolean }): Record<string, string> {
  const remote = plainHttp ? "https: wss: http: ws:" : "https: wss:";
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob: ${plainHttp ? "https: http:" : "https:"}`,
    "media-src 'self' blob: mediastream:",
    `connect-src 'self' ${remote}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  return {
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()",
    "x-frame-options": "DENY",
  };
}
