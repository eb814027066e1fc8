// End-to-end test of the Sluice console in headless Chromium against a
// sluice process on a real Kafka broker. Run by browser_test.go, which
// starts the broker, builds sluice and passes everything through the
// environment:
//
//   SLUICE_BIN      the sluice binary
//   SLUICE_CONFIG   its YAML config (JWT auth with JWT_SECRET)
//   JWT_SECRET      the HS256 secret, to mint the page's token
//   KAFKA_BROKERS   the broker address
//   KCAT            the kcat binary
//   CHROMIUM        the Chromium binary
//   TOPIC_CONSOLE   a fresh topic for the console checks
//   TOPIC_RESUME    a fresh 3-partition topic for the restart check
//   TOPIC_ORDERS    a topic whose values the config's inline JSON schema governs
//   SCREENSHOT      where to save the PNG
//
// It restarts sluice itself mid-stream, so it owns that process.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const run = promisify(execFile);
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`e2e.mjs: $${name} is not set (run it through go test ./test/browser)`);
  return v;
};
const cfg = {
  bin: env("SLUICE_BIN"),
  config: env("SLUICE_CONFIG"),
  secret: env("JWT_SECRET"),
  brokers: env("KAFKA_BROKERS"),
  kcat: env("KCAT"),
  chromium: env("CHROMIUM"),
  topic: env("TOPIC_CONSOLE"),
  resumeTopic: env("TOPIC_RESUME"),
  ordersTopic: env("TOPIC_ORDERS"),
  screenshot: env("SCREENSHOT"),
};

/** resumeRecords is how many records kcat produces across the restart. */
const resumeRecords = 150;
/** restartAfter is how many of them go out before sluice restarts. */
const restartAfter = 50;
/** produceEveryMs paces the producer so the restart lands mid-stream. */
const produceEveryMs = 15;

const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const step = (what) => console.log(`e2e: ${new Date().toISOString().slice(11, 23)} ${what}`);

async function waitFor(what, fn, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Sluice runs one sluice process on a fixed port, restartable. */
class Sluice {
  constructor(port) {
    this.port = port;
    this.log = "";
  }
  get http() {
    return `http://127.0.0.1:${this.port}`;
  }
  async start() {
    const p = spawn(cfg.bin, ["serve", "--config", cfg.config, "--brokers", cfg.brokers, "--listen", `127.0.0.1:${this.port}`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = p;
    p.stdout.on("data", (b) => (this.log += b));
    p.stderr.on("data", (b) => (this.log += b));
    this.exited = new Promise((resolve) => p.once("exit", resolve));
    await waitFor("sluice to be ready", async () => {
      if (p.exitCode !== null) throw new Error(`sluice exited with ${p.exitCode}:\n${this.log}`);
      try {
        return (await fetch(`${this.http}/readyz`)).ok;
      } catch {
        return false;
      }
    }, 30_000);
  }
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

async function kcatProduce(topic, lines) {
  const p = spawn(cfg.kcat, ["-b", cfg.brokers, "-P", "-t", topic, "-K:"], { stdio: ["pipe", "inherit", "inherit"] });
  const done = new Promise((resolve, reject) => {
    p.once("error", reject);
    p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`kcat -P exited with ${code}`))));
  });
  p.stdin.end(lines.map((l) => l + "\n").join(""));
  await done;
}

async function kcatConsume(topic) {
  const { stdout } = await run(cfg.kcat, ["-b", cfg.brokers, "-C", "-e", "-q", "-t", topic, "-o", "beginning", "-f", "%k\t%s\n"], { timeout: 30_000 });
  return stdout.split("\n").filter(Boolean);
}

/** rows returns the message table's rows for topic, as data. */
function rows(page, topic) {
  return page.$$eval(`#messages tr[data-topic="${topic}"]`, (trs) =>
    trs.map((tr) => ({
      partition: Number(tr.dataset.partition),
      offset: Number(tr.dataset.offset),
      key: tr.dataset.key,
      value: tr.querySelector("td.value")?.textContent ?? "",
    })),
  );
}

