// Copies the compiled client into the Go console's embedded assets
// (cmd/sluice/console/assets/client), so building Sluice needs no Node.
// cmd/sluice/console's tests fail when the copy is stale.
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, "../dist");
const dest = path.resolve(here, "../../../cmd/sluice/console/assets/client");

await rm(dest, { recursive: true, force: true });
await mkdir(dest, { recursive: true });
const files = (await readdir(dist)).filter((f) => f.endsWith(".js")).sort();
for (const f of files) await copyFile(path.join(dist, f), path.join(dest, f));
console.log(`sync-console: copied ${files.join(", ")} to ${path.relative(process.cwd(), dest)}`);
