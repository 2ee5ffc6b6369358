import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, for the end-to-end tests that run the built CLI as a user would. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The built CLI (`npm test` builds before it runs the tests). */
export const cliBin = path.join(repoRoot, 'packages/cli/dist/bin.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `quantkit …args` in `cwd` (default: the repository root) and returns its exit code and output. */
export function runQuantkitIn(cwd: string, ...args: string[]): CliRun {
  const result = spawnSync(process.execPath, [cliBin, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function runQuantkit(...args: string[]): CliRun {
  return runQuantkitIn(repoRoot, ...args);
}
