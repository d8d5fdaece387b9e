// "Nouvelle réunion": `POST <appservice>/_visio/v1/meetings` on the user's own ministry's appservice
// (named in their homeserver's `.well-known/matrix/client`), authenticated by an OpenID token from their
// homeserver. The meeting comes back inviting its creator, who then joins it.
import type { MeetingCreationRequest, MeetingCreationResponse, OpenIdToken } from "../../../../config/wire-types.ts";
import { MEETINGS_API_PATH } from "../../../../config/wire-types.ts";
import { ERRCODE, VisioError } from "../errors.ts";
import { openIdFields, postJson } from "../visio-api.ts";
import type { FetchLike } from "../matrix/homeserver-discovery.ts";

/** What the appservice accepts; checked here too so that the user is told before any request. */
export const MAX_MEETING_TITLE_LENGTH = 100;

export async function createMeeting(fetchFn: FetchLike, appserviceUrl: string, title: string, openIdToken: OpenIdToken): Promise<MeetingCreationResponse> {
  const tidy = title.replace(/\s+/g, " ").trim();
  if (tidy === "") throw new VisioError(ERRCODE.invalidParam, "meetings.titleMissing");
  if ([...tidy].length > MAX_MEETING_TITLE_LENGTH) throw new VisioError(ERRCODE.invalidParam, "meetings.titleTooLong", { params: { max: MAX_MEETING_TITLE_LENGTH } });
  const body: MeetingCreationRequest = { title: tidy, openid_token: openIdFields(openIdToken) };
  return (await postJson(fetchFn, `${appserviceUrl}${MEETINGS_API_PATH}`, body, "meetings.createFailed")) as MeetingCreationResponse;
}
