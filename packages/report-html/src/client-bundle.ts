import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The browser code of report.html (src/client, with Observable Plot), built by this package's tsup config into
 * dist/client.global.js. The path is the same from src/ (tests) and from dist/ (the published package).
 */
export function clientBundle(): string {
  if (cached !== undefined) return cached;
  const file = fileURLToPath(new URL('../dist/client.global.js', import.meta.url));
  try {
    cached = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new Error(`@quantkit/report-html: ${file} is missing; build the package first (npm run build).`, { cause });
  }
  return cached;
}
