import type { QuantkitError } from '@quantkit/core';

/** QuantkitError by its name and code, so that printing an error does not load core. */
function isQuantkitError(error: unknown): error is QuantkitError {
  return error instanceof Error && error.name === 'QuantkitError' && typeof (error as { code?: unknown }).code === 'string';
}

/** Exit codes (DESIGN §10): 0 success, 1 a model or data error, 2 a usage error. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/** Ends a command with an exit code after it has printed what it had to say (no further message). */
export class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal (progress bars only then). */
  isTTY: boolean;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
};

/**
 * Prints an error for a person: the headline with its code, what to do, and the cause; the stack only with
 * --verbose. An error that is not a QuantkitError is a bug in quantkit and says so.
 */
export function formatError(error: unknown, verbose: boolean): string {
  const lines: string[] = [];
  if (isQuantkitError(error)) {
    lines.push(`error [${error.code}]: ${error.message}`);
    if (error.hint) lines.push(`  what to do: ${error.hint}`);
    let cause = error.cause;
    while (cause !== undefined && cause !== null) {
      const message = cause instanceof Error ? cause.message : String(cause);
      if (!error.message.includes(message)) lines.push(`  cause: ${message}`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  } else {
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`error [QK_INTERNAL]: ${message}`);
    lines.push('  this is a bug in quantkit; please report it with the command you ran (add --verbose for the stack).');
  }
  if (verbose && error instanceof Error && error.stack) lines.push(error.stack);
  return lines.join('\n') + '\n';
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Left-aligned columns for terminal tables. */
export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
