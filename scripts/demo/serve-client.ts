// The built web client served inside a ministry's network namespace (the netns demo), so that a
// browser started in that namespace, where calls carry media, opens it:
//   serve-client.ts <client dist> <address> <port>
import {
  serveStatic,
} from "@visio/testbed";

const [root, address, port] = process.argv.slice(2);
if (root === undefined || address === undefined || port === undefined) throw new Error("usage: serve-client.ts <client dist> <address> <port>");
const server = await serveStatic(root, address, Number(port));
process.stdout.write(`serving ${root} at ${server.url}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void server.close().then(() => process.exit(0)));