async function main() {
  const sluice = new Sluice(await freePort());
  const profile = await mkdtemp(path.join(os.tmpdir(), "sluice-e2e-chromium-"));
  let context;
  let page;
  try {
    step("starting sluice");
    await sluice.start();
    const { stdout } = await run(cfg.bin, ["token", "--secret", cfg.secret, "--sub", "e2e", "--subscribe", "e2e.*", "--publish", "e2e.*", "--ttl", "1h"]);
    const token = stdout.trim();

    step("launching chromium");
    context = await chromium.launchPersistentContext(profile, {
      executablePath: cfg.chromium,
      headless: true,
      args: chromiumArgs,
      viewport: { width: 1280, height: 960 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    page.on("console", (msg) => {
      if (msg.type() === "error") pageErrors.push(msg.text());
    });

    await page.goto(sluice.http + "/");
    assert.equal(await page.inputValue("#url"), `ws://127.0.0.1:${sluice.port}/v1/ws`, "URL prefilled from location");
    await page.fill("#token", token);
    await page.click("#connect");
    await page.waitForSelector('#state[data-state="open"]');
    step("connected");

    // A record produced with kcat appears in the table.
    await page.fill("#topic", cfg.topic);
    await page.click("#subscribe");
    await page.waitForSelector(`#subscriptions li[data-topic="${cfg.topic}"][data-ready="true"]`);
    await kcatProduce(cfg.topic, [`k1:{"hello":"kcat","n":1}`]);
    await page.waitForSelector(`#messages tr[data-topic="${cfg.topic}"][data-key="k1"]`);
    const [fromKcat] = await rows(page, cfg.topic);
    assert.match(fromKcat.value, /"hello": "kcat"/, "value pretty-printed");
    step("kcat record shown");

    // A publish from the page lands in Kafka.
    await page.fill("#pub-topic", cfg.topic);
    await page.fill("#pub-key", "b1");
    await page.fill("#pub-value", '{"from": "browser", "n": 2}');
    await page.click("#publish");
    await page.waitForSelector("#pub-result[data-offset]");
    await page.waitForSelector(`#messages tr[data-topic="${cfg.topic}"][data-key="b1"]`);
    const consumed = await kcatConsume(cfg.topic);
    assert.ok(consumed.includes(`b1\t{"from":"browser","n":2}`), `kcat reads the page's record: ${JSON.stringify(consumed)}`);
    step("page publish read back with kcat");

    // Invalid publishes show their error inline: a value that is not JSON,
    // then a topic the token does not grant.
    await page.fill("#pub-value", "{not json");
    await page.click("#publish");
    await page.waitForSelector("#pub-errors:not([hidden]) li");
    assert.match(await page.textContent("#pub-errors"), /not valid JSON/);
    assert.equal(await page.getAttribute("#pub-value", "aria-invalid"), "true");
    await page.fill("#pub-topic", "orders.denied");
    await page.fill("#pub-value", '{"text": "hi"}');
    await page.click("#publish");
    await page.waitForSelector('#pub-result[data-code="forbidden"]');
    assert.match(await page.textContent("#pub-errors"), /does not grant publish on orders\.denied/);
    assert.equal(await page.getAttribute("#pub-topic", "aria-invalid"), "true");
    // A schema violation lists every rejected field.
    await page.fill("#pub-topic", cfg.ordersTopic);
    await page.fill("#pub-key", "order-19");
    await page.fill("#pub-value", '{"id": "nineteen", "amount": -3, "currency": "GBP"}');
    await page.click("#publish");
    await page.waitForSelector('#pub-result[data-code="schema_violation"]');
    const fields = await page.$$eval("#pub-errors li", (lis) => lis.map((li) => li.dataset.path));
    assert.deepEqual(fields.sort(), ["$.amount", "$.currency", "$.id"], "one inline error per field");
    assert.equal(await page.getAttribute("#pub-value", "aria-invalid"), "true");
    step("invalid publishes shown inline");

    // A few more records so the screenshot shows a table.
    await kcatProduce(cfg.topic, [
      `order-17:{"id":17,"status":"paid","total":{"amount":42.9,"currency":"EUR"}}`,
      `order-18:{"id":18,"status":"shipped","items":["lamp","cable"]}`,
    ]);
    await waitFor("4 rows", async () => (await rows(page, cfg.topic)).length === 4);
    await page.screenshot({ path: cfg.screenshot, fullPage: true, animations: "disabled" });
    step(`screenshot saved to ${cfg.screenshot}`);

    // Resume: restart sluice while kcat keeps producing; the page must end
    // with every record exactly once.
    await page.click("#clear");
    await page.fill("#topic", cfg.resumeTopic);
    await page.click("#subscribe");
    await page.waitForSelector(`#subscriptions li[data-topic="${cfg.resumeTopic}"][data-ready="true"]`);
    const producer = spawn(cfg.kcat, ["-b", cfg.brokers, "-P", "-t", cfg.resumeTopic, "-K:"], { stdio: ["pipe", "inherit", "inherit"] });
    const produced = new Promise((resolve, reject) => {
      producer.once("error", reject);
      producer.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`kcat -P exited with ${code}`))));
    });
    let restarted;
    for (let i = 0; i < resumeRecords; i++) {
      producer.stdin.write(`r${i}:{"i":${i}}\n`);
      if (i === restartAfter) {
        restarted = (async () => {
          step("restarting sluice mid-stream");
          await sluice.stop();
          await sluice.start();
          step("sluice is back");
        })();
      }
      await sleep(produceEveryMs);
    }
    producer.stdin.end();
    await produced;
    await restarted;
    step(`kcat produced ${resumeRecords} records`);
    await page.waitForSelector('#state[data-state="open"]', { timeout: 30_000 });
    await waitFor(`${resumeRecords} rows`, async () => (await rows(page, cfg.resumeTopic)).length >= resumeRecords, 30_000);
    await sleep(500); // a duplicate would show up now
    const got = await rows(page, cfg.resumeTopic);
    const keys = got.map((r) => r.key);
    assert.equal(got.length, resumeRecords, "no duplicate rows");
    assert.equal(new Set(keys).size, resumeRecords, "every key once");
    for (let i = 0; i < resumeRecords; i++) assert.ok(keys.includes(`r${i}`), `record r${i} shown`);
    assert.equal(new Set(got.map((r) => `${r.partition}/${r.offset}`)).size, resumeRecords, "every offset once");
    const log = await page.textContent("#log");
    assert.match(log, /after close 1001/, "the page saw the server's going-away close and reconnected");
    assert.deepEqual(pageErrors, [], "no errors in the page");
    step(`resume: ${resumeRecords} records, each exactly once, across a restart`);
  } catch (err) {
    if (page) {
      const shot = path.join(os.tmpdir(), `sluice-e2e-failure-${process.pid}.png`);
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.error(`e2e: failure screenshot: ${shot}`);
      console.error(`e2e: page events:\n${await page.textContent("#log").catch(() => "(none)")}`);
    }
    console.error(`e2e: sluice log tail:\n${sluice.log.slice(-4000)}`);
    throw err;
  } finally {
    await context?.close().catch(() => {});
    await sluice.stop();
    await rm(profile, { recursive: true, force: true });
  }
}

await main();
console.log("e2e: PASS");
