#!/usr/bin/env node
// Runs the compiled CLI in dist/ (`npm ci` builds it through the prepare script; `npm run build` after a change).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('volet: dist/ is missing; run `npm run build` (npm ci runs it) in the Volet folder.\n');
  process.exit(1);
}
await import(main.href);
