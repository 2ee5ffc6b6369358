import fs from 'node:fs';
import path from 'node:path';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { QuantTemplate } from '../march/template.js';
import type { PipelineEdit } from '../pass/pass-manager.js';
import { PHASES, type Phase } from '../pass/pass.js';
import { parsePerfConfig, type PerfConfig } from '../perf/resolve-params.js';
import { parseQuantConfig, type QuantConfig } from '../prepare/overrides.js';
import { BUILTIN_TEMPLATES, templateByName } from '../prepare/templates.js';
import { readConfigFile } from './read-config-file.js';

/** The file the CLI reads from the working folder when no `--config` is given. */
export const CONFIG_FILE_NAME = 'quantkit.config.json';

/** The observer to calibrate with and its options (`averagingConstant`, `mode`, … as the observer documents). */
export interface ObserverChoice {
  kind: string;
  options?: Record<string, unknown>;
}

/**
 * `quantkit.config.json`, validated. It extends the quantization config of `calibrate --config` (template,
 * reusedOutputs, overrides), so one file serves every verb.
 */
export interface QuantkitConfig extends QuantConfig {
  /** The absolute path of the file; undefined for the empty config used when there is none. */
  file?: string;
  /** The file's text, fingerprinted into reports. */
  text?: string;
  /** The folder relative paths are resolved against: the file's folder (the working folder without a file). */
  dir: string;
  /** Plugin package names as written, plugin paths made absolute. */
  plugins: string[];
  observer?: ObserverChoice;
  /** Edits to each phase's default pipeline, applied in order. */
  pipeline: Partial<Record<Phase, PipelineEdit[]>>;
  /** The cost model's chip and parameter overrides (`quantkit perf`). */
  perf?: PerfConfig;
}

const CONFIG_KEYS = ['plugins', 'template', 'overrides', 'reusedOutputs', 'observer', 'pipeline', 'perf'] as const;

/** A plugin given as a path (`./my-plugin`, `../x/index.js`, `/abs/path`) rather than a package name. */
export function isPluginPath(specifier: string): boolean {
  return specifier.startsWith('.') || path.isAbsolute(specifier);
}

/** The config of a folder with no config file. */
export function emptyConfig(dir: string): QuantkitConfig {
  return { dir: path.resolve(dir), plugins: [], pipeline: {} };
}

/** `quantkit.config.json` in `dir`, if there is one. */
export function findQuantkitConfig(dir: string): string | undefined {
  const file = path.resolve(dir, CONFIG_FILE_NAME);
  return fs.existsSync(file) ? file : undefined;
}

/** Reads and validates a config file; every error names the file and the key at fault. */
export function loadQuantkitConfig(file: string): QuantkitConfig {
  const { text, data } = readConfigFile(file);
  return { ...parseQuantkitConfig(data, { source: file, dir: path.dirname(path.resolve(file)) }), file: path.resolve(file), text };
}

/**
 * Validates parsed JSON as a QuantkitConfig. `source` names it in errors; `dir` is where relative plugin paths
 * start. Unknown keys are errors (a typo must not be silently ignored). The template name is checked later,
 * against the built-in templates and the plugins' (see {@link resolveTemplate}).
 */
