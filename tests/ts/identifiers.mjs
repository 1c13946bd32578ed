#!/usr/bin/env node
// Prints, one JSON string per line, every identifier token of the TypeScript files given as
// arguments, as TypeScript's own scanner reads them: comments and string literals are not
// identifiers, so a name planted in a spec that shows up here became code.
//
// Usage: node tests/ts/identifiers.mjs FILE.ts...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "peers", "package.json"));
const ts = require("typescript");

const seen = new Set();
for (const file of process.argv.slice(2)) {
  const scanner = ts.createScanner(ts.ScriptTarget.ES2022, true, ts.LanguageVariant.Standard, readFileSync(file, "utf8"));
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    // Template literals are scanned as one token each; generated code has none.
    if (token === ts.SyntaxKind.NoSubstitutionTemplateLiteral || token === ts.SyntaxKind.TemplateHead) {
      console.error(`${file}: a template literal at ${scanner.getTokenPos()}`);
      process.exit(1);
    }
    if (token === ts.SyntaxKind.Identifier || ts.isKeyword(token)) {
      seen.add(scanner.getTokenText());
    }
  }
}
for (const name of [...seen].sort()) {
  console.log(JSON.stringify(name));
}
