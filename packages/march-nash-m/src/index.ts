export { nashM } from './nash-m.js';
export { marchNashMPlugin, marchNashMPlugin as default } from './plugin.js';
