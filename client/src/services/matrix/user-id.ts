// A person as someone types them to invite them: their Matrix ID ("@alice:ministry-a.test") or the
// address form the sign-in also takes ("alice@ministry-a.test").

/** The Matrix user ID typed, or null when the text names nobody. */
export function userIdFromInput(input: string): string | null {
  const text = input.trim();
  if (/^@[a-z0-9._=\-/+]+:[A-Za-z0-9.-]+(?::\d+)?$/i.test(text)) return text;
  const address = /^([a-z0-9._=\-/+]+)@([A-Za-z0-9.-]+(?::\d+)?)$/i.exec(text);
  return address === null ? null : `@${(address[1] ?? "").toLowerCase()}:${address[2] ?? ""}`;
}
