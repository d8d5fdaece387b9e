// A meeting's own address in the client: `<client URL>#/m/<room alias or room ID>`. The fragment never
// reaches a server, so a link names the meeting without telling the web server which one it is.
const PREFIX = "#/m/";
// "#alias:server" or "!id:server", as the spec's grammars for room aliases and room IDs.
const ROOM_REF = /^[#!][^:\s]+:[^\s]+$/;

export function meetingHash(roomRef: string): string {
  return `${PREFIX}${encodeURIComponent(roomRef)}`;
}

/** The room alias or ID a page fragment names, or null when it names none (or garbage). */
export function meetingFromHash(hash: string): string | null {
  if (!hash.startsWith(PREFIX)) return null;
  let ref: string;
  try {
    ref = decodeURIComponent(hash.slice(PREFIX.length));
  } catch {
    return null;
  }
  return ROOM_REF.test(ref) ? ref : null;
}

/** The link to share: the page's own address with the meeting's fragment. */
export function meetingLink(pageUrl: string, roomRef: string): string {
  const url = new URL(pageUrl);
  url.hash = meetingHash(roomRef);
  return url.toString();
}
