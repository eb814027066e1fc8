import { SluiceError } from "./errors.js";
import type { From, Message, PublishResult } from "./protocol.js";
/** The part of the standard WebSocket the client uses. */
export interface WebSocketLike {
    readonly readyState: number;
    send(data: string): void;
    close(code?: number, reason?: string): void;
    addEventListener(type: string, listener: (ev: any) => void): void;
}
/** A WebSocket constructor: the browser's, Node 22's, or the ws package's. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;
/** Returns a token: a string, or a promise of one. */
export type TokenProvider = () => string | Promise<string>;
/**
 * The connection's state. "connecting" is the first attempt, "open" means
 * authenticated and usable, "reconnecting" covers the wait and the attempts
 * after a connection dropped, "closed" is final (after close()).
 */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";
/** Detail of a state change. */
export interface StateDetail {
    /** The close code of the connection that dropped ("reconnecting"). */
    code?: number;
    /** The close reason of the connection that dropped. */
    reason?: string;
    /** Milliseconds until the next attempt ("reconnecting"). */
    delayMs?: number;
}
/** Options of a Sluice client. */
export interface SluiceOptions {
    /**
     * The token, or a callback returning one (possibly async). The callback
     * runs before every connection attempt and when the server announces the
     * token's expiry (auth_expiring); return a cached token if it is still
     * fresh. Default: none (the server must run without auth).
     */
    token?: string | TokenProvider;
    /** The WebSocket constructor. Default: globalThis.WebSocket. */
    WebSocket?: WebSocketConstructor;
    /** Reconnect after a connection drops. Default: true. */
    reconnect?: boolean;
    /** The first reconnect delay, before jitter. Default: 250 ms. */
    minReconnectDelayMs?: number;
    /** The longest reconnect delay. Default: 10000 ms. */
    maxReconnectDelayMs?: number;
    /**
     * How long a publish may wait for an open connection before it is
     * rejected with code "unavailable". Default: 10000 ms.
     */
    publishTimeoutMs?: number;
    /**
     * How often the client pings when the server has been silent, to notice
     * a dead connection. 0 turns the heartbeat off. Default: 20000 ms.
     */
    heartbeatIntervalMs?: number;
    /** How long a ping may go unanswered before reconnecting. Default: 10000 ms. */
    heartbeatTimeoutMs?: number;
    /**
     * How long one connection attempt may take, from dialling to
     * authenticated, before it is abandoned and retried. Default: 10000 ms.
     */
    connectTimeoutMs?: number;
}
/** Options of a subscription. */
export interface SubscribeOptions {
    /** Where the subscription starts. Default: "latest". */
    from?: From;
    /** Deliver only records with this key (or one of these keys). */
    key?: string | string[];
    /** Deliver only records carrying every one of these header values. */
    headers?: Record<string, string>;
    /**
     * When the records to resume from were deleted by retention: "error"
     * ends the subscription with offset_out_of_range, "earliest" continues
     * from the oldest record still kept. Default: "error".
     */
    onGap?: "error" | "earliest";
    /**
     * Called when the subscription ends with an error (forbidden,
     * offset_out_of_range, ...). Default: the error goes to the client's
     * "error" listeners.
     */
    onError?: (err: SluiceError) => void;
}
/** Options of a publish. */
export interface PublishOptions {
    /** The record key. Default: none. */
    key?: string;
    /** Record headers. Default: none. */
    headers?: Record<string, string>;
    /**
     * Send the record again on the next connection if the connection drops
     * before Kafka acknowledged it. The record may then be stored twice.
     * Default: false: such a publish is rejected with code "unavailable".
     */
    retryOnReconnect?: boolean;
}
/** A live subscription. */
export interface Subscription {
    readonly topic: string;
    /**
     * Resolves when the server first confirmed the subscription; rejects if
     * the subscription failed before that.
     */
    readonly ready: Promise<void>;
    /** The next offset expected per partition: where a resume starts. */
    positions(): Record<string, number>;
    /** Ends the subscription. No message is delivered after it returns. */
    unsubscribe(): void;
}
type Events = {
    state: (state: ConnectionState, detail: StateDetail) => void;
    error: (err: SluiceError) => void;
};
/**
 * Sluice is a client of the Sluice WebSocket gateway. It connects at once,
 * reconnects with exponential backoff and jitter, resumes every
 * subscription right after the last record it delivered, and refreshes the
 * token when the server asks. See docs/client-js.md.
 */
export declare class Sluice {
    #private;
    readonly url: string;
    constructor(url: string, opts?: SluiceOptions);
    /** The current connection state. */
    get state(): ConnectionState;
    /** Adds a listener; returns a function that removes it. */
    on<K extends keyof Events>(event: K, fn: Events[K]): () => void;
    /** Resolves when the connection is open (authenticated). */
    waitOpen(): Promise<void>;
    /**
     * Subscribes to topic. The handler sees every record once, in offset
     * order per partition, across reconnects. One subscription per topic.
     */
    subscribe(topic: string, handler: (msg: Message) => void): Subscription;
    subscribe(topic: string, opts: SubscribeOptions, handler: (msg: Message) => void): Subscription;
    /**
     * Publishes value (any JSON value; a Uint8Array is sent as bytes; null
     * writes a tombstone) and resolves once Kafka stored it.
     */
    publish(topic: string, value: unknown, opts?: PublishOptions): Promise<PublishResult>;
    /** Closes the connection for good; pending publishes are rejected. */
    close(): void;
}
export {};
