import { packageConfig } from '../../tools/tsup-config.js';
export default packageConfig({ entry: { 'calibrate-worker': 'src/calibrate/worker.ts' } });
