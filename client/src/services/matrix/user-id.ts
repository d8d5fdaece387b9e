// A person as someone types them to invite them: their Matrix ID ("@alice:ministry-a.test") or the
// address form the sign-in also takes ("alice@ministry-a.test").
import { CURRENT_MATRIX_USER_ID } from "../../../../config/wire-types.ts";

/** The Matrix user ID typed, or null when the text names nobody. */
export function userIdFromInput(input: string): string | null {
  const text = input.trim();
  if (CURRENT_MATRIX_USER_ID.test(text.toLowerCase())) return text;
  const address = /^([^@:\s]+)@([^@\s]+)$/.exec(text);
  if (address === null) return null;
  const userId = `@${(address[1] ?? "").toLowerCase()}:${address[2] ?? ""}`;
  return CURRENT_MATRIX_USER_ID.test(userId) ? userId : null;
}
