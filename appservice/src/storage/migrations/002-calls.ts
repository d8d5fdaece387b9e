import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  // Who the focus service gave a LiveKit identity to: webhooks name only the LiveKit room and the
  // identity (a pseudonym), so this is how they map back to Matrix users, devices and rooms.
  await knex.schema.createTable("livekit_identities", (t) => {
    t.string("livekit_room", 255).notNullable();
    t.string("identity", 255).notNullable();
    t.string("room_id", 255).notNullable();
    t.string("user_id", 255).notNullable();
    t.string("device_id", 255).notNullable();
    t.bigInteger("issued_at").notNullable();
    t.primary(["livekit_room", "identity"]);
    t.index(["room_id", "user_id"]);
  });
  // LiveKit retries a webhook it thinks failed: its event id is kept so the retry changes nothing.
  await knex.schema.createTable("livekit_webhook_events", (t) => {
    t.string("id", 255).primary();
    t.string("event", 64).notNullable();
    t.bigInteger("received_at").notNullable();
  });
  // One row per call of a Matrix room; ended_at is null while it runs (at most one such row per room).
  await knex.schema.createTable("calls", (t) => {
    t.string("id", 64).primary();
    t.string("room_id", 255).notNullable();
    t.bigInteger("started_at").notNullable();
    t.bigInteger("ended_at").nullable();
    t.integer("participant_count").notNullable().defaultTo(0);
    t.integer("max_concurrent").notNullable().defaultTo(0);
    t.index(["room_id", "ended_at"]);
  });
  // Two deliveries racing to start a room's call (PostgreSQL runs them concurrently) cannot both win.
  await knex.raw("CREATE UNIQUE INDEX calls_one_active_per_room ON calls (room_id) WHERE ended_at IS NULL");
  // A participant's presence in a call as one source saw it: a LiveKit connection (key: participant
  // SID) or a MatrixRTC membership (key: the call.member state key). A rejoin is a new row.
  await knex.schema.createTable("call_participants", (t) => {
    t.increments("id").primary();
    t.string("call_id", 64).notNullable().references("id").inTable("calls");
    t.string("source", 16).notNullable();
    t.string("presence_key", 255).notNullable();
    t.string("user_id", 255).notNullable();
    t.string("device_id", 255).nullable();
    t.string("livekit_room", 255).nullable();
    t.string("identity", 255).nullable();
    t.bigInteger("joined_at").notNullable();
    t.bigInteger("left_at").nullable();
    // MatrixRTC memberships expire unless refreshed (`expires`); a client gone without a delayed
    // leave event stops counting then.
    t.bigInteger("expires_at").nullable();
    t.index(["call_id", "left_at"]);
    t.index(["call_id", "source", "presence_key"]);
    t.index(["livekit_room", "left_at"]);
  });
  // Effects of committed call changes (notices, LiveKit removals), done after the commit and kept
  // until done, so a crash between the two loses none of them.
  await knex.schema.createTable("call_effects", (t) => {
    t.increments("id").primary();
    t.string("kind", 32).notNullable();
    t.text("payload").notNullable();
    t.bigInteger("created_at").notNullable();
    t.integer("attempts").notNullable().defaultTo(0);
    t.bigInteger("done_at").nullable();
    t.index(["done_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("call_effects");
  await knex.schema.dropTable("call_participants");
  await knex.schema.dropTable("calls");
  await knex.schema.dropTable("livekit_webhook_events");
  await knex.schema.dropTable("livekit_identities");
}
