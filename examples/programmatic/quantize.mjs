// Quantizes a model with the core façade instead of the CLI: the steps `quantkit quantize` runs, in code.
//
//   node examples/programmatic/quantize.mjs [model.onnx] [calibration folder] [output folder]
//
// Defaults: the bundled seed model (whose output y is also read by its last linear), its 4 calibration samples,
// and out/programmatic.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrate, compare, convert, createQuantkit, exportQdq, loadModel, perf, prepare, qparamsFor, saveModel } from '@quantkit/core';
import { marchNashMPlugin } from '@quantkit/march-nash-m';
import { observersPlugin } from '@quantkit/observers';
import { outputPrecisionPlugin } from '@quantkit/passes-output-precision';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [modelFile = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx'), calibFolder = path.join(root, 'fixtures/calib/seed'), out = 'out/programmatic'] =
  process.argv.slice(2);
const data = { kind: 'dir', path: calibFolder };

// 1. The registry holds exactly the plugins given here (the CLI adds the official ones that are installed).
const quantkit = createQuantkit({ plugins: [observersPlugin, outputPrecisionPlugin, marchNashMPlugin] });

// 2. prepare: the int16 template's plan (int8 weights, int16 activations), edited by the prepare passes:
//    high-precision-output, then reused-output-rescale. The float model is not modified.
const float = loadModel(modelFile);
const prepared = await prepare(float, { template: 'int16', pipeline: quantkit.pipeline('prepare') });

// 3. calibrate on onnxruntime: one MinMax observer per quantized tensor, over every sample.
const observer = quantkit.observer('minmax');
const calibration = await calibrate(prepared.model, { spec: data }, { observer });

// 4. qat.onnx: standard QDQ ONNX at opset 21 that simulates the quantized model in any ONNX runtime.
const qat = exportQdq(prepared.model, qparamsFor(calibration, observer)).model;
fs.mkdirSync(out, { recursive: true });
saveModel(qat, path.join(out, 'qat.onnx'));

// 5. compare: run the float model and qat.onnx on every sample; metrics per output over all of them.
const report = await compare(float, qat, data, { names: { reference: path.basename(modelFile), test: 'qat.onnx' } });
for (const [name, m] of Object.entries(report.outputs)) {
  console.log(`${name}: SQNR ${m.sqnrDb.toFixed(2)} dB, cosine ${m.cosine.toFixed(6)}, max abs ${m.maxAbs.toExponential(2)} (${report.samples} samples)`);
}

// 6. convert: qat.onnx → nash-m's integer model (int32 + Dequantize for y and z, a Rescale into linear3).
const march = quantkit.march('nash-m');
const { model: quantized, fallback } = await convert(qat, { march, pipeline: quantkit.pipeline('convert', [], march.name) });
saveModel(quantized, path.join(out, 'quantized.onnx'));

// 7. perf: the cost model's estimate for the integer model on the march's default chip (an estimate, not a measurement).
const estimate = perf(quantized, march);
console.log(`${fallback.length} CPU fallbacks; estimated ${estimate.totals.latencyUs.toFixed(1)} µs on ${estimate.chip}, of which ${estimate.totals.cpuDequantizeUs.toFixed(1)} µs dequantizing outputs on the CPU`);
console.log(`wrote ${path.join(out, 'qat.onnx')} and ${path.join(out, 'quantized.onnx')}`);
