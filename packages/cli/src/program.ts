import { Command, CommanderError } from 'commander';
import { UsageError } from './options.js';
import { EXIT, ExitWith, formatError, processIo, type Io } from './output.js';
import { PrecisionGateError } from './precision-gate.js';
import { VERBS } from './verbs.js';
import { version } from './version.js';

/**
 * Builds the command tree. Each verb lives in its own file under commands/ and calls one core function; only the
 * verbs named in `load` (default: all) are imported and registered in full, the others are listed by name and
 * summary (enough for `--help` and `--version`, which so never load core).
 */
export async function buildProgram(io: Io, load: (verb: string) => boolean = () => true): Promise<Command> {
  const program = new Command('quantkit')
    .description('Quantize float ONNX models for Horizon Journey 6 (Nash) NPUs at the highest precision the hardware allows.')
    .version(version, '-V, --version')
    .option('--verbose', 'print stacks with errors')
    .showHelpAfterError('(run quantkit --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  for (const verb of VERBS) {
    if (load(verb.name)) await verb.register(program, io);
    else program.command(verb.name).description(verb.summary);
  }
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    command.showHelpAfterError(`(run quantkit ${command.name()} --help for usage)`);
  }
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it in-process. */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  // The verb is the first word that is not a flag; only its module is loaded.
  const words = argv.filter((a) => !a.startsWith('-'));
  const verb = words[0] === 'help' ? words[1] : words[0];
  const known = VERBS.some((v) => v.name === verb);
  const program = await buildProgram(io, (name) => known && name === verb);
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
