import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version in the package.json nearest above a module (pass `import.meta.url`). Plugins use it to report
 * their version; it works the same from `src/` in tests and from `dist/` when installed.
 */
export function packageVersion(moduleUrl: string): string {
  let folder = path.dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const file = path.join(folder, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
    const parent = path.dirname(folder);
    if (parent === folder) return '0.0.0';
    folder = parent;
  }
}
