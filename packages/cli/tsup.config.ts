import { packageConfig } from '../../tools/tsup-config.js';
export default packageConfig({ entry: { bin: 'src/bin.ts' }, splitting: true });
