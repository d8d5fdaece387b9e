// Pruning of the tables that grow with traffic, as the config's `retention` says: handled transaction
// IDs, done call effects, issued LiveKit identities. (Webhook event IDs are pruned by the call state
// after a day; call records are the meetings' history and are kept.)
import type { Knex } from "knex";
import type { AppserviceConfig } from "../../../config/schema.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface Pruned {
  transactions: number;
  effects: number;
  identities: number;
}

export async function pruneOld(db: Knex, retention: AppserviceConfig["retention"], now: number): Promise<Pruned> {
  const transactions = await db("as_transactions").where("handled_at", "<", now - retention.transactions_days * DAY_MS).delete();
  const effects = await db("call_effects").whereNotNull("done_at").andWhere("done_at", "<", now - retention.finished_effects_days * DAY_MS).delete();
  const identities = await db("livekit_identities").where("issued_at", "<", now - retention.identities_days * DAY_MS).delete();
  // Normally taken when the participant leaves; one left behind is useless once its identity is gone.
  await db("delegated_leaves").where("delegated_at", "<", now - retention.identities_days * DAY_MS).delete();
  return { transactions, effects, identities };
}
