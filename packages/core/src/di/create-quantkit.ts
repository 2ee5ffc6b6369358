import { Container, type ServiceIdentifier } from 'inversify';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { March } from '../march/march.js';
import type { QuantTemplate } from '../march/template.js';
import { orderPasses, Pipeline, editPipeline, type PipelineEdit } from '../pass/pass-manager.js';
import type { Pass, Phase } from '../pass/pass.js';
import type { ObserverFactory } from '../quant/observer.js';
import type { QuantkitPlugin } from './plugin.js';
import { MARCH, OBSERVER, PASS, TEMPLATE } from './tokens.js';

export interface CreateQuantkitOptions {
  plugins?: readonly QuantkitPlugin[];
}

/** The registry a session works with: everything the loaded plugins bound, checked for name clashes. */
export class Quantkit {
  readonly container: Container;
  readonly plugins: readonly QuantkitPlugin[];

  constructor(container: Container, plugins: readonly QuantkitPlugin[]) {
    this.container = container;
    this.plugins = plugins;
  }

  passes(): Pass[] {
    return unique(this.all(PASS), (p) => p.info.name, 'pass');
  }

  observers(): ObserverFactory[] {
    return unique(this.all(OBSERVER), (o) => o.kind, 'observer');
  }

  marches(): March[] {
    return unique(this.all(MARCH), (m) => m.name, 'march');
  }

  templates(): QuantTemplate[] {
    return unique(this.all(TEMPLATE), (t) => t.name, 'template');
  }

  march(name: string): March {
    const march = this.marches().find((m) => m.name === name);
    if (!march) {
      const known = this.marches().map((m) => m.name);
      throw new QuantkitError('QK_MARCH_UNKNOWN', `No loaded plugin provides the march '${name}'.`, {
        hint: known.length
          ? `Loaded marches: ${known.join(', ')}. Install @quantkit/march-${name} if it is an official one.`
          : `Install @quantkit/march-${name} (npm install @quantkit/march-${name}).`,
      });
    }
    return march;
  }

  observer(kind: string): ObserverFactory {
    const factory = this.observers().find((o) => o.kind === kind);
    if (!factory) {
      throw new QuantkitError('QK_CONFIG', `No loaded plugin provides the observer '${kind}'.`, {
        hint: `Loaded observers: ${this.observers().map((o) => o.kind).join(', ') || 'none (install @quantkit/observers)'}.`,
      });
    }
    return factory;
  }

  /**
   * The default pipeline of a phase: every registered pass of that phase (for `march`, only the passes of that
   * march or of none) that is not opt-in, ordered, with optional edits (which may insert opt-in passes).
   */
  pipeline(phase: Phase, edits: readonly PipelineEdit[] = [], march?: string): Pipeline {
    const available = this.passes().filter((p) => p.info.phase === phase && forMarch(p, march));
    const ordered = orderPasses(available.filter((p) => p.info.optIn !== true));
    return new Pipeline(`${phase}-pipeline`, phase, editPipeline(ordered, edits, available));
  }

  private all<T>(token: ServiceIdentifier<T>): T[] {
    return this.container.isBound(token) ? this.container.getAll<T>(token) : [];
  }
}

/** Whether a pass belongs in a pipeline for `march` (no march given: every pass). */
export function forMarch(pass: Pass, march: string | undefined): boolean {
  return march === undefined || pass.info.march === undefined || pass.info.march === march;
}

/** Registering one name twice with different implementations is an error; the same object twice is not. */
function unique<T>(items: T[], key: (item: T) => string, what: string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    const name = key(item);
    const previous = seen.get(name);
    if (previous !== undefined && previous !== item) {
      throw new QuantkitError('QK_DUPLICATE_REGISTRATION', `Two plugins register a ${what} named '${name}'.`, {
        hint: 'Remove one of the plugins from the config, or rename the custom one.',
      });
    }
    seen.set(name, item);
  }
  return [...seen.values()];
}

/** Builds a container from plugins; each plugin's ContainerModule binds its passes, observers and marches. */
export function createQuantkit(options: CreateQuantkitOptions = {}): Quantkit {
  const container = new Container();
  const loaded: QuantkitPlugin[] = [];
  for (const plugin of options.plugins ?? []) {
    if (loaded.some((p) => p.name === plugin.name)) continue;
    loaded.push(plugin);
    try {
      container.loadSync(plugin.module);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new QuantkitError('QK_PLUGIN_LOAD', `Plugin ${plugin.name} failed to register: ${message.replace(/\.?\s*$/, '.')}`, {
        cause,
        subject: plugin.name,
        hint: 'Check that the plugin is built for this version of @quantkit/core, or remove it from the config.',
      });
    }
  }
  return new Quantkit(container, loaded);
}
