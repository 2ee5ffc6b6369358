// Plain onnxruntime inference of a model on every sample of a calibration folder, as a whole process: the floor
// calibrate and quantize are measured against (session creation included, as on their side).
import path from 'node:path';
import { root } from './common.mjs';

const [model, calib] = process.argv.slice(2);
const core = await import(path.join(root, 'packages/core/dist/index.js'));
const float = core.loadModel(model);
const session = await core.createSession(float);
const source = await core.openCalibrationSource({ kind: 'dir', path: calib }, core.inputSpecs(float));
for await (const sample of source.samples()) await core.runSession(session, sample.inputs);
await core.releaseSession(session);
