import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = ['core', 'observers', 'passes-canonicalize', 'passes-output-precision', 'march-nash-m', 'march-nash-h', 'report-html', 'cli'];
// Tests import sibling packages from source, so `vitest` needs no build; the CLI's end-to-end tests run dist/.
const alias = Object.fromEntries(
  packages.map((name) => [`@quantkit/${name}`, fileURLToPath(new URL(`packages/${name}/src/index.ts`, import.meta.url))]),
);

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default', './tools/summary-reporter.ts'],
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'tools/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.int.test.ts', 'packages/*/test/**/*.int.test.ts', 'examples/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
