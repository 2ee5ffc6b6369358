import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createQuantkit,
  isPluginPath,
  isQuantkitPlugin,
  packageVersion,
  type March,
  type ObserverFactory,
  type Pass,
  type Quantkit,
  type QuantkitPlugin,
  type QuantTemplate,
} from '@quantkit/core';

/** The official plugins, loaded by default when they are installed. */
export const OFFICIAL_PLUGINS = [
  '@quantkit/observers',
  '@quantkit/passes-canonicalize',
  '@quantkit/passes-output-precision',
  '@quantkit/march-nash-m',
  '@quantkit/march-nash-h',
] as const;

/** Where a plugin was asked for: installed official ones, the config's `plugins`, or `--plugin`. */
export type PluginOrigin = 'official' | 'config' | 'flag';

export interface PluginRequest {
  /** A package name, or a path (relative to `base`). */
  specifier: string;
  origin: PluginOrigin;
  /** The folder a relative path and a package name resolve from. */
  base: string;
}

/** What one plugin registers. */
export interface Provides {
  passes: Pass[];
  marches: March[];
  observers: ObserverFactory[];
  templates: QuantTemplate[];
}

export interface LoadedPlugin extends PluginRequest {
  plugin: QuantkitPlugin;
  /** The plugin's version, or its package.json's. */
  version: string;
  /** The module URL it was imported from (worker threads import observers from it). */
  url: string;
  provides: Provides;
}

export interface PluginLoadFailure extends PluginRequest {
  reason: string;
  /** Not installed: for official plugins this is no error, only absence. */
  missing: boolean;
}

export interface LoadedPlugins {
  quantkit: Quantkit;
  plugins: LoadedPlugin[];
  failures: PluginLoadFailure[];
}

/** Finds the plugin object a module exports: its default export, or the first named export that is a plugin. */
function pluginFrom(module: Record<string, unknown>): QuantkitPlugin | undefined {
  if (isQuantkitPlugin(module.default)) return module.default;
  return Object.values(module).find(isQuantkitPlugin);
}

function firstLine(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? String(error);
  // inversify's loadSync takes any returned value for a promise: `({ bind }) => bind(X).to…` returns the binding.
  return line.includes('Unexpected asynchronous module load')
    ? `${line} The ContainerModule callback must not return anything: write it with a block body, ({ bind }) => { bind(PASS).toConstantValue(pass); }.`
    : line;
}

/** Every name a plugin registers, as `pass 'x'`, `march 'y'` …, with the registered object. */
function registrations(provides: Provides): [string, unknown][] {
  return [
    ...provides.passes.map((p): [string, unknown] => [`pass '${p.info.name}'`, p]),
    ...provides.marches.map((m): [string, unknown] => [`march '${m.name}'`, m]),
    ...provides.observers.map((o): [string, unknown] => [`observer '${o.kind}'`, o]),
    ...provides.templates.map((t): [string, unknown] => [`template '${t.name}'`, t]),
  ];
}

/**
 * Imports and checks plugins one by one, so that one broken plugin never stops the others:
 * 1. a package that cannot be resolved is `missing` (reported, and for official plugins no error at all);
 * 2. a module that fails to import, exports no plugin, whose ContainerModule throws, or that registers one name
 *    twice, fails with that reason;
 * 3. a plugin that registers a pass / march / observer / template name another loaded plugin already registers
 *    fails, naming both (the first one listed wins);
 * 4. a plugin asked for twice (say by path and by name) loads once.
 * The registry is built from the plugins that passed.
 */
export async function loadPluginRequests(requests: readonly PluginRequest[]): Promise<LoadedPlugins> {
  const plugins: LoadedPlugin[] = [];
  const failures: PluginLoadFailure[] = [];
  const owners = new Map<string, { owner: string; item: unknown }>();
  const seen = new Set<string>();
  for (const request of requests) {
    let url: string;
    try {
      url = resolvePlugin(request);
    } catch (error) {
      failures.push({ ...request, reason: `${isPluginPath(request.specifier) ? 'not found' : 'not installed'} (${firstLine(error)})`, missing: true });
      continue;
    }
    if (seen.has(url)) continue;
    seen.add(url);
    let plugin: QuantkitPlugin | undefined;
    let provides: Provides;
    try {
      plugin = pluginFrom((await import(url)) as Record<string, unknown>);
      if (!plugin) {
        failures.push({ ...request, reason: 'it exports no quantkit plugin ({ name, module: ContainerModule })', missing: false });
        continue;
      }
      if (plugins.some((p) => p.plugin === plugin)) continue;
      const alone = createQuantkit({ plugins: [plugin] });
      provides = { passes: alone.passes(), marches: alone.marches(), observers: alone.observers(), templates: alone.templates() };
    } catch (error) {
      failures.push({ ...request, reason: firstLine(error), missing: false });
      continue;
    }
    const clashes: string[] = [];
    for (const [name, item] of registrations(provides)) {
      const owner = owners.get(name);
      if (owner && owner.item !== item) clashes.push(`${name}, which ${owner.owner} registers too`);
    }
    const previous = plugins.find((p) => p.plugin.name === plugin.name);
    if (previous) clashes.push(`the plugin name '${plugin.name}', which ${previous.specifier} has too`);
    if (clashes.length > 0) {
      failures.push({ ...request, reason: `it registers ${clashes.join('; ')}`, missing: false });
      continue;
    }
    for (const [name, item] of registrations(provides)) owners.set(name, { owner: plugin.name, item });
    const version = plugin.version ?? (url.startsWith('file:') ? packageVersion(url) : '0.0.0');
    plugins.push({ ...request, plugin, version, url, provides });
  }
  return { quantkit: createQuantkit({ plugins: plugins.map((p) => p.plugin) }), plugins, failures };
}

/**
 * Loads the installed official plugins (unless `official: false`) and `specifiers` (package names or paths,
 * relative to `cwd`).
 */
export function loadPlugins(specifiers: readonly string[], options: { cwd?: string; official?: boolean } = {}): Promise<LoadedPlugins> {
  const base = options.cwd ?? process.cwd();
  const official = options.official === false ? [] : OFFICIAL_PLUGINS.map((specifier) => ({ specifier, origin: 'official' as const, base }));
  return loadPluginRequests([...official, ...specifiers.map((specifier) => ({ specifier, origin: 'flag' as const, base }))]);
}

/** A path resolves against its base; a package from its base first, then from the CLI's own installation. */
function resolvePlugin(request: PluginRequest): string {
  if (isPluginPath(request.specifier)) {
    const target = path.resolve(request.base, request.specifier);
    // A folder is a package: Node resolves its package.json `exports` / `main` (or index.js).
    return pathToFileURL(createRequire(path.join(request.base, 'noop.js')).resolve(target)).href;
  }
  try {
    return pathToFileURL(createRequire(path.join(request.base, 'noop.js')).resolve(request.specifier)).href;
  } catch {
    return import.meta.resolve(request.specifier);
  }
}

/** The plugin that registered an item, for listings. */
export function providerOf(loaded: LoadedPlugins, item: Pass | March | ObserverFactory | QuantTemplate): LoadedPlugin | undefined {
  return loaded.plugins.find((p) => (Object.values(p.provides) as unknown[][]).some((items) => items.includes(item)));
}

/** A path for messages: relative to the working folder when inside it. */
export function displayPath(file: string): string {
  const absolute = file.startsWith('file:') ? fileURLToPath(file) : file;
  const relative = path.relative(process.cwd(), absolute);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolute;
}
