import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  // An effect that waits (a transcription dispatch no worker took yet) is not run again before this
  // time: waiting effects, however many, leave the batch to the others (kicks, notices).
  await knex.schema.alterTable("call_effects", (t) => {
    t.bigInteger("not_before").nullable();
    t.index(["done_at", "not_before"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("call_effects", (t) => {
    t.dropIndex(["done_at", "not_before"]);
    t.dropColumn("not_before");
  });
}
