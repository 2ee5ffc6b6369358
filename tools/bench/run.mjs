#!/usr/bin/env node
// Benchmarks: each times quantkit beside its baseline in the same run and reports the ratio.
//   npm run bench [-- codec] [--json]
// Needs `npm run build`; the codec baseline needs Debian's python3-onnx.
import { benchCodec } from './codec.mjs';

const benches = { codec: benchCodec };
const args = process.argv.slice(2);
const json = args.includes('--json');
const chosen = args.filter((a) => !a.startsWith('--'));
const results = [];
for (const name of chosen.length ? chosen : Object.keys(benches)) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  const result = await bench();
  results.push(result);
  if (!json) {
    console.log(
      `${result.name}: quantkit ${result.quantkitMs.toFixed(1)} ms, ${result.baseline} ${result.baselineMs.toFixed(1)} ms → ratio ${result.ratio.toFixed(2)} (goal ${result.goal})`,
    );
  }
}
if (json) console.log(JSON.stringify(results, null, 2));
