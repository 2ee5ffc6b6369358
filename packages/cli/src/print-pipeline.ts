import type { Phase } from '@quantkit/core';
import type { CliContext } from './context.js';
import { displayPath, providerOf } from './plugins.js';
import { table, type Io } from './output.js';

export interface PipelineListing {
  config: string | null;
  phases: { phase: Phase; passes: { name: string; summary: string; plugin: string; version: string }[] }[];
}

/** The passes each phase runs, in order, with the plugin each comes from (the config's edits applied). */
export function listPipelines(context: CliContext, phases: readonly Phase[], march?: string): PipelineListing {
  return {
    config: context.config.file ?? null,
    phases: phases.map((phase) => ({
      phase,
      passes: context.pipeline(phase, march).passes.map((pass) => {
        const provider = providerOf(context.loaded, pass);
        return { name: pass.info.name, summary: pass.info.summary, plugin: provider?.plugin.name ?? '(unknown)', version: provider?.version ?? '' };
      }),
    })),
  };
}

/** `--print-pipeline`: the listing on stdout (JSON with `--json`); the caller then exits 0 without running. */
export function printPipelines(context: CliContext, phases: readonly Phase[], io: Io, json: boolean, march?: string): void {
  const listing = listPipelines(context, phases, march);
  if (json) {
    io.stdout(`${JSON.stringify(listing, null, 2)}\n`);
    return;
  }
  const lines: string[] = [];
  const edits = phases.reduce((n, phase) => n + (context.config.pipeline[phase]?.length ?? 0), 0);
  lines.push(
    listing.config
      ? `config ${displayPath(listing.config)}${edits ? ` (${edits} pipeline edit${edits === 1 ? '' : 's'})` : ''}`
      : 'no config file (default pipelines)',
  );
  for (const { phase, passes } of listing.phases) {
    lines.push('', `${phase} (${passes.length} pass${passes.length === 1 ? '' : 'es'}, in order)`);
    if (passes.length === 0) lines.push('  (none: no loaded plugin registers a pass for this phase)');
    else lines.push(table(passes.map((p, i) => [`${i + 1}.`, p.name, `${p.plugin} ${p.version}`.trim(), p.summary])));
    const overrides = context.config.overrides?.length ?? 0;
    if (phase === 'prepare' && overrides > 0) lines.push(`  then the config's ${overrides} override${overrides === 1 ? '' : 's'}, which win over the passes`);
  }
  io.stdout(`${lines.join('\n')}\n`);
}
