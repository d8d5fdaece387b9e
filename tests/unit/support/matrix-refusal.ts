// A check for assert.throws / assert.rejects: the error is a MatrixError with this errcode (and a
// message matching `message`, when given).
import { MatrixError } from "../../../appservice/src/errors.ts";

export const refusedWith = (errcode: string, message?: RegExp) => (err: unknown) =>
  err instanceof MatrixError && err.errcode === errcode && (message === undefined || message.test(err.message));
