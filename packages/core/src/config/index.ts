export { configuredPipeline, describeEdit } from './config-pipeline.js';
export {
  CONFIG_FILE_NAME,
  emptyConfig,
  findQuantkitConfig,
  isPluginPath,
  loadQuantkitConfig,
  parseQuantkitConfig,
  resolveTemplate,
  type ObserverChoice,
  type QuantkitConfig,
} from './quantkit-config.js';
