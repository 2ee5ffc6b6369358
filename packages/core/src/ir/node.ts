import { QuantkitError } from '../errors/quantkit-error.js';
import { toAttribute, type Attribute, type AttributeInput } from './attribute.js';
import type { Graph } from './graph.js';
import { Value } from './value.js';

export interface NodeInit {
  opType: string;
  domain?: string;
  name?: string;
  /** `undefined` marks an omitted optional input. */
  inputs?: readonly (Value | undefined)[];
  /** Output values, or how many fresh outputs to create (named `${name}_out${i}` unless given). */
  outputs?: readonly Value[] | number;
  attributes?: Record<string, AttributeInput> | readonly Attribute[];
  docString?: string;
}

/**
 * One operator application. Inputs and outputs are Values; changing them through `setInput` / `replaceOutput`
 * keeps every value's uses and producer right.
 */
export class Node {
  opType: string;
  domain: string;
  name: string;
  docString: string | undefined;
  /** Attributes by name, in file order. */
  readonly attributes = new Map<string, Attribute>();
  /** The graph holding this node; undefined until added. */
  graph: Graph | undefined;
  /** @internal the decoded proto, for a faithful re-encode of the fields the IR does not model. */
  proto: Record<string, unknown> | undefined;
  private readonly _inputs: (Value | undefined)[] = [];
  private readonly _outputs: Value[] = [];

  constructor(init: NodeInit) {
    this.opType = init.opType;
    this.domain = init.domain ?? '';
    this.name = init.name ?? '';
    this.docString = init.docString;
    this.graph = undefined;
    this.proto = undefined;
    for (const input of init.inputs ?? []) this.appendInput(input);
    const outputs =
      typeof init.outputs === 'number' || init.outputs === undefined
        ? Array.from({ length: init.outputs ?? 1 }, (_, i) => new Value(`${this.name || this.opType}_out${i}`))
        : init.outputs;
    for (const output of outputs) this.appendOutput(output);
    const attributes = init.attributes;
    if (Array.isArray(attributes)) {
      for (const attribute of attributes as readonly Attribute[]) this.attributes.set(attribute.name, attribute);
    } else if (attributes) {
      for (const [name, value] of Object.entries(attributes as Record<string, AttributeInput>)) {
        this.attributes.set(name, toAttribute(name, value));
      }
    }
  }

  get inputs(): readonly (Value | undefined)[] {
    return this._inputs;
  }

  get outputs(): readonly Value[] {
    return this._outputs;
  }

  /** The single output, for the many ops that have one. */
  get output(): Value {
    const out = this._outputs[0];
    if (!out) throw new QuantkitError('QK_IR_MISUSE', `Node ${this.describe()} has no outputs.`);
    return out;
  }

  input(index: number): Value | undefined {
    return this._inputs[index];
  }

  setInput(index: number, value: Value | undefined): void {
    if (index < 0 || index > this._inputs.length) {
      throw new QuantkitError('QK_IR_MISUSE', `Node ${this.describe()}: input index ${index} out of range.`);
    }
    const old = this._inputs[index];
    if (old === value && index < this._inputs.length) return;
    if (old) removeUse(old, this, index);
    this._inputs[index] = value;
    if (value) value._uses.push({ node: this, index });
  }

  appendInput(value: Value | undefined): void {
    this._inputs.push(undefined);
    this.setInput(this._inputs.length - 1, value);
  }

  /** Drops trailing inputs from `count` on. */
  truncateInputs(count: number): void {
    while (this._inputs.length > count) {
      const index = this._inputs.length - 1;
      const old = this._inputs[index];
      if (old) removeUse(old, this, index);
      this._inputs.pop();
    }
  }

  appendOutput(value: Value): void {
    if (value._producer) {
      throw new QuantkitError(
        'QK_IR_MISUSE',
        `Value ${value.name} is already produced by ${value._producer.describe()}; one producer per value.`,
      );
    }
    value._producer = this;
    value._producerIndex = this._outputs.length;
    value.graph = this.graph;
    this.graph?._noteName(value.name);
    this._outputs.push(value);
  }

  /** Swaps output `index` for a fresh value, which takes over nothing: the old value's uses stay on it. */
  replaceOutput(index: number, value: Value): Value {
    const old = this._outputs[index];
    if (!old) throw new QuantkitError('QK_IR_MISUSE', `Node ${this.describe()}: no output ${index}.`);
    if (value._producer) {
      throw new QuantkitError('QK_IR_MISUSE', `Value ${value.name} already has a producer.`);
    }
    old._producer = undefined;
    old._producerIndex = -1;
    value._producer = this;
    value._producerIndex = index;
    value.graph = this.graph;
    this.graph?._noteName(value.name);
    this._outputs[index] = value;
    return old;
  }

  attribute(name: string): Attribute | undefined {
    return this.attributes.get(name);
  }

  setAttribute(name: string, value: AttributeInput): void {
    this.attributes.set(name, toAttribute(name, value));
  }

  /** Subgraphs in this node's attributes (If branches, Loop / Scan bodies). */
  subgraphs(): Graph[] {
    const graphs: Graph[] = [];
    for (const attribute of this.attributes.values()) graphs.push(...attribute.subgraphs());
    return graphs;
  }

  /** @internal drops this node's uses of its inputs (used by Graph.remove). */
  _detachInputs(): void {
    for (let i = 0; i < this._inputs.length; i++) {
      const value = this._inputs[i];
      if (value) removeUse(value, this, i);
    }
    this._inputs.length = 0;
  }

  describe(): string {
    const domain = this.domain ? `${this.domain}::` : '';
    return this.name ? `'${this.name}' (${domain}${this.opType})` : `(${domain}${this.opType})`;
  }

  toString(): string {
    return this.describe();
  }
}

function removeUse(value: Value, node: Node, index: number): void {
  const uses = value._uses;
  for (let i = 0; i < uses.length; i++) {
    const use = uses[i]!;
    if (use.node === node && use.index === index) {
      uses.splice(i, 1);
      return;
    }
  }
}
