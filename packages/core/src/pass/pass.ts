import type { Model } from '../ir/model.js';

/**
 * Where a pass runs, in this order: `canonicalize` rewrites the float graph into what the hardware runs without
 * changing its float function; `prepare` decides the quantization plan on it before calibration; `convert` works
 * on the QDQ model.
 */
export type Phase = 'canonicalize' | 'prepare' | 'convert';

export const PHASES: readonly Phase[] = ['canonicalize', 'prepare', 'convert'];

export interface PassInfo {
  /** Unique, kebab-case; used in pipelines, configs and error messages. */
  readonly name: string;
  readonly summary: string;
  readonly phase: Phase;
  /** Passes this one must run after when they are in the same pipeline (ordering is local, not numeric). */
  readonly after?: readonly string[];
  /** The march this pass belongs to; it is left out of other marches' pipelines. Absent: every march. */
  readonly march?: string;
  /**
   * Registered but left out of the default pipeline: a config's `insert` edit adds it. For passes that must
   * show a gain on real models before they run by default.
   */
  readonly optIn?: boolean;
}

export interface PassDiagnostic {
  pass: string;
  level: 'info' | 'warning';
  message: string;
  node?: string;
}

/** What a pass may read and report while it runs. */
export interface PassContext {
  /** Target march name, when the pipeline is for one. */
  readonly march?: string;
  /** Options from the caller and the config file, by name. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Findings for the report (fallback ops, skipped patterns, …). */
  diagnose(diagnostic: Omit<PassDiagnostic, 'pass'>): void;
}

export interface PassResult {
  model: Model;
  modified: boolean;
}

/**
 * A model transformation. `run` edits in place by default (models are large) and says whether it changed
 * anything. `requires` / `ensures` are optional checks before and after, throwing a QuantkitError when unmet.
 */
export interface Pass {
  readonly info: PassInfo;
  run(model: Model, context: PassContext): PassResult | Promise<PassResult>;
  requires?(model: Model, context: PassContext): void;
  ensures?(model: Model, context: PassContext): void;
}
