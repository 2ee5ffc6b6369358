// One whole `quantkit calibrate --random N` run in this process; prints its peak RSS.
import path from 'node:path';
import { root } from './common.mjs';

const [model, count, out] = process.argv.slice(2);
const { runCli } = await import(path.join(root, 'packages/cli/dist/index.js'));
const silent = { stdout: () => {}, stderr: () => {}, isTTY: false };
const code = await runCli(['calibrate', model, '--random', count, '--out', out, '--json'], silent);
if (code !== 0) process.exit(code);
console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));
