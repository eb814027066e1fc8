// Integration tests of @sluicehq/client against a real `sluice serve` on
// the embedded development broker.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Sluice, SluiceError } from "../dist/index.js";
import { SluiceProcess, WebSocket, waitFor } from "./harness.mjs";

/** ordersSchemaConfig runs without auth and validates "orders" values. */
const ordersSchemaConfig = `auth:
  mode: none
registry:
  kind: inline
  subjects:
    orders-value:
      type: json
      schema: '{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"amount":{"type":"number","minimum":0}}}'
`;

/** clientOpts are fast reconnects for tests. */
const clientOpts = { WebSocket, minReconnectDelayMs: 50, maxReconnectDelayMs: 500 };

describe("client on a running sluice", () => {
  let server;
  const clients = [];
  const connect = (opts = {}) => {
    const c = new Sluice(server.url, { ...clientOpts, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    // A small record limit makes too_large reachable below the frame limit;
    // an inline JSON schema governs the values of "orders".
    server = await SluiceProcess.create({
      env: { SLUICE_KAFKA_MAX_RECORD_BYTES: "2048" },
      config: ordersSchemaConfig,
    });
    await server.start();
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.close();
  });

  test("subscribe and publish round trip", async () => {
    const s = connect();
    const states = [];
    s.on("state", (st) => states.push(st));
    const got = [];
    const sub = s.subscribe("roundtrip", { from: "latest" }, (m) => got.push(m));
    await sub.ready;
    assert.equal(s.state, "open");
    const positions = sub.positions();
    assert.equal(Object.keys(positions).length, 3, "subscribed names every partition");

    const res = await s.publish("roundtrip", { n: 1, text: "héllo" }, { key: "alice", headers: { trace: "t1" } });
    assert.equal(res.topic, "roundtrip");
    assert.ok(res.partition >= 0 && res.offset >= 0);
    const bytes = await s.publish("roundtrip", new Uint8Array([0, 1, 2, 255]), { key: "alice" });
    await s.publish("roundtrip", null, { key: "alice" });

    await waitFor("3 messages", () => got.length === 3);
    assert.deepEqual(got[0].value, { n: 1, text: "héllo" });
    assert.equal(got[0].key, "alice");
    assert.deepEqual(got[0].headers, { trace: "t1" });
    assert.equal(got[0].partition, res.partition);
    assert.equal(got[0].offset, res.offset);
    assert.equal(got[1].valueB64, "AAEC/w==");
    assert.equal(got[1].offset, bytes.offset);
    assert.equal(got[2].value, null, "tombstone");
    assert.equal(sub.positions()[String(res.partition)], res.offset + 3);

    sub.unsubscribe();
    await s.publish("roundtrip", { n: 2 }, { key: "alice" });
    // A message delivered after unsubscribe would arrive by now.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got.length, 3, "no message after unsubscribe");
    assert.deepEqual(states, ["open"]);
  });

  test("key filter and from earliest", async () => {
    const s = connect();
    for (const k of ["a", "b", "a", "c"]) await s.publish("filtered", { k }, { key: k });
    const got = [];
    const sub = s.subscribe("filtered", { from: "earliest", key: ["a", "c"] }, (m) => got.push(m.key));
    await sub.ready;
    await waitFor("3 filtered messages", () => got.length === 3);
    assert.deepEqual(got.sort(), ["a", "a", "c"]);
  });

  test("publish errors carry code and message", async () => {
    const s = connect();
    await s.waitOpen();
    const cases = [
      { name: "bad topic name", topic: "bad topic!", value: 1, code: "bad_request" },
      { name: "too large", topic: "big", value: "x".repeat(4096), code: "too_large" },
      { name: "undefined value", topic: "ok", value: undefined, code: "bad_request" },
      { name: "not serializable", topic: "ok", value: { n: 1n }, code: "bad_request" },
    ];
    for (const c of cases) {
      await assert.rejects(s.publish(c.topic, c.value), (err) => {
        assert.ok(err instanceof SluiceError, `${c.name}: ${err}`);
        assert.equal(err.code, c.code, `${c.name}: ${err.message}`);
        assert.ok(err.message.length > 0);
        return true;
      });
    }
    // A schema violation names every rejected field.
    await assert.rejects(s.publish("orders", { id: "x", amount: -1 }), (err) => {
      assert.equal(err.code, "schema_violation", err.message);
      assert.equal(err.topic, "orders");
      assert.deepEqual(err.details.map((d) => d.path).sort(), ["$.amount", "$.id"]);
      assert.ok(err.details.every((d) => d.reason.length > 0));
      return true;
    });
    assert.ok((await s.publish("orders", { id: 7, amount: 1 })).offset >= 0, "a valid value passes");
    assert.equal(s.state, "open", "errors do not drop the connection");
    // Subscribing twice to one topic is refused on the client.
    s.subscribe("dup", () => {});
    assert.throws(() => s.subscribe("dup", () => {}), { code: "bad_request" });
    s.close();
    await assert.rejects(s.publish("ok", 1), { code: "unavailable" });
  });

  test("subscribe error reaches onError and rejects ready", async () => {
    const s = connect();
    let seen;
    const sub = s.subscribe("bad topic!", { onError: (e) => (seen = e) }, () => {});
    await assert.rejects(sub.ready, { code: "bad_request" });
    assert.equal(seen?.code, "bad_request");
  });
});

describe("resume across a sluice restart", () => {
  let server;
  const clients = [];
  after(async () => {
    for (const c of clients) c.close();
    await server?.close();
  });

  test("every record exactly once, no gap, every partition named", async () => {
    server = await SluiceProcess.create();
    await server.start();
    const topic = "resume";
    const pub = new Sluice(server.url, clientOpts);
    const sub = new Sluice(server.url, clientOpts);
    clients.push(pub, sub);

    // Records on every partition before the subscription starts at latest:
    // a resume that forgot a partition would replay them.
    for (let i = 0; i < 12; i++) await pub.publish(topic, { phase: 0, i }, { key: `k${i}` });

    const got = [];
    const states = [];
    sub.on("state", (st, d) => states.push(d.code ? `${st}:${d.code}` : st));
    const h = sub.subscribe(topic, { from: "latest" }, (m) => got.push(m));
    await h.ready;
    const start = h.positions();

    // Phase 1: one key, so some partitions still have no delivered record.
    const published = [];
    for (let i = 0; i < 10; i++) published.push(await pub.publish(topic, { phase: 1, i }, { key: "one" }));
    await waitFor("phase 1 delivered", () => got.length === 10);

    await server.stop();
    await waitFor("both clients to notice", () => sub.state === "reconnecting" && pub.state === "reconnecting");
    await server.start();

    // Phase 2 runs while the subscriber may still be reconnecting.
    for (let i = 0; i < 30; i++) {
      published.push(await pub.publish(topic, { phase: 2, i }, { key: `k${i}`, retryOnReconnect: true }));
    }
    await waitFor("phase 2 delivered", () => got.length >= 40, 20_000);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now

    const key = (m) => `${m.partition}/${m.offset}`;
    assert.equal(got.length, 40, "no duplicate");
    assert.deepEqual(new Set(got.map(key)), new Set(published.map(key)), "exactly the published records");
    assert.ok(got.every((m) => m.value.phase !== 0), "nothing from before the subscription");
    // Per partition, offsets are contiguous from the subscription's start.
    for (const [p, first] of Object.entries(start)) {
      const offs = got.filter((m) => m.partition === Number(p)).map((m) => m.offset);
      assert.deepEqual(offs, offs.map((_, i) => first + i), `partition ${p} has no gap`);
    }
    assert.ok(states.includes("reconnecting:1001"), `server shutdown seen as 1001: ${states}`);
    assert.equal(states.at(-1), "open");
  });
});

describe("a server that stops answering", () => {
  let server;
  const clients = [];
  after(async () => {
    for (const c of clients) c.close();
    server?.proc?.kill("SIGCONT");
    await server?.close();
  });

  test("heartbeat and connect timeouts reconnect; in-flight publishes are rejected unless retried", async () => {
    server = await SluiceProcess.create();
    await server.start();
    const s = new Sluice(server.url, { ...clientOpts, heartbeatIntervalMs: 300, heartbeatTimeoutMs: 300, connectTimeoutMs: 500 });
    const pub = new Sluice(server.url, clientOpts);
    clients.push(s, pub);
    const reasons = [];
    s.on("state", (st, d) => st === "reconnecting" && reasons.push(`${d.code} ${d.reason}`));
    const got = [];
    await s.subscribe("stalled", { from: "latest" }, (m) => got.push(m.value.i)).ready;
    await pub.publish("stalled", { i: 0 });
    await waitFor("first message", () => got.length === 1);

    // SIGSTOP keeps the TCP connections and the listen backlog, but nothing
    // answers: only the client's own timers can notice.
    server.proc.kill("SIGSTOP");
    let retried;
    try {
      // Both go out on the socket the client still believes open, so both
      // are in flight when the heartbeat gives up on it.
      const plain = s.publish("stalled.pub", { n: 1 });
      retried = s.publish("stalled.pub", { n: 2 }, { retryOnReconnect: true });
      await assert.rejects(plain, (err) => {
        assert.equal(err.code, "unavailable");
        assert.match(err.message, /may or may not be stored/);
        return true;
      });
      await waitFor("a heartbeat timeout, then a connect timeout", () =>
        reasons.includes("4000 heartbeat timeout") && reasons.includes("4000 connect timeout"),
      );
    } finally {
      server.proc.kill("SIGCONT");
    }
    await s.waitOpen();
    assert.ok((await retried).offset >= 0, "the opted-in publish was sent again");
    await pub.publish("stalled", { i: 1 });
    await waitFor("message after the stall", () => got.length === 2);
    assert.deepEqual(got, [0, 1]);
  });
});
