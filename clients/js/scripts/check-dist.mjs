// Fails when the committed dist/ is not what src/ compiles to, without
// writing into the tree (go test runs this while other packages build).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(path.join(os.tmpdir(), "sluice-client-dist-"));
try {
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.json"), "--outDir", out], { stdio: "inherit" });
  const want = readdirSync(out).sort();
  const have = readdirSync(path.join(root, "dist")).sort();
  const stale = [];
  if (want.join() !== have.join()) stale.push(`files: dist has [${have}], src compiles to [${want}]`);
  for (const f of want) {
    if (have.includes(f) && !readFileSync(path.join(out, f)).equals(readFileSync(path.join(root, "dist", f)))) stale.push(f);
  }
  if (stale.length > 0) {
    console.error(`check-dist: dist/ is stale (${stale.join(", ")}): run npm run build and commit dist/ and cmd/sluice/console/assets/client`);
    process.exit(1);
  }
  console.log(`check-dist: dist/ matches src/ (${want.length} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
