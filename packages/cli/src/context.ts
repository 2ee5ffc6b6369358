import {
  configuredPipeline,
  emptyConfig,
  findQuantkitConfig,
  loadQuantkitConfig,
  resolveTemplate,
  type Phase,
  type Pipeline,
  type Quantkit,
  type QuantkitConfig,
  type QuantTemplate,
} from '@quantkit/core';
import type { Command } from 'commander';
import type { Io } from './output.js';
import { loadPluginRequests, OFFICIAL_PLUGINS, type LoadedPlugins, type PluginRequest } from './plugins.js';

export interface ContextFlags {
  config?: string;
  plugin?: string[];
}

/** What every verb that quantizes works with: the config, the plugins it names, and the registry they build. */
export interface CliContext {
  config: QuantkitConfig;
  loaded: LoadedPlugins;
  quantkit: Quantkit;
  /** The phase's pipeline with the config's edits (for `march`: that march's passes and the common ones). */
  pipeline(phase: Phase, march?: string): Pipeline;
  /** `name` (a flag) or the config's template, among the built-in and the plugins' templates. */
  template(name?: string): QuantTemplate;
}

/** Adds `--config` and `--plugin`, which every verb that loads plugins takes. */
export function pluginOptions(command: Command): Command {
  return command
    .option('--config <file>', 'quantkit.config.json to use (default: quantkit.config.json in the working folder, if any)')
    .option('--plugin <specifier...>', 'also load this plugin: a package name or a path (repeatable)');
}

/** The config of `--config`, else the working folder's quantkit.config.json, else an empty one. */
export function readConfig(flags: ContextFlags, cwd = process.cwd()): QuantkitConfig {
  const file = flags.config ?? findQuantkitConfig(cwd);
  return file === undefined ? emptyConfig(cwd) : loadQuantkitConfig(file);
}

/**
 * The plugins to load, in this order: the official ones (from the working folder or the CLI's installation),
 * the config's (paths relative to the config file, packages resolved from its folder), then `--plugin` ones
 * (relative to the working folder). Where two register one name, the earlier one wins.
 */
export function pluginRequests(config: QuantkitConfig, flags: ContextFlags, cwd = process.cwd()): PluginRequest[] {
  return [
    ...OFFICIAL_PLUGINS.map((specifier) => ({ specifier, origin: 'official' as const, base: cwd })),
    ...config.plugins.map((specifier) => ({ specifier, origin: 'config' as const, base: config.dir })),
    ...(flags.plugin ?? []).map((specifier) => ({ specifier, origin: 'flag' as const, base: cwd })),
  ];
}

/**
 * Reads the config and loads the plugins. A plugin that fails to load is a warning on stderr naming it and the
 * reason, and the others still work; an official plugin that is not installed is simply absent. `quiet` leaves
 * the failures to the caller (`quantkit plugins` lists them).
 */
export async function loadContext(flags: ContextFlags, io: Io, options: { quiet?: boolean } = {}): Promise<CliContext> {
  const config = readConfig(flags);
  const loaded = await loadPluginRequests(pluginRequests(config, flags));
  for (const failure of loaded.failures) {
    if (options.quiet || (failure.missing && failure.origin === 'official')) continue;
    io.stderr(`warning: plugin ${failure.specifier} did not load: ${failure.reason}\n`);
  }
  const { quantkit } = loaded;
  return {
    config,
    loaded,
    quantkit,
    pipeline: (phase, march) => configuredPipeline(quantkit, phase, config, march),
    template: (name) => resolveTemplate(config, quantkit.templates(), name),
  };
}
