import { packageConfig } from '../../tools/tsup-config.js';
export default packageConfig();
