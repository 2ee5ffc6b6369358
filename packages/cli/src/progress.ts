import type { Io } from './output.js';

/**
 * A progress bar on stderr for long work. On a terminal it redraws one line; elsewhere (CI logs, pipes) it
 * prints a line at every tenth of the way, so logs stay short.
 */
export function progressBar(io: Io, label: string): { update(done: number, total: number, detail?: string): void; end(): void } {
  let lastTenth = -1;
  let drawn = false;
  return {
    update(done, total, detail = '') {
      if (io.isTTY) {
        const width = 24;
        const filled = total > 0 ? Math.round((done / total) * width) : 0;
        io.stderr(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${detail}`.padEnd(80));
        drawn = true;
        return;
      }
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.stderr(`${label}: ${done}/${total}\n`);
      }
    },
    end() {
      if (drawn) io.stderr('\n');
    },
  };
}
