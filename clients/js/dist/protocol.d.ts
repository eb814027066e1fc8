/**
 * Where a subscription starts: the end of every partition ("latest"), the
 * start ("earliest"), the first record at or after a unix time in
 * milliseconds, explicit next offsets per partition, or the last N records
 * of every partition.
 */
export type From = "latest" | "earliest" | {
    timestamp: number;
} | {
    offsets: Record<string, number>;
} | {
    last: number;
};
/** One field a schema rejected, from the `details` of a schema_violation. */
export interface FieldError {
    /** JSON pointer-like path of the field, such as "/amount". */
    path: string;
    /** Why the field was rejected. */
    reason: string;
}
/** A Kafka record delivered to a subscription. */
export interface Message {
    topic: string;
    partition: number;
    offset: number;
    /** Record timestamp, unix milliseconds. */
    timestamp: number;
    /** The key when it is UTF-8; absent for a record without a key. */
    key?: string;
    /** The key, base64, when it is not UTF-8. */
    keyB64?: string;
    /**
     * The value when it is JSON (or was decoded to JSON by a schema); null
     * for a tombstone. Absent when the value is bytes (see valueB64).
     */
    value?: unknown;
    /** The value, base64, when it is not JSON. */
    valueB64?: string;
    /** The schema id of a schema-framed value that could not be decoded. */
    schemaId?: number;
    /** UTF-8 headers. */
    headers?: Record<string, string>;
    /** Headers whose key or value is not UTF-8, values base64. */
    headersB64?: Record<string, string>;
}
/** Where Kafka stored a published record. */
export interface PublishResult {
    topic: string;
    partition: number;
    offset: number;
}
/** Frames the server sends. */
export type ServerFrame = {
    op: "message";
    topic: string;
    partition: number;
    offset: number;
    timestamp: number;
    key?: string;
    key_b64?: string;
    value?: unknown;
    value_b64?: string;
    schema_id?: number;
    headers?: Record<string, string>;
    headers_b64?: Record<string, string>;
} | {
    op: "subscribed";
    id?: string;
    topic: string;
    offsets: Record<string, number>;
} | {
    op: "unsubscribed";
    id?: string;
    topic: string;
} | {
    op: "published";
    id?: string;
    topic: string;
    partition: number;
    offset: number;
} | {
    op: "error";
    id?: string;
    code: string;
    message: string;
    topic?: string;
    details?: FieldError[];
} | {
    op: "pong";
    id?: string;
} | {
    op: "authenticated";
    id?: string;
    expires_at?: number;
} | {
    op: "auth_expiring";
    seconds: number;
};
/** toMessage turns a wire message frame into the public Message shape. */
export declare function toMessage(f: Extract<ServerFrame, {
    op: "message";
}>): Message;
/** base64 encodes bytes with the standard alphabet, in browsers and Node. */
export declare function base64(bytes: Uint8Array): string;
