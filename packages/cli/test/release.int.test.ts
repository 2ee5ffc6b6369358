import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script without types.
import { checkAll } from '../../../tools/check-pack.mjs';

// Release hygiene for every package of the repository (here because the integration tests run after the build).
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('release hygiene', () => {
  it('npm pack of each package holds dist, README, LICENSE and package.json only (and the CLI launcher), with full metadata', () => {
    const results = checkAll() as { name: string; files: string[]; problems: string[] }[];
    expect(results.map((r) => r.name)).toEqual(
      expect.arrayContaining(['@quantkit/core', '@quantkit/cli', '@quantkit/observers', '@quantkit/passes-output-precision', '@quantkit/march-nash-m', '@quantkit/march-nash-h']),
    );
    for (const r of results) expect(r.problems, r.name).toEqual([]);
    const cli = results.find((r) => r.name === '@quantkit/cli')!;
    expect(cli.files).toContain('bin/quantkit.js');
  }, 60_000);

  it('npx changeset status passes', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'node_modules/@changesets/cli/bin.js'), 'status'], { cwd: root, encoding: 'utf8' });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });
});
