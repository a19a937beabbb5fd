#!/usr/bin/env node
// Compiles src/ to dist/ so that `volet` starts without transpiling TypeScript: one .js file per .ts file,
// same layout, every other file under src/ (guarded-ffmpeg.sh, sw.js) copied beside them. Paths built from
// import.meta.url (../../web/, ../../models/, ./sw.js) therefore resolve from dist/ as they do from src/.
// esbuild only strips types; `npm run typecheck` checks them.
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const out = join(root, 'dist');

const files = (await readdir(src, { recursive: true, withFileTypes: true }))
  .filter((entry) => entry.isFile())
  .map((entry) => relative(src, join(entry.parentPath ?? entry.path, entry.name)));
const sources = files.filter((file) => file.endsWith('.ts'));
const assets = files.filter((file) => !file.endsWith('.ts'));

// Each module stays its own file: relative imports are left to Node, with `./x.ts` rewritten to `./x.js`.
const relativeImportsStayExternal = {
  name: 'relative-imports-stay-external',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^\.\.?\// }, (args) =>
      args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.ts$/, '.js'), external: true },
    );
  },
};

await rm(out, { recursive: true, force: true });
await build({
  entryPoints: sources.map((file) => join(src, file)),
  outdir: out,
  outbase: src,
  bundle: true,
  packages: 'external',
  plugins: [relativeImportsStayExternal],
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});
for (const file of assets) {
  await mkdir(dirname(join(out, file)), { recursive: true });
  await copyFile(join(src, file), join(out, file)); // keeps the mode: guarded-ffmpeg.sh stays executable
}
