#!/usr/bin/env node
// Benchmarks: each times quantkit beside its baseline in the same run and reports the ratio.
//   npm run bench [-- codec|calibrate|convert|startup|speed|external-data|memory|perf-anchors|perf-templates] [--json]
// Needs `npm run build`; the codec baseline needs Debian's python3-onnx.
import { benchCalibrate } from './calibrate.mjs';
import { benchCodec } from './codec.mjs';
import { benchConvert } from './convert.mjs';
import { benchPerfAnchors, benchPerfTemplates } from './perf-anchors.mjs';
import { benchExternalData } from './external-data.mjs';
import { benchMemory } from './memory.mjs';
import { benchSpeed } from './speed.mjs';
import { benchStartup } from './startup.mjs';

const benches = {
  codec: benchCodec,
  calibrate: benchCalibrate,
  convert: benchConvert,
  startup: benchStartup,
  speed: benchSpeed,
  'external-data': benchExternalData,
  memory: benchMemory,
  'perf-anchors': benchPerfAnchors,
  'perf-templates': benchPerfTemplates,
};
// Run only when named: perf-* estimate latencies rather than time quantkit; external-data writes a 2.25 GiB model;
// memory runs four whole calibrations.
const onRequest = new Set(['perf-anchors', 'perf-templates', 'external-data', 'memory']);
const args = process.argv.slice(2);
const json = args.includes('--json');
const chosen = args.filter((a) => !a.startsWith('--'));
const results = [];
for (const name of chosen.length ? chosen : Object.keys(benches).filter((b) => !onRequest.has(b))) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  for (const result of [await bench()].flat()) {
    results.push(result);
    if (!json) {
      const unit = result.unit ?? 'ms';
      console.log(
        `${result.name}: quantkit ${result.quantkitMs.toFixed(1)} ${unit}, ${result.baseline} ${result.baselineMs.toFixed(1)} ${unit} → ratio ${result.ratio.toFixed(2)} (goal ${result.goal})`,
      );
    }
  }
}
if (json) console.log(JSON.stringify(results, null, 2));
