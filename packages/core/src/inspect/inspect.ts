import { dtypeName } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { tensorElemType, tensorShape, type Dim } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { isGemmLike, opTrait } from '../ops/op-traits.js';
import { constantTensor } from '../prepare/constants.js';

export interface TensorSummary {
  name: string;
  dtype: string;
  shape: Dim[] | null;
}

export interface GemmSummary {
  name: string;
  opType: string;
  /** Shape of the constant weight (an initializer or Constant, maybe through Identity); null when it is computed. */
  weightShape: number[] | null;
}

export interface InspectReport {
  irVersion: number;
  producer: string;
  opsets: { domain: string; version: number }[];
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  nodeCount: number;
  /** op type → count, most frequent first. */
  ops: Record<string, number>;
  /** Elements in all initializers. */
  parameters: number;
  parameterBytes: number;
  /** Elements held by Constant nodes instead (paddle2onnx puts weights there); canonicalize makes them initializers. */
  constantParameters: number;
  constantParameterBytes: number;
  gemmLike: GemmSummary[];
  /** Ops no march quantizes yet (they would stay float on the CPU), with the nodes that use them. */
  unsupported: { opType: string; domain: string; count: number; nodes: string[] }[];
}

function summarize(value: Value): TensorSummary {
  const elemType = tensorElemType(value.type);
  return {
    name: value.name,
    dtype: elemType === undefined ? 'unknown' : dtypeName(elemType),
    shape: tensorShape(value.type) ?? null,
  };
}

function weightShape(node: Node): number[] | null {
  const weight = constantTensor(node.inputs[1]);
  return weight ? [...weight.dims] : null;
}

/** A structural summary of a model: what `quantkit inspect` prints. */
export function inspectModel(model: Model): InspectReport {
  const graph = model.graph;
  const initializerSet = new Set(graph.initializers.values());
  const counts = new Map<string, number>();
  const unsupported = new Map<string, { opType: string; domain: string; count: number; nodes: string[] }>();
  const gemmLike: GemmSummary[] = [];
  let nodeCount = 0;
  for (const node of graph.allNodes()) {
    nodeCount++;
    const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}::${node.opType}` : node.opType;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (isGemmLike(node.opType, node.domain)) {
      gemmLike.push({ name: node.name, opType: node.opType, weightShape: weightShape(node) });
    } else if (opTrait(node.opType, node.domain) === undefined) {
      const entry = unsupported.get(key) ?? { opType: node.opType, domain: node.domain, count: 0, nodes: [] };
      entry.count++;
      entry.nodes.push(node.name || `#${nodeCount - 1}`);
      unsupported.set(key, entry);
    }
  }
  let parameters = 0;
  let parameterBytes = 0;
  for (const value of graph.initializers.values()) {
    parameters += value.constValue!.size;
    parameterBytes += value.constValue!.byteLength;
  }
  let constantParameters = 0;
  let constantParameterBytes = 0;
  for (const node of graph.allNodes()) {
    if (node.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const tensor = constantTensor(node.outputs[0]);
    if (!tensor) continue;
    constantParameters += tensor.size;
    constantParameterBytes += tensor.byteLength;
  }
  const producer = [model.producerName, model.producerVersion].filter(Boolean).join(' ');
  return {
    irVersion: model.irVersion,
    producer,
    opsets: [...model.opsetImports].map(([domain, version]) => ({ domain, version })),
    inputs: graph.inputs.filter((v) => !initializerSet.has(v)).map(summarize),
    outputs: graph.outputs.map(summarize),
    nodeCount,
    ops: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    parameters,
    parameterBytes,
    constantParameters,
    constantParameterBytes,
    gemmLike,
    unsupported: [...unsupported.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType)),
  };
}
