export * from './calibrate-model.js';
export * from './fingerprint.js';
