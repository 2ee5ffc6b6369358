import type { AttributeInput } from './attribute.js';
import { DataType, type NumericArray } from './dtype.js';
import { Graph } from './graph.js';
import { Model } from './model.js';
import { Node } from './node.js';
import { Tensor } from './tensor.js';
import { tensorType, type Dim } from './type-info.js';
import { Value } from './value.js';

export interface NodeOptions {
  name?: string;
  domain?: string;
  attributes?: Record<string, AttributeInput>;
  /** Number of outputs (default 1) or their names. */
  outputs?: number | string[];
}

/**
 * Builds small graphs in code, for tests and examples:
 * ```ts
 * const b = new GraphBuilder('g');
 * const x = b.input('x', DataType.FLOAT, [2, 4]);
 * const w = b.initializer('w', Tensor.fromArray(new Float32Array(8), [4, 2]));
 * const [y] = b.node('MatMul', [x, w], { name: 'mm' });
 * b.output(y!);
 * const model = b.model({ '': 21 });
 * ```
 */
export class GraphBuilder {
  readonly graph: Graph;

  constructor(name = 'graph') {
    this.graph = new Graph(name);
  }

  input(name: string, elemType: number = DataType.FLOAT, dims?: readonly Dim[]): Value {
    return this.graph.addInput(new Value(name, { type: tensorType(elemType, dims) }));
  }

  initializer(name: string, tensor: Tensor): Value;
  initializer(name: string, data: NumericArray, dims: readonly number[]): Value;
  initializer(name: string, data: Tensor | NumericArray, dims?: readonly number[]): Value {
    const tensor = data instanceof Tensor ? data : Tensor.fromArray(data, dims ?? [data.length], { name });
    return this.graph.addInitializer(new Value(this.graph.uniqueName(name)), tensor);
  }

  node(opType: string, inputs: readonly (Value | undefined)[], options: NodeOptions = {}): Value[] {
    const name = options.name ?? this.graph.uniqueName(opType.toLowerCase());
    const outputNames =
      Array.isArray(options.outputs)
        ? options.outputs
        : Array.from({ length: options.outputs ?? 1 }, (_, i) => this.graph.uniqueName(`${name}_out${i}`));
    const node = new Node({
      opType,
      domain: options.domain,
      name,
      inputs,
      outputs: outputNames.map((n) => new Value(n)),
      attributes: options.attributes,
    });
    this.graph.append(node);
    return [...node.outputs];
  }

  output(value: Value, elemType?: number, dims?: readonly Dim[]): Value {
    if (elemType !== undefined) value.type = tensorType(elemType, dims);
    return this.graph.addOutput(value);
  }

  model(opsetImports: Record<string, number> = { '': 21 }, irVersion = 10): Model {
    return new Model(this.graph, { irVersion, opsetImports });
  }
}
