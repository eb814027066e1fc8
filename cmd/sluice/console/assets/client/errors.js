/** SluiceError is every error the client reports or rejects with. */
export class SluiceError extends Error {
    /** Machine-readable code, such as "forbidden" or "schema_violation". */
    code;
    /** The topic the error is about, when there is one. */
    topic;
    /** For schema_violation: every rejected field. */
    details;
    constructor(code, message, extra = {}) {
        super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
        this.name = "SluiceError";
        this.code = code;
        if (extra.topic !== undefined)
            this.topic = extra.topic;
        if (extra.details !== undefined)
            this.details = extra.details;
    }
}
/**
 * Subscribe errors worth retrying on the same connection: the server could
 * not reach Kafka for a moment. Every other subscribe error ends the
 * subscription.
 */
export function retryableSubscribeError(code) {
    return code === "unavailable" || code === "internal";
}
