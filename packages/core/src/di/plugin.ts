import type { ContainerModule } from 'inversify';

/** What a plugin package exports: a name, its version for `quantkit plugins`, and one ContainerModule. */
export interface QuantkitPlugin {
  readonly name: string;
  readonly version?: string;
  readonly module: ContainerModule;
}

export function isQuantkitPlugin(value: unknown): value is QuantkitPlugin {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<QuantkitPlugin>;
  return typeof candidate.name === 'string' && typeof candidate.module === 'object' && candidate.module !== null;
}
