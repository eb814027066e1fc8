import type { FieldError } from "./protocol.js";
/**
 * Error codes. The server's codes (docs/protocol.md) plus two the client
 * raises itself: "token_error" when the token callback throws, and
 * "handler_error" when a message handler throws.
 */
export type ErrorCode = "bad_request" | "unauthorized" | "forbidden" | "not_found" | "schema_violation" | "too_large" | "rate_limited" | "unavailable" | "slow_consumer" | "internal" | "offset_out_of_range" | "token_error" | "handler_error" | (string & {});
/** SluiceError is every error the client reports or rejects with. */
export declare class SluiceError extends Error {
    /** Machine-readable code, such as "forbidden" or "schema_violation". */
    readonly code: ErrorCode;
    /** The topic the error is about, when there is one. */
    readonly topic?: string;
    /** For schema_violation: every rejected field. */
    readonly details?: FieldError[];
    constructor(code: ErrorCode, message: string, extra?: {
        topic?: string;
        details?: FieldError[];
        cause?: unknown;
    });
}
/**
 * Subscribe errors worth retrying on the same connection: the server could
 * not reach Kafka for a moment. Every other subscribe error ends the
 * subscription.
 */
export declare function retryableSubscribeError(code: string): boolean;
