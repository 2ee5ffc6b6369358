import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createQuantkit } from '../di/create-quantkit.js';
import { isQuantkitPlugin } from '../di/plugin.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { ObserverFactory } from '../quant/observer.js';

function isObserverFactory(value: unknown): value is ObserverFactory {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<ObserverFactory>;
  return (
    typeof candidate.kind === 'string' && typeof candidate.create === 'function' && typeof candidate.restore === 'function'
  );
}

/**
 * Imports the observer factory of `kind` from `module` (a URL, an absolute path, or a package name): an exported
 * factory of that kind, or else a plugin export whose container binds one.
 */
export async function loadObserverFactory(module: string, kind: string): Promise<ObserverFactory> {
  const specifier = isAbsolute(module) ? pathToFileURL(module).href : module;
  let exports: Record<string, unknown>;
  try {
    exports = (await import(specifier)) as Record<string, unknown>;
  } catch (cause) {
    throw new QuantkitError('QK_PLUGIN_LOAD', `Cannot import observer module ${module}: ${(cause as Error).message}`, {
      cause,
      hint: 'Pass observerModule as a file URL or an absolute path of the module that exports the observer factory.',
    });
  }
  const values = Object.values(exports);
  const factory = values.find((value) => isObserverFactory(value) && value.kind === kind);
  if (factory !== undefined) return factory as ObserverFactory;
  const plugins = values.filter(isQuantkitPlugin);
  if (plugins.length > 0) {
    const quantkit = createQuantkit({ plugins });
    if (quantkit.observers().some((o) => o.kind === kind)) return quantkit.observer(kind);
  }
  throw new QuantkitError('QK_PLUGIN_LOAD', `Observer module ${module} exports no observer factory of kind '${kind}'`, {
    hint: 'Point observerModule at the module (or plugin) that exports this observer.',
  });
}
