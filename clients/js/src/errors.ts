import type { FieldError } from "./protocol.js";

/**
 * Error codes. The server's codes (docs/protocol.md) plus two the client
 * raises itself: "token_error" when the token callback throws, and
 * "handler_error" when a message handler throws.
 */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "schema_violation"
  | "too_large"
  | "rate_limited"
  | "unavailable"
  | "slow_consumer"
  | "internal"
  | "offset_out_of_range"
  | "token_error"
  | "handler_error"
  | (string & {});

/** SluiceError is every error the client reports or rejects with. */
export class SluiceError extends Error {
  /** Machine-readable code, such as "forbidden" or "schema_violation". */
  readonly code: ErrorCode;
  /** The topic the error is about, when there is one. */
  readonly topic?: string;
  /** For schema_violation: every rejected field. */
  readonly details?: FieldError[];

  constructor(code: ErrorCode, message: string, extra: { topic?: string; details?: FieldError[]; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "SluiceError";
    this.code = code;
    if (extra.topic !== undefined) this.topic = extra.topic;
    if (extra.details !== undefined) this.details = extra.details;
  }
}

/**
 * Subscribe errors worth retrying on the same connection: the server could
 * not reach Kafka for a moment. Every other subscribe error ends the
 * subscription.
 */
export function retryableSubscribeError(code: string): boolean {
  return code === "unavailable" || code === "internal";
}
