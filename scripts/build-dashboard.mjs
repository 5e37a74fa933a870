#!/usr/bin/env node
// Builds the web dashboard (dashboard/, issue 18) into dist/dashboard/: typecheck with
// dashboard/tsconfig.json, bundle with esbuild (Preact, xterm.js in a chunk of its own
// that only the exec terminal loads), write index.html with the hashed file names, and
// print the page weight of the first view (gzip), which must stay within 300 KB.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'dashboard');
const out = join(root, 'dist', 'dashboard');
const LIMIT = 300 * 1024;

const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(src, 'tsconfig.json')],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) {
  console.error('dashboard: typecheck failed');
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: join(src, 'src', 'app.tsx'), style: join(src, 'src', 'style.css') },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});

const outputs = result.metafile.outputs;
const byEntry = (name) =>
  Object.keys(outputs).find((f) => outputs[f].entryPoint?.endsWith(name) && !f.endsWith('.map'));
const js = byEntry('app.tsx');
const css = byEntry('style.css');
if (!js || !css) {
  console.error('dashboard: esbuild wrote no app or style');
  process.exit(1);
}
const html = readFileSync(join(src, 'index.html'), 'utf8')
  .replace('__JS__', `./${basename(js)}`)
  .replace('__CSS__', `./${basename(css)}`);
writeFileSync(join(out, 'index.html'), html);

// the first view: index.html, the stylesheet, the app and every chunk it imports statically
const first = new Set(['index.html', basename(css)]);
const walk = (f) => {
  if (first.has(basename(f))) return;
  first.add(basename(f));
  for (const imp of outputs[f].imports) if (imp.kind === 'import-statement') walk(imp.path);
};
walk(js);
const gz = (name) => gzipSync(readFileSync(join(out, name)), { level: 9 }).length;
let firstBytes = 0;
for (const f of first) firstBytes += gz(f);
let allBytes = 0;
const files = Object.keys(outputs)
  .map((f) => basename(f))
  .filter((f) => !f.endsWith('.map') && !f.endsWith('.txt'));
for (const f of new Set([...files, 'index.html'])) allBytes += gz(f);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `dashboard: dist/dashboard — first view ${kb(firstBytes)} gzipped (${[...first].join(', ')}); all files ${kb(allBytes)} gzipped (the terminal's xterm.js loads on demand); limit ${kb(LIMIT)}`,
);
if (firstBytes > LIMIT) {
  console.error(`dashboard: the first view weighs ${kb(firstBytes)} gzipped, over the ${kb(LIMIT)} limit`);
  process.exit(1);
}
