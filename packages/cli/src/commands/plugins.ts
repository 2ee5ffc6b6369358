import { createRequire } from 'node:module';
import { BUILTIN_TEMPLATES, PHASES, type Phase } from '@quantkit/core';
import type { Command } from 'commander';
import { loadContext, pluginOptions, type CliContext, type ContextFlags } from '../context.js';
import { EXIT, ExitWith, table, type Io } from '../output.js';
import { displayPath, providerOf, type PluginOrigin } from '../plugins.js';

const require = createRequire(import.meta.url);
const coreVersion = (require('@quantkit/core/package.json') as { version: string }).version;

interface Provider {
  plugin: string;
  version: string;
}

/** `quantkit plugins --json`. */
export interface PluginsListing {
  config: string | null;
  plugins: { name: string; version: string; specifier: string; origin: PluginOrigin; file: string }[];
  marches: ({ name: string; chips: string; summary: string } & Provider)[];
  observers: ({ kind: string; summary: string } & Provider)[];
  /** Per phase in the default pipeline order (before the config's edits). */
  passes: ({ name: string; phase: Phase; summary: string; after: string[] } & Provider)[];
  /** The built-in templates (from @quantkit/core), then the plugins'. */
  templates: ({ name: string; activation: string; weight: string; summary: string } & Provider)[];
  failures: { specifier: string; origin: PluginOrigin; reason: string }[];
  /** Official plugins that are not installed (no error: install one to get its marches or passes). */
  notInstalled: string[];
}

export function listPlugins(context: CliContext): PluginsListing {
  const { loaded, quantkit } = context;
  const provider = (item: Parameters<typeof providerOf>[1]): Provider => {
    const p = providerOf(loaded, item);
    return { plugin: p?.plugin.name ?? '(unknown)', version: p?.version ?? '' };
  };
  const builtIn: Provider = { plugin: '@quantkit/core', version: coreVersion };
  return {
    config: context.config.file ?? null,
    plugins: loaded.plugins.map((p) => ({ name: p.plugin.name, version: p.version, specifier: p.specifier, origin: p.origin, file: displayPath(p.url) })),
    marches: quantkit.marches().map((m) => ({ name: m.name, chips: m.chips, summary: m.summary, ...provider(m) })),
    observers: quantkit.observers().map((o) => ({ kind: o.kind, summary: o.summary, ...provider(o) })),
    passes: PHASES.flatMap((phase) =>
      quantkit.pipeline(phase).passes.map((p) => ({ name: p.info.name, phase, summary: p.info.summary, after: [...(p.info.after ?? [])], ...provider(p) })),
    ),
    templates: [
      ...BUILTIN_TEMPLATES.map((t) => ({ name: t.name, activation: t.activation, weight: t.weight, summary: t.summary, ...builtIn })),
      ...quantkit.templates().map((t) => ({ name: t.name, activation: t.activation, weight: t.weight, summary: t.summary, ...provider(t) })),
    ],
    failures: loaded.failures.filter((f) => !(f.missing && f.origin === 'official')).map((f) => ({ specifier: f.specifier, origin: f.origin, reason: f.reason })),
    notInstalled: loaded.failures.filter((f) => f.missing && f.origin === 'official').map((f) => f.specifier),
  };
}

export function formatPlugins(listing: PluginsListing): string {
  const from = (p: Provider) => `${p.plugin} ${p.version}`.trim();
  const section = (title: string, rows: string[][]) => ['', title, rows.length ? table(rows) : '  (none)'];
  const lines = [
    listing.config ? `config ${displayPath(listing.config)}` : 'no config file',
    ...section('plugins', listing.plugins.map((p) => [p.name, p.version, p.origin, p.origin === 'official' ? '' : p.specifier])),
    ...section('marches', listing.marches.map((m) => [m.name, m.chips, from(m)])),
    ...section('observers', listing.observers.map((o) => [o.kind, from(o), o.summary])),
    ...section('passes', listing.passes.map((p) => [p.phase, p.name, from(p), p.summary])),
    ...section('templates', listing.templates.map((t) => [t.name, `${t.activation} activations, ${t.weight} weights`, from(t)])),
  ];
  if (listing.notInstalled.length > 0) {
    lines.push('', `official plugins not installed: ${listing.notInstalled.join(', ')} (npm install them to add their marches and passes)`);
  }
  if (listing.failures.length > 0) {
    lines.push('', 'did not load');
    lines.push(table(listing.failures.map((f) => [f.specifier, `(${f.origin})`, f.reason])));
  }
  return `${lines.join('\n')}\n`;
}

export function registerPlugins(program: Command, io: Io): void {
  pluginOptions(
    program
      .command('plugins')
      .description(
        'list the plugins found (official ones installed, the config\'s, --plugin) and the marches, observers, passes and templates each provides; exit 1 if one of them failed to load',
      ),
  )
    .option('--json', 'print the listing as JSON on stdout')
    .action(async (flags: ContextFlags & { json?: boolean }) => {
      const context = await loadContext(flags, io, { quiet: true });
      const listing = listPlugins(context);
      io.stdout(flags.json ? `${JSON.stringify(listing, null, 2)}\n` : formatPlugins(listing));
      if (listing.failures.length > 0) {
        io.stderr(`error: ${listing.failures.length} plugin${listing.failures.length === 1 ? '' : 's'} did not load: ${listing.failures.map((f) => f.specifier).join(', ')}\n`);
        throw new ExitWith(EXIT.error);
      }
    });
}
