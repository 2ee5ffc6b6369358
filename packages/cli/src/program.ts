import { Command, CommanderError } from 'commander';
import { registerCalibrate, registerMergeCalib } from './commands/calibrate.js';
import { registerCanonicalize } from './commands/canonicalize.js';
import { registerCompare } from './commands/compare.js';
import { registerConvert } from './commands/convert.js';
import { registerInspect } from './commands/inspect.js';
import { registerPerf } from './commands/perf.js';
import { registerPlugins } from './commands/plugins.js';
import { PrecisionGateError, registerQuantize } from './commands/quantize.js';
import { registerReport } from './commands/report.js';
import { UsageError } from './options.js';
import { EXIT, ExitWith, formatError, processIo, type Io } from './output.js';
import { version } from './version.js';

/** Builds the command tree. Each verb lives in its own file under commands/ and calls one core function. */
export function buildProgram(io: Io): Command {
  const program = new Command('quantkit')
    .description('Quantize float ONNX models for Horizon Journey 6 (Nash) NPUs at the highest precision the hardware allows.')
    .version(version, '-V, --version')
    .option('--verbose', 'print stacks with errors')
    .showHelpAfterError('(run quantkit --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  registerInspect(program, io);
  registerCanonicalize(program, io);
  registerCalibrate(program, io);
  registerMergeCalib(program, io);
  registerPerf(program, io);
  registerCompare(program, io);
  registerPlugins(program, io);
  registerConvert(program, io);
  registerQuantize(program, io);
  registerReport(program, io);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    command.showHelpAfterError(`(run quantkit ${command.name()} --help for usage)`);
  }
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it in-process. */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof PrecisionGateError) return EXIT.error;
    if (error instanceof ExitWith) return error.code;
    if (error instanceof UsageError) {
      const verb = argv.find((a) => !a.startsWith('-')) ?? '';
      io.stderr(`error: ${error.message}\n(run quantkit ${verb} --help for usage)\n`);
      return EXIT.usage;
    }
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0; every other commander error is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.stderr(formatError(error, program.opts().verbose === true || argv.includes('--verbose')));
    return EXIT.error;
  }
}