export function parseQuantkitConfig(data: unknown, options: { source?: string; dir: string }): QuantkitConfig {
  const source = options.source ?? 'the config';
  const fail = (key: string, message: string, hint?: string): never => {
    throw new QuantkitError('QK_CONFIG', `${source}: ${key} ${message}`, { subject: source, hint });
  };
  if (!isRecord(data)) return fail('the top level', 'must be a JSON object.');
  for (const key of Object.keys(data)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      fail(`unknown key \`${key}\``, `(known keys: ${CONFIG_KEYS.join(', ')}).`, 'Check the spelling; keys are case-sensitive.');
    }
  }
  const config = emptyConfig(options.dir);

  const quant: Record<string, unknown> = {};
  for (const key of ['reusedOutputs', 'overrides'] as const) if (data[key] !== undefined) quant[key] = data[key];
  Object.assign(config, parseQuantConfig(quant, source));
  if (data.template !== undefined) {
    if (typeof data.template !== 'string' || data.template === '') {
      fail('`template`', `must be a template name such as "int8" or "int16" (got ${JSON.stringify(data.template)}).`);
    }
    config.template = data.template as string;
  }

  if (data.plugins !== undefined) {
    if (!Array.isArray(data.plugins)) return fail('`plugins`', 'must be an array of package names or paths.');
    config.plugins = data.plugins.map((entry: unknown, i) => {
      if (typeof entry !== 'string' || entry.trim() === '') {
        return fail(`\`plugins[${i}]\``, `must be a package name or a path (got ${JSON.stringify(entry)}).`);
      }
      return isPluginPath(entry) ? path.resolve(options.dir, entry) : entry;
    });
  }

  if (data.observer !== undefined) config.observer = parseObserver(data.observer, fail);

  if (data.perf !== undefined) config.perf = parsePerfConfig(data.perf, source);

  if (data.pipeline !== undefined) {
    if (!isRecord(data.pipeline)) return fail('`pipeline`', 'must be an object like { "prepare": [{ "drop": "reused-output-rescale" }] }.');
    for (const [phase, edits] of Object.entries(data.pipeline)) {
      if (!(PHASES as readonly string[]).includes(phase)) {
        fail(`unknown key \`pipeline.${phase}\``, `(phases: ${PHASES.join(', ')}).`);
      }
      if (!Array.isArray(edits)) return fail(`\`pipeline.${phase}\``, 'must be an array of edits.');
      config.pipeline[phase as Phase] = edits.map((edit: unknown, i) => parseEdit(edit, `pipeline.${phase}[${i}]`, fail));
    }
  }
  return config;
}

type Fail = (key: string, message: string, hint?: string) => never;

function parseObserver(value: unknown, fail: Fail): ObserverChoice {
  if (typeof value === 'string' && value !== '') return { kind: value };
  if (!isRecord(value) || typeof value.kind !== 'string' || value.kind === '') {
    return fail('`observer`', `must be an observer kind ("minmax") or an object with a kind and its options ({ "kind": "minmax", "averagingConstant": 0.01 }) (got ${JSON.stringify(value)}).`);
  }
  const { kind, ...options } = value;
  return Object.keys(options).length > 0 ? { kind, options } : { kind };
}

const EDIT_SHAPES = '{ "drop": "pass" }, { "insert": "pass", "after": "other" } or { "insert": "pass", "before": "other" }';

function parseEdit(edit: unknown, where: string, fail: Fail): PipelineEdit {
  if (!isRecord(edit)) return fail(`\`${where}\``, `must be one of ${EDIT_SHAPES}.`);
  const keys = Object.keys(edit).sort().join(',');
  const shape = keys === 'drop' ? 'drop' : keys === 'after,insert' ? 'after' : keys === 'before,insert' ? 'before' : undefined;
  if (shape === undefined) return fail(`\`${where}\``, `must be one of ${EDIT_SHAPES} (got the keys ${Object.keys(edit).join(', ') || 'none'}).`);
  for (const [key, name] of Object.entries(edit)) {
    if (typeof name !== 'string' || name === '') fail(`\`${where}.${key}\``, `must be a pass name (got ${JSON.stringify(name)}).`);
  }
  if (shape === 'drop') return { drop: edit.drop as string };
  if (shape === 'after') return { insert: edit.insert as string, after: edit.after as string };
  return { insert: edit.insert as string, before: edit.before as string };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The template a run uses: `name` (a flag) or the config's, else int8, looked up among the built-in templates and
 * `extra` (the plugins'). An unknown name from the config is an error naming the file.
 */
export function resolveTemplate(config: QuantkitConfig, extra: readonly QuantTemplate[] = [], name?: string): QuantTemplate {
  const available = [...BUILTIN_TEMPLATES, ...extra];
  const chosen = name ?? config.template ?? 'int8';
  try {
    return templateByName(chosen, available);
  } catch (error) {
    if (name !== undefined || config.file === undefined) throw error;
    throw new QuantkitError('QK_CONFIG', `${config.file}: \`template\` names an unknown template '${chosen}'.`, {
      cause: error,
      subject: config.file,
      hint: `Known templates: ${available.map((t) => t.name).join(', ')}. A plugin's template needs its plugin in \`plugins\`.`,
    });
  }
}
