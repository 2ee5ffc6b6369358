import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Tensor } from './tensor.js';
import type { TypeInfo } from './type-info.js';

/** One use of a value: input `index` of `node`. */
export interface Use {
  readonly node: Node;
  readonly index: number;
}

/**
 * An SSA value: produced by one node (or a graph input, or an initializer with `constValue`), used by any number
 * of node inputs. Compared by identity; `Map<Value, T>` makes a side table.
 */
export class Value {
  name: string;
  type: TypeInfo | undefined;
  docString: string | undefined;
  /** @internal ValueInfoProto.metadata_props, kept verbatim. */
  metadataProps: unknown[] | undefined;
  /** The data of an initializer. */
  constValue: Tensor | undefined;
  /** The graph whose input, initializer or node defines this value. */
  graph: Graph | undefined;
  /** @internal maintained by Node. */
  _producer: Node | undefined;
  /** @internal maintained by Node. */
  _producerIndex = -1;
  /** @internal maintained by Node. */
  readonly _uses: Use[] = [];

  constructor(name: string, init: { type?: TypeInfo; constValue?: Tensor; docString?: string } = {}) {
    this.name = name;
    this.type = init.type;
    this.constValue = init.constValue;
    this.docString = init.docString;
    this.metadataProps = undefined;
    this.graph = undefined;
  }

  /** The node that computes this value, if any. */
  producer(): Node | undefined {
    return this._producer;
  }

  /** Which output of its producer this value is (-1 for inputs and initializers). */
  producerIndex(): number {
    return this._producerIndex;
  }

  /** A snapshot of the uses: safe to iterate while editing the graph. */
  uses(): Use[] {
    return [...this._uses];
  }

  get useCount(): number {
    return this._uses.length;
  }

  isGraphInput(): boolean {
    return this.graph?.inputs.includes(this) ?? false;
  }

  isGraphOutput(): boolean {
    return this.graph?.outputs.includes(this) ?? false;
  }

  isInitializer(): boolean {
    return this.graph?.initializers.get(this.name) === this;
  }

  /**
   * Makes every node input that reads this value read `other` instead. Graph outputs keep this value unless
   * `graphOutputs: true`, because an output's name is part of the model's interface.
   */
  replaceAllUsesWith(other: Value, options: { graphOutputs?: boolean } = {}): void {
    if (other === this) return;
    for (const { node, index } of this.uses()) node.setInput(index, other);
    if (options.graphOutputs ?? false) {
      const graph = this.graph;
      if (graph) {
        for (let i = 0; i < graph.outputs.length; i++) if (graph.outputs[i] === this) graph.outputs[i] = other;
      }
    }
  }

  toString(): string {
    return `%${this.name}`;
  }
}
