// Token handling against a sluice running with JWT auth.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Sluice } from "../dist/index.js";
import { SluiceProcess, WebSocket, waitFor } from "./harness.mjs";

const secret = "client-js-test-secret-0123456789abcdef";
const clientOpts = { WebSocket, minReconnectDelayMs: 50, maxReconnectDelayMs: 500 };

let server;
const clients = [];
before(async () => {
  server = await SluiceProcess.create({
    config: `auth:\n  mode: jwt\n  expiry_warning: 2s\n  jwt:\n    secret: ${secret}\n`,
  });
  await server.start();
});
after(async () => {
  for (const c of clients) c.close();
  await server?.close();
});

const grants = { subscribe: ["orders.*"], publish: ["orders.*"] };

test("token refresh on auth_expiring keeps the connection", async () => {
  let calls = 0;
  const s = new Sluice(server.url, {
    ...clientOpts,
    token: async () => {
      calls++;
      return server.token(secret, { ...grants, sub: `alice-${calls}`, ttl: "4s" });
    },
  });
  clients.push(s);
  const states = [];
  s.on("state", (st) => states.push(st));
  const got = [];
  const sub = s.subscribe("orders.eu", (m) => got.push(m.value));
  await sub.ready;
  const openedAt = Date.now();
  // The first token expires 4s in; wait past it and one more refresh.
  await waitFor("two refreshes", () => calls >= 3, 15_000);
  await waitFor("past the first token's expiry", () => Date.now() - openedAt > 4_500, 10_000);
  await s.publish("orders.eu", { n: 1 });
  await waitFor("message after refreshes", () => got.length === 1);
  assert.deepEqual(states, ["open"], "never reconnected");
});

test("publish to a topic the token does not grant is forbidden", async () => {
  const s = new Sluice(server.url, { ...clientOpts, token: () => server.token(secret, grants) });
  clients.push(s);
  await assert.rejects(s.publish("chat.lobby", { text: "hi" }), (err) => {
    assert.equal(err.code, "forbidden");
    assert.match(err.message, /chat\.lobby/);
    return true;
  });
  const sub = s.subscribe("chat.lobby", { onError: () => {} }, () => {});
  await assert.rejects(sub.ready, { code: "forbidden" });
});

test("a rejected token (4401) is replaced before reconnecting", async () => {
  let calls = 0;
  const s = new Sluice(server.url, {
    ...clientOpts,
    token: async () => (++calls === 1 ? "not-a-jwt" : server.token(secret, grants)),
  });
  clients.push(s);
  const errors = [];
  s.on("error", (e) => errors.push(e.code));
  const states = [];
  s.on("state", (st, d) => states.push(d.code ? `${st}:${d.code}` : st));
  await s.waitOpen();
  assert.equal(calls, 2);
  assert.deepEqual(errors, ["unauthorized"]);
  assert.equal(states[0], "reconnecting:4401");
  assert.equal(states.at(-1), "open");
  const res = await s.publish("orders.us", { ok: true });
  assert.ok(res.offset >= 0);
});
