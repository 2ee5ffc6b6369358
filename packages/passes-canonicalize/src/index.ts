export { canonicalizePasses, canonicalizePlugin } from './plugin.js';
