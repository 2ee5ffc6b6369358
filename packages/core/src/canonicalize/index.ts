export * from './canonicalize.js';
export * from './input-shapes.js';
export * from './op-histogram.js';
export * from './float-agreement.js';
