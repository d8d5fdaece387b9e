// Switching devices: before joining, the preview's device; in the call, LiveKit's switchActiveDevice
// on the room we publish on (microphone, camera) or on every room (speaker); a refusal is an error.
import assert from "node:assert/strict";
import type { Room as LkRoom } from "livekit-client";
import { ref, shallowRef } from "vue";
import type { VisioError } from "../../src/services/errors.ts";
import type { CallMedia } from "../../src/services/livekit/call-media.ts";
import { createCallDevices } from "../../src/stores/call/call-devices.ts";
import { createCallPreview } from "../../src/stores/call/call-preview.ts";
import type { ParticipantView } from "../../src/stores/call/participant-view.ts";

function fakeRoom(name: string, accepts = true) {
  const switched: string[] = [];
  const room = {
    switchActiveDevice: async (kind: string, deviceId: string) => {
      switched.push(`${name}:${kind}:${deviceId}`);
      return accepts;
    },
  };
  return { room: room as unknown as LkRoom, switched };
}

function setup(phase: "prejoin" | "joined", own: LkRoom | null, others: LkRoom[] = []) {
  const choices: { cameraId: string | null; microphoneId: string | null }[] = [];
  const media: CallMedia = {
    listDevices: async () => ({ cameras: [], microphones: [] }),
    createPreview: async (choice) => {
      choices.push(choice);
      return { video: null, audio: null };
    },
    connect: () => Promise.reject(new Error("no calls in this test")),
  };
  const preview = createCallPreview(media, () => undefined);
  const errors: VisioError[] = [];
  let changes = 0;
  const devices = createCallDevices({
    phase: ref(phase),
    preview,
    local: shallowRef<ParticipantView | null>(null),
    own: shallowRef(own),
    others: () => others,
    changed: () => void (changes += 1),
    onError: (error) => void errors.push(error),
  });
  return { preview, devices, errors, choices, changes: () => changes };
}

describe("call devices: switching", () => {
  it("in the call, a microphone or camera is switched on the room we publish on only", async () => {
    const own = fakeRoom("own");
    const other = fakeRoom("other");
    const s = setup("joined", own.room, [other.room]);
    await s.devices.switchDevice("audioinput", "mic-2");
    await s.devices.switchDevice("videoinput", "cam-2");
    assert.deepEqual(own.switched, ["own:audioinput:mic-2", "own:videoinput:cam-2"]);
    assert.deepEqual(other.switched, []);
    assert.equal(s.preview.microphoneId.value, "mic-2");
    assert.equal(s.preview.cameraId.value, "cam-2");
    assert.deepEqual(s.choices, [], "no preview track opened in the call");
    assert.equal(s.changes(), 2);
  });

  it("in the call, the speaker is switched on every room, ours and the other foci's", async () => {
    const own = fakeRoom("own");
    const other = fakeRoom("other");
    const s = setup("joined", own.room, [other.room]);
    await s.devices.switchDevice("audiooutput", "speaker-2");
    assert.deepEqual([...own.switched, ...other.switched], ["own:audiooutput:speaker-2", "other:audiooutput:speaker-2"]);
    assert.equal(s.preview.speakerId.value, "speaker-2");
  });

  it("a switch LiveKit refuses is an error, and the choice is not recorded", async () => {
    const own = fakeRoom("own", false);
    const s = setup("joined", own.room);
    await s.devices.switchDevice("audioinput", "mic-2");
    assert.equal(s.errors[0]?.messageKey, "call.deviceNotSwitched");
    assert.equal(s.preview.microphoneId.value, null);
  });

  it("before joining, the preview opens the chosen device (the speaker only remembered)", async () => {
    const s = setup("prejoin", null);
    await s.preview.open();
    s.choices.length = 0;
    await s.devices.switchDevice("videoinput", "cam-2");
    await s.devices.switchDevice("audiooutput", "speaker-2");
    assert.deepEqual(s.choices, [{ cameraId: "cam-2", microphoneId: null }]);
    assert.equal(s.preview.speakerId.value, "speaker-2");
  });
});
