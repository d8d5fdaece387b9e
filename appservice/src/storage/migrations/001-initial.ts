import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  // Transactions already handled, so a redelivered txnId is acknowledged without being applied again.
  await knex.schema.createTable("as_transactions", (t) => {
    t.string("txn_id", 255).primary();
    t.integer("event_count").notNullable();
    t.bigInteger("handled_at").notNullable();
  });
  await knex.schema.createTable("meeting_rooms", (t) => {
    t.string("room_id", 255).primary();
    t.string("alias", 255).notNullable().unique();
    t.string("slug", 255).notNullable();
    t.bigInteger("created_at").notNullable();
  });
  // Latest membership of every user in the appservice's rooms, from the transactions: the focus
  // service answers "is this user joined?" from here without asking the homeserver.
  await knex.schema.createTable("room_members", (t) => {
    t.string("room_id", 255).notNullable();
    t.string("user_id", 255).notNullable();
    t.string("membership", 32).notNullable();
    t.string("event_id", 255).notNullable();
    t.bigInteger("origin_server_ts").notNullable();
    t.primary(["room_id", "user_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("room_members");
  await knex.schema.dropTable("meeting_rooms");
  await knex.schema.dropTable("as_transactions");
}
