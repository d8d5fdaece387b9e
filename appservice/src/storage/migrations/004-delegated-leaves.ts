import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  // A MatrixRTC client that handed its delayed leave event (MSC4140) to this focus: when its LiveKit
  // connection goes, the focus has the homeserver send it, so a closed tab leaves the call at once.
  // One per LiveKit participant; a newer delegation of the same participant replaces the older.
  await knex.schema.createTable("delegated_leaves", (t) => {
    t.string("livekit_room", 255).notNullable();
    t.string("identity", 255).notNullable();
    t.string("room_id", 255).notNullable();
    t.string("user_id", 255).notNullable();
    // The ID is the capability to send, restart or cancel the delayed event: like a token, never logged.
    t.string("delay_id", 255).notNullable();
    t.bigInteger("delay_timeout_ms").notNullable();
    t.bigInteger("delegated_at").notNullable();
    t.primary(["livekit_room", "identity"]);
    t.index(["delegated_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("delegated_leaves");
}
