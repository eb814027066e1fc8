import { SluiceError, retryableSubscribeError } from "./errors.js";
import { base64, toMessage } from "./protocol.js";
const defaults = {
    minReconnectDelayMs: 250,
    maxReconnectDelayMs: 10_000,
    publishTimeoutMs: 10_000,
    heartbeatIntervalMs: 20_000,
    heartbeatTimeoutMs: 10_000,
    connectTimeoutMs: 10_000,
};
/** closeUnauthorized is the close code of a missing, invalid or expired token. */
const closeUnauthorized = 4401;
/**
 * closeTimeout is the code the client closes with, and reports in the
 * "reconnecting" state, when a connection attempt or a heartbeat timed out.
 */
const closeTimeout = 4000;
/** minRefreshIntervalMs spaces token refreshes when the server warns repeatedly. */
const minRefreshIntervalMs = 1_000;
/** subscribeRetryMs is the pause before retrying a subscribe the server could not serve. */
const subscribeRetryMs = 1_000;
/**
 * Sluice is a client of the Sluice WebSocket gateway. It connects at once,
 * reconnects with exponential backoff and jitter, resumes every
 * subscription right after the last record it delivered, and refreshes the
 * token when the server asks. See docs/client-js.md.
 */
export class Sluice {
    url;
    #opts;
    #WS;
    #ws = null;
    #state = "connecting";
    #open = false;
    #closed = false;
    #attempt = 0;
    #seq = 0;
    #generation = 0;
    #reconnectTimer;
    #connectTimer;
    #heartbeatTimer;
    #lastFrameAt = 0;
    #pingSentAt = 0;
    #token;
    #refreshing = false;
    #lastRefreshAt = 0;
    #subs = new Map();
    #subsById = new Map();
    #inflight = new Map();
    #queued = [];
    #listeners = { state: new Set(), error: new Set() };
    constructor(url, opts = {}) {
        const WS = opts.WebSocket ?? globalThis.WebSocket;
        if (!WS) {
            throw new TypeError("Sluice: no WebSocket implementation: pass {WebSocket} (for example the ws package on Node 20)");
        }
        this.url = url;
        this.#WS = WS;
        this.#opts = {
            token: opts.token,
            reconnect: opts.reconnect ?? true,
            minReconnectDelayMs: opts.minReconnectDelayMs ?? defaults.minReconnectDelayMs,
            maxReconnectDelayMs: opts.maxReconnectDelayMs ?? defaults.maxReconnectDelayMs,
            publishTimeoutMs: opts.publishTimeoutMs ?? defaults.publishTimeoutMs,
            heartbeatIntervalMs: opts.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs,
            heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? defaults.heartbeatTimeoutMs,
            connectTimeoutMs: opts.connectTimeoutMs ?? defaults.connectTimeoutMs,
        };
        void this.#connect();
    }
    /** The current connection state. */
    get state() {
        return this.#state;
    }
    /** Adds a listener; returns a function that removes it. */
    on(event, fn) {
        this.#listeners[event].add(fn);
        return () => this.#listeners[event].delete(fn);
    }
    /** Resolves when the connection is open (authenticated). */
    waitOpen() {
        if (this.#state === "open")
            return Promise.resolve();
        if (this.#state === "closed")
            return Promise.reject(new SluiceError("unavailable", "client closed"));
        return new Promise((resolve, reject) => {
            const off = this.on("state", (s) => {
                if (s === "open") {
                    off();
                    resolve();
                }
                else if (s === "closed") {
                    off();
                    reject(new SluiceError("unavailable", "client closed"));
                }
            });
        });
    }
    subscribe(topic, a, b) {
        const opts = typeof a === "function" ? {} : a;
        const handler = typeof a === "function" ? a : b;
        if (typeof handler !== "function")
            throw new TypeError("Sluice.subscribe: a message handler is required");
        if (this.#closed)
            throw new SluiceError("unavailable", "client closed", { topic });
        if (this.#subs.has(topic)) {
            throw new SluiceError("bad_request", `already subscribed to ${topic}; unsubscribe first`, { topic });
        }
        let resolve;
        let reject;
        const ready = new Promise((res, rej) => {
            resolve = res;
            reject = rej;
        });
        ready.catch(() => { }); // the rejection also reaches onError or "error"
        const sub = {
            id: "s" + ++this.#seq,
            topic,
            opts,
            handler,
            next: new Map(),
            active: false,
            confirmed: false,
            resolve,
            reject,
        };
        this.#subs.set(topic, sub);
        this.#subsById.set(sub.id, sub);
        if (this.#open)
            this.#sendSubscribe(sub);
        return {
            topic,
            ready,
            positions: () => Object.fromEntries([...sub.next].map(([p, o]) => [String(p), o])),
            unsubscribe: () => this.#unsubscribe(sub),
        };
    }
    /**
     * Publishes value (any JSON value; a Uint8Array is sent as bytes; null
     * writes a tombstone) and resolves once Kafka stored it.
     */
    publish(topic, value, opts = {}) {
        return new Promise((resolve, reject) => {
            if (this.#closed) {
                reject(new SluiceError("unavailable", "client closed", { topic }));
                return;
            }
            const id = "p" + ++this.#seq;
            const frame = { op: "publish", id, topic };
            if (opts.key !== undefined)
                frame.key = opts.key;
            if (opts.headers !== undefined)
                frame.headers = opts.headers;
            if (value instanceof Uint8Array) {
                frame.value_b64 = base64(value);
            }
            else if (value === undefined) {
                reject(new SluiceError("bad_request", "publish: value is undefined; give a JSON value, a Uint8Array or null", { topic }));
                return;
            }
            else {
                frame.value = value;
            }
            let text;
            try {
                text = JSON.stringify(frame);
            }
            catch (err) {
                reject(new SluiceError("bad_request", `publish: value is not JSON-serializable: ${String(err)}`, { topic, cause: err }));
                return;
            }
            const p = { id, frame: text, topic, retry: opts.retryOnReconnect === true, resolve, reject };
            if (this.#open && this.#ws) {
                this.#inflight.set(id, p);
                this.#ws.send(text);
            }
            else {
                this.#enqueue(p);
            }
        });
    }
    /** Closes the connection for good; pending publishes are rejected. */
    close() {
        if (this.#closed)
            return;
        this.#closed = true;
        this.#generation++;
        clearTimeout(this.#reconnectTimer);
        clearTimeout(this.#connectTimer);
        this.#stopHeartbeat();
        const ws = this.#ws;
        this.#ws = null;
        this.#open = false;
        if (ws)
            ws.close(1000, "client closed");
        const err = () => new SluiceError("unavailable", "client closed");
        for (const p of [...this.#inflight.values(), ...this.#queued]) {
            clearTimeout(p.timer);
            p.reject(err());
        }
        this.#inflight.clear();
        this.#queued = [];
        for (const sub of this.#subs.values())
            clearTimeout(sub.retryTimer);
        this.#subs.clear();
        this.#subsById.clear();
        this.#setState("closed", {});
    }
    // --- connection -------------------------------------------------------
    async #connect() {
        const gen = ++this.#generation;
        let token;
        if (this.#opts.token !== undefined) {
            try {
                token = await this.#fetchToken();
            }
            catch (err) {
                if (gen !== this.#generation)
                    return;
                this.#emitError(new SluiceError("token_error", `token callback failed: ${String(err)}`, { cause: err }));
                this.#scheduleReconnect({});
                return;
            }
            if (gen !== this.#generation)
                return;
        }
        let ws;
        try {
            ws = new this.#WS(this.url);
        }
        catch (err) {
            this.#emitError(new SluiceError("bad_request", `cannot open ${this.url}: ${String(err)}`, { cause: err }));
            this.#scheduleReconnect({});
            return;
        }
        this.#ws = ws;
        // A server that accepted the TCP connection but does not answer (a
        // stopped process, a black-holing proxy) would leave the attempt hanging.
        this.#connectTimer = setTimeout(() => this.#abandon(ws, "connect timeout"), this.#opts.connectTimeoutMs);
        ws.addEventListener("open", () => {
            if (ws !== this.#ws)
                return;
            this.#lastFrameAt = Date.now();
            if (token === undefined) {
                this.#ready();
                return;
            }
            // A first-frame auth op rather than ?access_token=: the token stays
            // out of URLs and logs, and a bad token closes with 4401 instead of a
            // failed upgrade the browser cannot tell apart from a network error.
            this.#token = token;
            ws.send(JSON.stringify({ op: "auth", id: "a" + ++this.#seq, token }));
        });
        ws.addEventListener("message", (ev) => this.#onFrame(ws, ev.data));
        ws.addEventListener("close", (ev) => this.#onClose(ws, ev.code, ev.reason));
        ws.addEventListener("error", () => {
            // A close event always follows; it carries the code.
        });
    }
    async #fetchToken() {
        const t = this.#opts.token;
        const token = typeof t === "function" ? await t() : t;
        if (typeof token !== "string" || token === "")
            throw new Error("the token callback returned no token");
        return token;
    }
    /** #abandon gives up on a connection that stopped answering. */
    #abandon(ws, reason) {
        if (ws !== this.#ws)
            return;
        try {
            ws.close(closeTimeout, reason);
        }
        catch {
            // closing a socket that never opened may throw; it is dropped anyway
        }
        this.#onClose(ws, closeTimeout, reason);
    }
    /** #ready runs once a connection is open and authenticated. */
    #ready() {
        clearTimeout(this.#connectTimer);
        this.#open = true;
        this.#attempt = 0;
        this.#setState("open", {});
        this.#startHeartbeat();
        for (const sub of this.#subs.values())
            this.#sendSubscribe(sub);
        const queued = this.#queued;
        this.#queued = [];
        for (const p of queued) {
            clearTimeout(p.timer);
            p.timer = undefined;
            this.#inflight.set(p.id, p);
            this.#ws.send(p.frame);
        }
    }
    #onClose(ws, code, reason) {
        if (ws !== this.#ws)
            return;
        this.#ws = null;
        this.#open = false;
        clearTimeout(this.#connectTimer);
        this.#stopHeartbeat();
        for (const sub of this.#subs.values()) {
            sub.active = false;
            clearTimeout(sub.retryTimer);
        }
        // Publishes the server may or may not have stored: resend on request,
        // otherwise let the caller decide.
        const retry = [];
        for (const p of this.#inflight.values()) {
            if (p.retry) {
                retry.push(p);
            }
            else {
                p.reject(new SluiceError("unavailable", `connection closed (${code}) before Kafka acknowledged the record; it may or may not be stored`, { topic: p.topic }));
            }
        }
        this.#inflight.clear();
        for (const p of retry.reverse()) {
            this.#queued.unshift(p);
            this.#armPublishTimeout(p);
        }
        if (code === closeUnauthorized) {
            this.#emitError(new SluiceError("unauthorized", `server closed the connection: ${reason || "token missing, invalid or expired"}`));
        }
        if (this.#closed)
            return;
        this.#scheduleReconnect({ code, reason });
    }
    #scheduleReconnect(detail) {
        if (this.#closed)
            return;
        if (!this.#opts.reconnect) {
            this.close();
            return;
        }
        const { minReconnectDelayMs: min, maxReconnectDelayMs: max } = this.#opts;
        const ceiling = Math.min(max, min * 2 ** Math.min(this.#attempt, 30));
        const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
        this.#attempt++;
        this.#setState("reconnecting", { ...detail, delayMs });
        clearTimeout(this.#reconnectTimer);
        this.#reconnectTimer = setTimeout(() => void this.#connect(), delayMs);
    }
    #setState(state, detail) {
        this.#state = state;
        for (const fn of this.#listeners.state) {
            try {
                fn(state, detail);
            }
            catch {
                // a listener's failure is its own
            }
        }
    }
    #emitError(err) {
        for (const fn of this.#listeners.error) {
            try {
                fn(err);
            }
            catch {
                // a listener's failure is its own
            }
        }
    }
    #send(frame) {
        if (this.#open && this.#ws)
            this.#ws.send(JSON.stringify(frame));
    }
    // --- heartbeat --------------------------------------------------------
    #startHeartbeat() {
        const every = this.#opts.heartbeatIntervalMs;
        if (every <= 0)
            return;
        const tick = Math.max(50, Math.min(every, this.#opts.heartbeatTimeoutMs) / 2);
        this.#pingSentAt = 0;
        this.#heartbeatTimer = setInterval(() => {
            const ws = this.#ws;
            if (!ws || !this.#open)
                return;
            const now = Date.now();
            if (this.#pingSentAt > this.#lastFrameAt && now - this.#pingSentAt >= this.#opts.heartbeatTimeoutMs) {
                this.#abandon(ws, "heartbeat timeout");
                return;
            }
            if (now - this.#lastFrameAt >= every && this.#pingSentAt <= this.#lastFrameAt) {
                this.#pingSentAt = now;
                ws.send(JSON.stringify({ op: "ping", id: "h" + ++this.#seq }));
            }
        }, tick);
        const t = this.#heartbeatTimer;
        t.unref?.();
    }
    #stopHeartbeat() {
        clearInterval(this.#heartbeatTimer);
        this.#heartbeatTimer = undefined;
    }
    // --- publishes --------------------------------------------------------
    #enqueue(p) {
        this.#queued.push(p);
        this.#armPublishTimeout(p);
    }
    #armPublishTimeout(p) {
        clearTimeout(p.timer);
        p.timer = setTimeout(() => {
            const i = this.#queued.indexOf(p);
            if (i < 0)
                return;
            this.#queued.splice(i, 1);
            p.reject(new SluiceError("unavailable", `no open connection within ${this.#opts.publishTimeoutMs} ms; the record was not sent`, { topic: p.topic }));
        }, this.#opts.publishTimeoutMs);
    }
    // --- subscriptions ----------------------------------------------------
    #sendSubscribe(sub) {
        const frame = { op: "subscribe", id: sub.id, topic: sub.topic };
        if (sub.next.size > 0) {
            // Resume right after the last delivered record of every partition,
            // naming each one: an unnamed partition would restart at its oldest
            // record.
            frame.from = { offsets: Object.fromEntries([...sub.next].map(([p, o]) => [String(p), o])) };
        }
        else if (sub.opts.from !== undefined) {
            frame.from = sub.opts.from;
        }
        const filter = {};
        if (sub.opts.key !== undefined)
            filter.keys = Array.isArray(sub.opts.key) ? sub.opts.key : [sub.opts.key];
        if (sub.opts.headers !== undefined)
            filter.headers = sub.opts.headers;
        if (Object.keys(filter).length > 0)
            frame.filter = filter;
        if (sub.opts.onGap !== undefined)
            frame.on_gap = sub.opts.onGap;
        this.#send(frame);
    }
    #unsubscribe(sub) {
        if (this.#subs.get(sub.topic) !== sub)
            return;
        this.#subs.delete(sub.topic);
        this.#subsById.delete(sub.id);
        clearTimeout(sub.retryTimer);
        sub.active = false;
        this.#send({ op: "unsubscribe", id: "u" + ++this.#seq, topic: sub.topic });
    }
    #endSubscription(sub, err) {
        this.#subs.delete(sub.topic);
        this.#subsById.delete(sub.id);
        sub.active = false;
        clearTimeout(sub.retryTimer);
        if (!sub.confirmed)
            sub.reject(err);
        if (sub.opts.onError) {
            try {
                sub.opts.onError(err);
            }
            catch {
                // the callback's failure is its own
            }
        }
        else {
            this.#emitError(err);
        }
    }
    // --- inbound frames ---------------------------------------------------
    #onFrame(ws, data) {
        if (ws !== this.#ws)
            return;
        this.#lastFrameAt = Date.now();
        let f;
        try {
            f = JSON.parse(typeof data === "string" ? data : String(data));
        }
        catch {
            this.#emitError(new SluiceError("bad_request", "server sent a frame that is not JSON"));
            return;
        }
        switch (f.op) {
            case "message":
                this.#onMessage(f);
                return;
            case "subscribed": {
                const sub = f.id === undefined ? undefined : this.#subsById.get(f.id);
                if (!sub || this.#subs.get(sub.topic) !== sub)
                    return;
                for (const [ps, o] of Object.entries(f.offsets ?? {})) {
                    const p = Number(ps);
                    const have = sub.next.get(p);
                    // A server start past ours means records we cannot get any more
                    // (on_gap "earliest"); one before ours is guarded per message.
                    if (have === undefined || o > have)
                        sub.next.set(p, o);
                }
                sub.active = true;
                if (!sub.confirmed) {
                    sub.confirmed = true;
                    sub.resolve();
                }
                return;
            }
            case "published": {
                const p = f.id === undefined ? undefined : this.#inflight.get(f.id);
                if (!p)
                    return;
                this.#inflight.delete(p.id);
                p.resolve({ topic: f.topic, partition: f.partition, offset: f.offset });
                return;
            }
            case "error":
                this.#onError(f);
                return;
            case "authenticated":
                if (!this.#open)
                    this.#ready();
                return;
            case "auth_expiring":
                void this.#refreshToken();
                return;
            case "pong":
            case "unsubscribed":
                return;
        }
    }
    #onMessage(f) {
        const sub = this.#subs.get(f.topic);
        if (!sub || !sub.active)
            return;
        const want = sub.next.get(f.partition);
        if (want !== undefined && f.offset < want)
            return; // already delivered
        sub.next.set(f.partition, f.offset + 1);
        try {
            sub.handler(toMessage(f));
        }
        catch (err) {
            this.#emitError(new SluiceError("handler_error", `message handler for ${f.topic} threw: ${String(err)}`, { topic: f.topic, cause: err }));
        }
    }
    #onError(f) {
        const err = new SluiceError(f.code, f.message, { topic: f.topic, details: f.details });
        if (f.id !== undefined) {
            const p = this.#inflight.get(f.id);
            if (p) {
                this.#inflight.delete(p.id);
                p.reject(err);
                return;
            }
            const sub = this.#subsById.get(f.id);
            if (sub) {
                if (sub.active || !retryableSubscribeError(f.code)) {
                    // Rejected, or ended by the server (a refreshed token that no
                    // longer grants the topic).
                    this.#endSubscription(sub, err);
                    return;
                }
                clearTimeout(sub.retryTimer);
                sub.retryTimer = setTimeout(() => {
                    if (this.#subs.get(sub.topic) === sub && this.#open)
                        this.#sendSubscribe(sub);
                }, subscribeRetryMs);
                return;
            }
        }
        this.#emitError(err);
    }
    async #refreshToken() {
        if (this.#refreshing || this.#opts.token === undefined)
            return;
        this.#refreshing = true;
        const ws = this.#ws;
        try {
            const wait = this.#lastRefreshAt + minRefreshIntervalMs - Date.now();
            if (wait > 0)
                await new Promise((r) => setTimeout(r, wait));
            this.#lastRefreshAt = Date.now();
            const token = await this.#fetchToken();
            if (ws !== this.#ws || !this.#open || token === this.#token)
                return;
            this.#token = token;
            this.#send({ op: "auth", id: "a" + ++this.#seq, token });
        }
        catch (err) {
            this.#emitError(new SluiceError("token_error", `token refresh failed: ${String(err)}`, { cause: err }));
        }
        finally {
            this.#refreshing = false;
        }
    }
}
