import { Graph } from './graph.js';

/**
 * A model: one main graph, the opsets it imports (domain → version, in file order), and the model-level
 * fields of ModelProto. `functions`, `trainingInfo` and `configuration` are carried verbatim.
 */
export class Model {
  graph: Graph;
  irVersion: number;
  /** domain ('' = ai.onnx) → opset version */
  readonly opsetImports: Map<string, number>;
  producerName: string | undefined;
  producerVersion: string | undefined;
  domain: string | undefined;
  modelVersion: number | undefined;
  docString: string | undefined;
  /** metadata_props, in file order. */
  readonly metadata: Map<string, string>;
  /** @internal FunctionProtos, verbatim. */
  functions: unknown[];
  /** @internal the decoded proto, for fields the IR does not model. */
  proto: Record<string, unknown> | undefined;

  constructor(graph: Graph = new Graph(), init: { irVersion?: number; opsetImports?: Record<string, number> } = {}) {
    this.graph = graph;
    this.irVersion = init.irVersion ?? 10;
    this.opsetImports = new Map(Object.entries(init.opsetImports ?? { '': 21 }));
    this.producerName = undefined;
    this.producerVersion = undefined;
    this.domain = undefined;
    this.modelVersion = undefined;
    this.docString = undefined;
    this.metadata = new Map();
    this.functions = [];
    this.proto = undefined;
  }

  /** The ai.onnx opset version (domain '' or 'ai.onnx'). */
  get opset(): number {
    return this.opsetImports.get('') ?? this.opsetImports.get('ai.onnx') ?? 1;
  }
}
