import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createQuantkit, isQuantkitPlugin, type Quantkit, type QuantkitPlugin } from '@quantkit/core';

/** The official plugins, loaded by default when they are installed. */
export const OFFICIAL_PLUGINS = [
  '@quantkit/observers',
  '@quantkit/passes-output-precision',
  '@quantkit/march-nash-m',
  '@quantkit/march-nash-h',
] as const;

export interface PluginLoadFailure {
  specifier: string;
  reason: string;
  /** Not installed (only reported, never an error, for the default official plugins). */
  missing: boolean;
}

export interface LoadedPlugins {
  quantkit: Quantkit;
  plugins: { specifier: string; plugin: QuantkitPlugin }[];
  failures: PluginLoadFailure[];
}

/**
 * Finds the plugin object a module exports: its default export, or the first named export that is a plugin.
 */
function pluginFrom(module: Record<string, unknown>): QuantkitPlugin | undefined {
  if (isQuantkitPlugin(module.default)) return module.default;
  return Object.values(module).find(isQuantkitPlugin);
}

/**
 * Imports plugins by package name or path (relative to `cwd`). A plugin that fails to load is reported with the
 * reason and the rest still load; official ones that are not installed are simply absent.
 */
export async function loadPlugins(
  specifiers: readonly string[],
  options: { cwd?: string; official?: boolean } = {},
): Promise<LoadedPlugins> {
  const cwd = options.cwd ?? process.cwd();
  const wanted = [...(options.official === false ? [] : OFFICIAL_PLUGINS), ...specifiers];
  const plugins: LoadedPlugins['plugins'] = [];
  const failures: PluginLoadFailure[] = [];
  const requireFromCwd = createRequire(path.join(cwd, 'noop.js'));
  for (const specifier of [...new Set(wanted)]) {
    let target: string;
    try {
      target = isPath(specifier) ? pathToFileURL(path.resolve(cwd, specifier)).href : await resolvePackage(specifier, requireFromCwd);
    } catch (error) {
      failures.push({ specifier, reason: `not installed (${(error as Error).message.split('\n')[0]})`, missing: true });
      continue;
    }
    try {
      const module = (await import(target)) as Record<string, unknown>;
      const plugin = pluginFrom(module);
      if (!plugin) {
        failures.push({ specifier, reason: 'it exports no quantkit plugin ({ name, module: ContainerModule })', missing: false });
        continue;
      }
      plugins.push({ specifier, plugin });
    } catch (error) {
      failures.push({ specifier, reason: (error as Error).message.split('\n')[0] ?? String(error), missing: false });
    }
  }
  return { quantkit: createQuantkit({ plugins: plugins.map((p) => p.plugin) }), plugins, failures };
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || specifier.startsWith('/') || path.isAbsolute(specifier);
}

/** Resolves a package from the working folder first, then from the CLI's own installation. */
async function resolvePackage(name: string, requireFromCwd: NodeRequire): Promise<string> {
  try {
    return pathToFileURL(requireFromCwd.resolve(name)).href;
  } catch {
    return import.meta.resolve(name);
  }
}
