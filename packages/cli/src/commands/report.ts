import fs from 'node:fs';
import { QuantkitError, writeFileAtomic } from '@quantkit/core';
import { renderReportHtml } from '@quantkit/report-html';
import type { Command } from 'commander';
import type { Io } from '../output.js';
import { refuseOverwritingInputs } from '../outputs.js';

/** The top-level keys of which a quantkit report.json (any version, calibrate or quantize) has at least one. */
const REPORT_KEYS = ['quantkit', 'outputs', 'layers', 'perf'];

/** Reads a report.json written by any quantkit version; errors name the file. */
export function readReportFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new QuantkitError(missing ? 'QK_FILE_NOT_FOUND' : 'QK_FILE_READ', `Cannot read ${file}: ${(cause as Error).message}.`, {
      cause,
      subject: file,
    });
  }
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch (cause) {
    throw new QuantkitError('QK_REPORT_INVALID', `${file} is not JSON: ${(cause as Error).message}.`, {
      cause,
      subject: file,
      hint: 'Give the report.json that quantkit calibrate or quantize wrote.',
    });
  }
  if (typeof report !== 'object' || report === null || Array.isArray(report) || !REPORT_KEYS.some((k) => k in report)) {
    throw new QuantkitError('QK_REPORT_INVALID', `${file} is not a quantkit report: it has none of ${REPORT_KEYS.join(', ')}.`, {
      subject: file,
      hint: 'Give the report.json that quantkit calibrate or quantize wrote.',
    });
  }
  return report as Record<string, unknown>;
}

export function registerReport(program: Command, io: Io): void {
  program
    .command('report')
    .description('turn a report.json (of calibrate or quantize, of any quantkit version) into a self-contained report.html')
    .argument('<report>', 'a report.json written by quantkit calibrate or quantize')
    .requiredOption('--html <file>', 'the HTML page to write (one file, no network access, opens from disk)')
    .action((file: string, flags: { html: string }) => {
      refuseOverwritingInputs([flags.html], [file]);
      const report = readReportFile(file);
      writeFileAtomic(flags.html, renderReportHtml(report));
      io.stdout(`wrote ${flags.html}\n`);
    });
}
