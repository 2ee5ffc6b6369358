import { QuantkitError } from '../errors/quantkit-error.js';
import { Node } from './node.js';
import type { Tensor } from './tensor.js';
import { Value } from './value.js';

/**
 * A graph: inputs, outputs, initializers and nodes in topological order. Iterating a graph yields its nodes.
 * Nodes are added with `append`, `insertBefore` or `insertAfter` and removed with `remove`, which refuses to
 * orphan a value that is still used.
 */
export class Graph implements Iterable<Node> {
  name: string;
  docString: string | undefined;
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  /** Initializers by name, in file order. */
  readonly initializers = new Map<string, Value>();
  /** Values defined by sparse initializers (their data is kept verbatim in `proto`). */
  readonly sparseInitializers: Value[] = [];
  /** Values whose type the file declared in value_info, in file order. */
  readonly valueInfos: Value[] = [];
  /** The node whose attribute holds this graph, for subgraphs. */
  parentNode: Node | undefined;
  /** @internal the decoded proto, for the fields the IR does not model (sparse initializers, annotations). */
  proto: Record<string, unknown> | undefined;
  private readonly _nodes: Node[] = [];
  private readonly usedNames = new Set<string>();

  constructor(name = '') {
    this.name = name;
    this.docString = undefined;
    this.parentNode = undefined;
    this.proto = undefined;
  }

  [Symbol.iterator](): Iterator<Node> {
    return this._nodes[Symbol.iterator]();
  }

  /** A snapshot of the nodes in order; safe to iterate while editing. */
  nodes(): Node[] {
    return [...this._nodes];
  }

  get nodeCount(): number {
    return this._nodes.length;
  }

  indexOf(node: Node): number {
    return this._nodes.indexOf(node);
  }

  /** Adds a graph input (a new Value unless one is given). */
  addInput(value: Value): Value {
    this.adopt(value);
    this.inputs.push(value);
    return value;
  }

  addOutput(value: Value): Value {
    this.outputs.push(value);
    return value;
  }

  /** Adds an initializer value; its name must be free. */
  addInitializer(value: Value, tensor?: Tensor): Value {
    if (tensor) value.constValue = tensor;
    if (!value.constValue) {
      throw new QuantkitError('QK_IR_MISUSE', `Initializer ${value.name} needs a constValue tensor.`);
    }
    const existing = this.initializers.get(value.name);
    if (existing && existing !== value) {
      throw new QuantkitError('QK_IR_MISUSE', `Graph ${this.name}: an initializer named ${value.name} exists already.`);
    }
    this.adopt(value);
    this.initializers.set(value.name, value);
    return value;
  }

  /** Removes an initializer that nothing uses any more. */
  removeInitializer(value: Value): void {
    if (value.useCount > 0 || this.outputs.includes(value)) {
      throw new QuantkitError('QK_IR_MISUSE', `Initializer ${value.name} is still used; cannot remove it.`);
    }
    this.initializers.delete(value.name);
    const at = this.inputs.indexOf(value);
    if (at >= 0) this.inputs.splice(at, 1);
  }

  append(node: Node): Node {
    this.adopt(node);
    this._nodes.push(node);
    return node;
  }

  insertBefore(reference: Node, node: Node): Node {
    return this.insertAt(this.positionOf(reference), node);
  }

  insertAfter(reference: Node, node: Node): Node {
    return this.insertAt(this.positionOf(reference) + 1, node);
  }

  /**
   * Removes a node. Its outputs must be unused (not read by any node, not graph outputs) unless `force`, which
   * leaves them dangling for the caller to reconnect.
   */
  remove(node: Node, options: { force?: boolean } = {}): void {
    const at = this.positionOf(node);
    if (!options.force) {
      for (const output of node.outputs) {
        if (output.useCount > 0 || this.outputs.includes(output)) {
          const user = output.uses()[0]?.node.describe() ?? 'a graph output';
          throw new QuantkitError(
            'QK_IR_MISUSE',
            `Cannot remove ${node.describe()}: its output ${output.name} is still used by ${user}.`,
          );
        }
      }
    }
    node._detachInputs();
    this._nodes.splice(at, 1);
    node.graph = undefined;
  }

  /** A name not yet taken by any value or node of this graph, derived from `base`. */
  uniqueName(base: string): string {
    if (this.usedNames.size === 0) this.collectNames();
    let name = base;
    for (let i = 1; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  /**
   * @internal Node calls this when a node already in the graph gets a new output, so that uniqueName never hands
   * out its name. (Renaming a value by assignment is not seen; pick new names with uniqueName.)
   */
  _noteName(name: string): void {
    if (this.usedNames.size > 0) this.usedNames.add(name);
  }

  /** Every value defined in this graph by name: inputs, initializers and node outputs. */
  valuesByName(): Map<string, Value> {
    const map = new Map<string, Value>();
    for (const value of this.inputs) map.set(value.name, value);
    for (const value of this.initializers.values()) map.set(value.name, value);
    for (const node of this._nodes) for (const value of node.outputs) if (value.name) map.set(value.name, value);
    return map;
  }

  /** Nodes of this graph and of every subgraph below it, parents before children. */
  *allNodes(): Generator<Node> {
    for (const node of this._nodes) {
      yield node;
      for (const subgraph of node.subgraphs()) yield* subgraph.allNodes();
    }
  }

  private insertAt(index: number, node: Node): Node {
    this.adopt(node);
    this._nodes.splice(index, 0, node);
    return node;
  }

  private positionOf(node: Node): number {
    const index = node.graph === this ? this._nodes.indexOf(node) : -1;
    if (index < 0) throw new QuantkitError('QK_IR_MISUSE', `${node.describe()} is not in graph '${this.name}'.`);
    return index;
  }

  private adopt(item: Node | Value): void {
    if (item instanceof Node) {
      // Also for this graph: adding a node twice would list it twice and define its outputs twice.
      if (item.graph) {
        throw new QuantkitError('QK_IR_MISUSE', `${item.describe()} already belongs to graph '${item.graph.name}'.`);
      }
      item.graph = this;
      for (const output of item.outputs) {
        output.graph = this;
        if (this.usedNames.size > 0) this.usedNames.add(output.name);
      }
      if (item.name && this.usedNames.size > 0) this.usedNames.add(item.name);
      return;
    }
    item.graph = this;
    if (this.usedNames.size > 0) this.usedNames.add(item.name);
  }

  /** Names of this graph and of its subgraphs, whose values a new outer name would otherwise shadow. */
  private collectNames(): void {
    const visit = (graph: Graph) => {
      for (const name of graph.valuesByName().keys()) this.usedNames.add(name);
      for (const value of graph.sparseInitializers) this.usedNames.add(value.name);
      for (const node of graph._nodes) {
        if (node.name) this.usedNames.add(node.name);
        for (const subgraph of node.subgraphs()) visit(subgraph);
      }
    };
    visit(this);
  }
}
