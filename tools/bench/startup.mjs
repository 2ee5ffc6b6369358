// CLI start-up benchmark: `quantkit --version` and `--help` beside bare `node -e 0`, each the fastest of N runs
// (the minimum is the figure least disturbed by other load on the machine).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { root } from './common.mjs';

function fastest(args, runs) {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

export async function benchStartup({ runs = 15 } = {}) {
  const bin = path.join(root, 'packages/cli/dist/bin.js');
  const bare = fastest(['-e', '0'], runs);
  return ['--version', '--help'].map((flag) => {
    const ms = fastest([bin, flag], runs);
    return {
      name: `quantkit ${flag} start-up (fastest of ${runs})`,
      quantkitMs: ms,
      baselineMs: bare,
      baseline: 'node -e 0',
      ratio: ms / bare,
      goal: `quantkit - node <= 80 ms (here ${(ms - bare).toFixed(0)} ms)`,
    };
  });
}
