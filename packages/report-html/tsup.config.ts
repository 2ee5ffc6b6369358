import { defineConfig } from 'tsup';
import { packageConfig } from '../../tools/tsup-config.js';

// The Node entry, and the browser code of report.html with Observable Plot bundled in (read by client-bundle.ts).
export default [
  packageConfig({ clean: false }),
  defineConfig({
    entry: { client: 'src/client/main.ts' },
    format: ['iife'],
    platform: 'browser',
    target: 'es2020',
    minify: true,
    noExternal: [/.*/],
    dts: false,
    sourcemap: false,
    clean: false,
    tsconfig: 'tsconfig.json',
  }),
];
