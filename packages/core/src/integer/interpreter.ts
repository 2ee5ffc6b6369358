import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { dtypeName } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { tensorElemType } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { FLOAT_KERNELS } from './float-kernels.js';
import { INTEGER_DOMAIN, INTEGER_OPS, isIntegerOp } from './integer-ops.js';
import {
  convKernel,
  convTransposeKernel,
  dequantizeKernel,
  epilogueKernel,
  gemmKernel,
  lutKernel,
  matmulKernel,
  quantizeKernel,
  rescaleKernel,
  scaleShiftKernel,
} from './integer-kernels.js';
import { LAYOUT_KERNELS } from './layout-kernels.js';
import { ONNX_TYPE_OF, tensorToArray } from './ndarray.js';

/**
 * A reference interpreter of the integer IR (integer-ops.ts): quantkit Quantize / Dequantize / Rescale / Conv / Gemm /
 * MatMul / Lut / ScaleShift with exact integer arithmetic, Epilogue with the step arithmetic of epilogue.ts, quantkit
 * VPU islands and standard float ops (float-kernels.ts), and the standard pass-through ops on any dtype
 * (layout-kernels.ts). It is the executable form of the spec: slow, simple,
 * and what the onnxruntime lowering is checked against bit for bit.
 */

export interface InterpretOptions {
  /** Also return every value a node computes (by name), not only the graph outputs. */
  keepIntermediates?: boolean;
}

/** Runs `model` on `feeds` (graph input name → array) and returns its outputs by name. */
export function interpret(
  model: Model,
  feeds: ReadonlyMap<string, NpyArray>,
  options: InterpretOptions = {},
): Map<string, NpyArray> {
  const { graph } = model;
  const values = new Map<Value, NpyArray>();
  for (const [name, value] of graph.initializers) values.set(value, tensorToArray(value.constValue!, name));
  for (const value of graph.inputs) {
    const feed = feeds.get(value.name);
    if (!feed) {
      if (values.has(value)) continue;
      throw new QuantkitError('QK_USAGE', `No data for the graph input '${value.name}'`, { subject: value.name });
    }
    const declared = tensorElemType(value.type);
    if (declared !== undefined && declared !== ONNX_TYPE_OF[feed.dtype]) {
      throw new QuantkitError(
        'QK_USAGE',
        `Graph input '${value.name}' is ${dtypeName(declared)}, but its data is ${feed.dtype}`,
        { subject: value.name },
      );
    }
    values.set(value, feed);
  }
  const results = new Map<string, NpyArray>();
  for (const node of graph) {
    const inputs = node.inputs.map((value) => {
      if (!value || value.name === '') return undefined;
      const array = values.get(value);
      if (!array) {
        throw new QuantkitError('QK_GRAPH_INVALID', `Node ${node.describe()} reads '${value.name}', which nothing computed`, {
          subject: node.name,
        });
      }
      return array;
    });
    let outputs: NpyArray[];
    try {
      outputs = runNode(node, inputs);
    } catch (cause) {
      if (cause instanceof QuantkitError) throw cause;
      throw new QuantkitError('QK_RUNTIME', `The interpreter failed on node ${node.describe()}: ${(cause as Error).message}`, {
        cause,
        subject: node.name,
      });
    }
    outputs.forEach((array, i) => {
      const value = node.outputs[i];
      if (!value) return;
      values.set(value, array);
      if (options.keepIntermediates) results.set(value.name, array);
    });
  }
  for (const value of graph.outputs) {
    const array = values.get(value);
    if (!array) {
      throw new QuantkitError('QK_GRAPH_INVALID', `Graph output '${value.name}' is never computed`, { subject: value.name });
    }
    results.set(value.name, array);
  }
  return results;
}

function runNode(node: Node, inputs: (NpyArray | undefined)[]): NpyArray[] {
  const [a, b, c] = inputs;
  if (node.domain === INTEGER_DOMAIN) {
    if (isIntegerOp(node.opType)) {
      switch (node.opType) {
        case 'Quantize':
          return [quantizeKernel(node, a)];
        case 'Dequantize':
          return [dequantizeKernel(node, a)];
        case 'Rescale':
          return [rescaleKernel(node, a)];
        case 'Conv':
          return [convKernel(node, a, b, c)];
        case 'ConvTranspose':
          return [convTransposeKernel(node, a, b, c)];
        case 'Gemm':
          return [gemmKernel(node, a, b, c)];
        case 'MatMul':
          return [matmulKernel(node, a, b, c)];
        case 'Lut':
          return [lutKernel(node, a, b)];
        case 'Epilogue':
          return [epilogueKernel(node, inputs)];
        case 'ScaleShift':
          return [scaleShiftKernel(node, a)];
      }
    }
    const island = Object.hasOwn(FLOAT_KERNELS, node.opType) ? FLOAT_KERNELS[node.opType] : undefined;
    if (island) return [island(node, inputs)];
  } else if (node.domain === '' || node.domain === 'ai.onnx') {
    const kernel =
      (Object.hasOwn(LAYOUT_KERNELS, node.opType) ? LAYOUT_KERNELS[node.opType] : undefined) ??
      (Object.hasOwn(FLOAT_KERNELS, node.opType) ? FLOAT_KERNELS[node.opType] : undefined);
    if (kernel) return [kernel(node, inputs)];
  }
  throw new QuantkitError(
    'QK_UNSUPPORTED',
    `The integer-IR interpreter has no kernel for node ${node.describe()}`,
    {
      subject: node.name,
      hint: `It runs quantkit::{${INTEGER_OPS.join(', ')}}, the float ops ${Object.keys(FLOAT_KERNELS).join(', ')} and the pass-through ops ${Object.keys(LAYOUT_KERNELS).join(', ')}; run other models with lowerToStandard and onnxruntime.`,
    },
  );
}
