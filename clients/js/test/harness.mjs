// Test harness: builds the sluice binary once per test file (or uses
// $SLUICE_BIN), runs `sluice serve` on free ports with the embedded
// development broker, and polls instead of sleeping.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import WebSocket from "ws";

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export { WebSocket };

/** startTimeoutMs bounds how long a sluice process may take to be ready. */
const startTimeoutMs = 30_000;
/** stopTimeoutMs bounds a graceful stop before SIGKILL. */
const stopTimeoutMs = 20_000;

let binary;

/** sluiceBinary returns $SLUICE_BIN, or builds cmd/sluice once. */
export async function sluiceBinary() {
  if (process.env.SLUICE_BIN) return process.env.SLUICE_BIN;
  if (!binary) {
    binary = (async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "sluice-js-bin-"));
      const out = path.join(dir, "sluice");
      await run("go", ["build", "-o", out, "./cmd/sluice"], { cwd: repoRoot });
      return out;
    })();
  }
  return binary;
}

/** freePort returns a TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** waitFor polls fn until it returns a truthy value or timeoutMs passes. */
export async function waitFor(what, fn, timeoutMs = 15_000, everyMs = 25) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Sluice is one `sluice serve` process on fixed ports, so it can be
 * stopped and started again on the same data directory.
 */
export class SluiceProcess {
  constructor({ dataDir, port, kafkaPort, config, env }) {
    Object.assign(this, { dataDir, port, kafkaPort, config, env });
    this.proc = null;
    this.log = "";
  }

  /** create allocates ports and a data directory; config is YAML text. */
  static async create({ config, env } = {}) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "sluice-js-data-"));
    let configPath;
    if (config) {
      configPath = path.join(dataDir, "sluice.yaml");
      await writeFile(configPath, config);
    }
    const [port, kafkaPort] = [await freePort(), await freePort()];
    return new SluiceProcess({ dataDir, port, kafkaPort, config: configPath, env });
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  async start() {
    const bin = await sluiceBinary();
    const args = ["serve", "--listen", `127.0.0.1:${this.port}`, "--data-dir", path.join(this.dataDir, "kafka")];
    if (this.config) args.push("--config", this.config);
    this.proc = spawn(bin, args, {
      env: { ...process.env, SLUICE_EMBEDDED_KAFKA_LISTEN: `127.0.0.1:${this.kafkaPort}`, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const append = (b) => {
      this.log += b.toString();
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
    };
    this.proc.stdout.on("data", append);
    this.proc.stderr.on("data", append);
    const exited = new Promise((resolve) => this.proc.once("exit", (code) => resolve(code)));
    this.exited = exited;
    let dead = false;
    exited.then(() => (dead = true));
    await waitFor(
      `sluice on port ${this.port} to be ready`,
      async () => {
        if (dead) throw new Error(`sluice exited during start:\n${this.log}`);
        try {
          const res = await fetch(`http://127.0.0.1:${this.port}/readyz`);
          return res.ok;
        } catch {
          return false;
        }
      },
      startTimeoutMs,
      50,
    );
  }

  /** stop sends SIGTERM (graceful: sockets get 1001) and waits for exit. */
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const p = this.proc;
    p.kill("SIGTERM");
    const timer = setTimeout(() => p.kill("SIGKILL"), stopTimeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** close stops the process and removes the data directory. */
  async close() {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** token mints an HS256 development token with `sluice token`. */
  async token(secret, { sub = "test", subscribe = [], publish = [], ttl = "1h" } = {}) {
    const args = ["token", "--secret", secret, "--sub", sub, "--ttl", ttl];
    for (const s of subscribe) args.push("--subscribe", s);
    for (const p of publish) args.push("--publish", p);
    const { stdout } = await run(await sluiceBinary(), args);
    return stdout.trim();
  }
}
