import type { Model, Pass, PassDiagnostic } from '@quantkit/core';

/** Runs one pass with empty options and returns whether it changed the model and what it reported. */
export async function runPass(pass: Pass, model: Model) {
  const diagnostics: Omit<PassDiagnostic, 'pass'>[] = [];
  const result = await pass.run(model, { options: {}, diagnose: (d) => diagnostics.push(d) });
  return { modified: result.modified, diagnostics };
}

/** The op types of a model's main graph in order. */
export const opTypes = (model: Model) => model.graph.nodes().map((node) => node.opType);
