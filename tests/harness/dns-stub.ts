// Tiny DNS server run inside each namespace on 127.0.0.1:53 (the namespaces' resolv.conf).
// Without it, Synapse's SRV lookups (Twisted, unconnected UDP) see no ICMP error and wait a full
// minute of retries before each first federation request. It answers A queries for the test bed's
// names and NXDOMAIN for everything else, at once, and never forwards anything.
//   node dns-stub.ts <name>=<ipv4> ...
import { createSocket } from "node:dgram";

const TYPE_A = 1;
const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;

const records = new Map<string, string>();
for (const argument of process.argv.slice(2)) {
  const [name, address] = argument.split("=");
  if (name !== undefined && address !== undefined) records.set(name.toLowerCase(), address);
}

function parseQuestion(query: Buffer): { name: string; type: number; end: number } | undefined {
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = query[offset];
    if (length === undefined || length > 63) return undefined;
    offset += 1;
    if (length === 0) break;
    labels.push(query.subarray(offset, offset + length).toString("latin1"));
    offset += length;
  }
  if (offset + 4 > query.length) return undefined;
  return { name: labels.join(".").toLowerCase(), type: query.readUInt16BE(offset), end: offset + 4 };
}

function answer(query: Buffer): Buffer | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined;
  const question = parseQuestion(query);
  if (question === undefined) return undefined;
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  const recursionDesired = (query[2] ?? 0) & 0x01;
  const address = records.get(question.name);
  // Known name, other type: NOERROR with no answer, so clients fall back to A rather than giving up.
  const rcode = address === undefined ? RCODE_NXDOMAIN : 0;
  header[2] = 0x84 | recursionDesired; // response, authoritative
  header[3] = 0x80 | rcode; // recursion available
  header.writeUInt16BE(1, 4);
  const parts = [header, query.subarray(12, question.end)];
  if (address !== undefined && question.type === TYPE_A) {
    header.writeUInt16BE(1, 6);
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(60, 6);
    record.writeUInt16BE(4, 10);
    address.split(".").forEach((octet, index) => record.writeUInt8(Number(octet), 12 + index));
    parts.push(record);
  }
  return Buffer.concat(parts);
}

const socket = createSocket("udp4");
socket.on("message", (message, remote) => {
  const reply = answer(message);
  if (reply !== undefined) socket.send(reply, remote.port, remote.address);
});
socket.bind(53, "127.0.0.1", () => {
  // The harness waits for this line in the log.
  process.stdout.write("dns-stub listening\n");
});
