// Writes the float model after the canonicalize passes of @quantkit/passes-canonicalize, and prints the op
// histogram before and after. Until the CLI has a `canonicalize` verb: `node tools/bench/canonicalize.mjs
// <model.onnx> <out.onnx>` (needs a build).
import path from 'node:path';
import { root } from './common.mjs';

const core = await import(path.join(root, 'packages/core/dist/index.js'));
const { canonicalizePlugin } = await import(path.join(root, 'packages/passes-canonicalize/dist/index.js'));

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node tools/bench/canonicalize.mjs <model.onnx> <out.onnx>');
  process.exit(2);
}
const histogram = (model) => {
  const counts = {};
  for (const node of model.graph) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
};
const model = await core.loadModel(input);
const before = histogram(model);
const pipeline = core.createQuantkit({ plugins: [canonicalizePlugin] }).pipeline('canonicalize');
await pipeline.run(model, { options: {}, diagnose: (d) => console.error(`${d.level}: ${d.message}`) });
await core.saveModel(model, output);
console.log(JSON.stringify({ before, after: histogram(model) }));
