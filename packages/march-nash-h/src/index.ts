export { nashH } from './nash-h.js';
export { marchNashHPlugin, marchNashHPlugin as default } from './plugin.js';
