export * from './shard-from-environment.js';
export * from './shard-set.js';
