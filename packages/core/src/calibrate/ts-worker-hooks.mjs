// Module hooks that let a worker thread run calibrate/worker.ts straight from the TypeScript sources, as the
// tests (vitest) do. Only used when core runs from src/; the published build starts dist/calibrate-worker.js.
// They do what vitest's resolver does for the main thread: `./x.js` → `./x.ts`, `@quantkit/<pkg>` →
// packages/<pkg>/src/index.ts, and strip types with esbuild (a dev dependency, through tsup).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const packages = new URL('../../../', import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent !== undefined && parent.startsWith('file:') && parent.endsWith('.ts')) {
    const own = /^@quantkit\/([a-z0-9-]+)$/.exec(specifier);
    const url = own
      ? new URL(`${own[1]}/src/index.ts`, packages)
      : /^\.\.?\//.test(specifier) && specifier.endsWith('.js')
        ? new URL(`${specifier.slice(0, -3)}.ts`, parent)
        : undefined;
    if (url !== undefined && existsSync(url)) return { url: url.href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { code } = await transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcefile: fileURLToPath(url),
    sourcemap: 'inline',
  });
  return { format: 'module', source: code, shortCircuit: true };
}
