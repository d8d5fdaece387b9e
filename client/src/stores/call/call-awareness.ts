// Who came, who went, whose hand went up: the short notices shown (and announced politely) over the
// call. The first look at a call only records who is there: joining a call of ten is not ten toasts.
import { ref } from "vue";

export type CallToastKind = "joined" | "left" | "hand";

export interface CallToast {
  id: number;
  kind: CallToastKind;
  name: string;
}

/** What the call shows at one moment: the other members (user ID → name) and the raised hands in order. */
export interface CallPresence {
  members: ReadonlyMap<string, string>;
  hands: readonly string[];
}

export const TOAST_LINGER_MS = 5_000;
const MAX_TOASTS = 4;

export function presenceChanges(before: CallPresence, after: CallPresence): { kind: CallToastKind; userId: string; name: string }[] {
  const changes: { kind: CallToastKind; userId: string; name: string }[] = [];
  for (const [userId, name] of after.members) if (!before.members.has(userId)) changes.push({ kind: "joined", userId, name });
  for (const [userId, name] of before.members) if (!after.members.has(userId)) changes.push({ kind: "left", userId, name });
  const raisedBefore = new Set(before.hands);
  for (const userId of after.hands) {
    if (!raisedBefore.has(userId)) changes.push({ kind: "hand", userId, name: after.members.get(userId) ?? userId });
  }
  return changes;
}

export function createCallAwareness(schedule: (run: () => void, ms: number) => void = (run, ms) => void setTimeout(run, ms)) {
  const toasts = ref<CallToast[]>([]);
  let last: CallPresence | null = null;
  let nextId = 1;

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((toast) => toast.id !== id);
  }

  /** A new look at the call; null when we are not in one (the next look starts afresh). */
  function observe(presence: CallPresence | null): void {
    const before = last;
    last = presence;
    if (presence === null) {
      toasts.value = [];
      return;
    }
    if (before === null) return;
    for (const change of presenceChanges(before, presence)) {
      const toast = { id: nextId++, kind: change.kind, name: change.name };
      toasts.value = [...toasts.value, toast].slice(-MAX_TOASTS);
      schedule(() => dismiss(toast.id), TOAST_LINGER_MS);
    }
  }

  return { toasts, observe, dismiss };
}
