export { buildProgram, runCli } from './program.js';
export { EXIT, formatError, type Io } from './output.js';
