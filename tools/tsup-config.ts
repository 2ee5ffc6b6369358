import { defineConfig, type Options } from 'tsup';

/**
 * The one tsup configuration every package builds with: ESM + declarations from `src/index.ts`
 * (and any extra entries, such as the CLI's bin), dependencies left external.
 */
export function packageConfig(extra: Partial<Options> & { entry?: Record<string, string> } = {}) {
  const { entry, ...rest } = extra;
  return defineConfig({
    entry: { index: 'src/index.ts', ...entry },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    // composite (for `tsc -b`) confuses the declaration bundler, which builds one package at a time.
    dts: { compilerOptions: { composite: false, incremental: false } },
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    tsconfig: 'tsconfig.json',
    ...rest,
  });
}
