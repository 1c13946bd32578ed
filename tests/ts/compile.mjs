// Compiles wiregen's TypeScript runtime (src/emit/typescript/runtime.ts) with the tsc of
// tests/peers and the strict flags generated code is held to, for the Node tests next to this.
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

/** The flags the runtime must compile under (those of the contract, plus noImplicitOverride,
 * which the generated web example's tsconfig sets). */
export const TSC_FLAGS = [
  "--strict",
  "--noUnusedLocals",
  "--noUnusedParameters",
  "--noImplicitReturns",
  "--noFallthroughCasesInSwitch",
  "--noImplicitOverride",
  "--target", "ES2022",
  "--module", "ES2022",
  "--moduleResolution", "bundler",
  "--lib", "ES2022,DOM",
];

/** Compiles the runtime into `outDir` and returns the path of the JavaScript module. */
export async function compileRuntime(outDir) {
  const tsc = join(root, "tests", "peers", "node_modules", "typescript", "bin", "tsc");
  const source = join(root, "src", "emit", "typescript", "runtime.ts");
  try {
    await promisify(execFile)(process.execPath, [tsc, ...TSC_FLAGS, "--outDir", outDir, source], { timeout: 60_000 });
  } catch (error) {
    throw new Error(`tsc failed on ${source}:\n${error.stdout ?? ""}${error.stderr ?? ""}${error.message}`);
  }
  return join(outDir, "runtime.js");
}
