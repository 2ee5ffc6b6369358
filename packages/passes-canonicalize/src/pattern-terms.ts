import type { AttributeInput, Node, Value } from '@quantkit/core';
import { floatConstant, scalarConstant } from './float-constants.js';
import { isOp } from './rewrite.js';

/**
 * A product read off a tree of Mul / Div nodes: `coefficient · Π leaves`. Division by a one-element constant
 * counts as multiplication by its inverse. `nodes` are the Mul / Div nodes the tree is made of.
 */
export interface Product {
  coefficient: number;
  leaves: Value[];
  nodes: Node[];
}

/**
 * Flattens the product that `root` computes. Inner Mul / Div nodes are followed only when their output is read
 * once (by the tree itself), so that no value the rest of the graph needs disappears.
 */
export function productOf(root: Value): Product {
  const product: Product = { coefficient: 1, leaves: [], nodes: [] };
  const visit = (value: Value, isRoot: boolean) => {
    const node = value.producer();
    const inner = isRoot || (value.useCount === 1 && !value.isGraphOutput());
    if (inner && isOp(node, 'Mul') && node.inputs.length === 2) {
      product.nodes.push(node);
      for (const input of node.inputs) visitFactor(input!);
      return;
    }
    if (inner && isOp(node, 'Div') && node.inputs.length === 2) {
      const divisor = scalarConstant(node.input(1));
      if (divisor !== undefined && divisor !== 0) {
        product.nodes.push(node);
        product.coefficient /= divisor;
        visitFactor(node.input(0)!);
        return;
      }
    }
    product.leaves.push(value);
  };
  const visitFactor = (value: Value) => {
    const scalar = scalarConstant(value);
    if (scalar !== undefined) product.coefficient *= scalar;
    else visit(value, false);
  };
  visit(root, true);
  return product;
}

/** `x + c` with a one-element constant c (either operand order): x, c and the Add node. */
export function addScalar(value: Value | undefined): { x: Value; c: number; node: Node } | undefined {
  const node = value?.producer();
  if (!isOp(node, 'Add') || node.inputs.length !== 2) return undefined;
  const [a, b] = node.inputs;
  const cb = scalarConstant(b);
  if (cb !== undefined && a && scalarConstant(a) === undefined) return { x: a, c: cb, node };
  const ca = scalarConstant(a);
  if (ca !== undefined && b && cb === undefined) return { x: b, c: ca, node };
  return undefined;
}

/** The bounds of a Clip: inputs (opset ≥ 11, constants or casts of constants) or attributes (before 11). */
export function clipBounds(node: Node): { min: number; max: number } | undefined {
  const fromInput = (index: number, fallback: number) => {
    const input = node.input(index);
    if (!input) return fallback;
    const constant = floatConstant(input);
    return constant && constant.data.length === 1 ? constant.data[0]! : undefined;
  };
  const minAttribute = node.attribute('min');
  const maxAttribute = node.attribute('max');
  const min = minAttribute ? minAttribute.asNumber() : fromInput(1, Number.NEGATIVE_INFINITY);
  const max = maxAttribute ? maxAttribute.asNumber() : fromInput(2, Number.POSITIVE_INFINITY);
  return min === undefined || max === undefined ? undefined : { min, max };
}

/** Whether each node's outputs are read only by nodes of `chain` (the last node's output is exempt). */
export function closedChain(chain: readonly Node[], last: Node): boolean {
  const members = new Set(chain);
  members.add(last);
  for (const node of members) {
    if (node === last) continue;
    for (const output of node.outputs) {
      if (output.isGraphOutput()) return false;
      if (output.uses().some((use) => !members.has(use.node))) return false;
    }
  }
  return true;
}

/** A new float32 constant that a replacement node reads, made only when the match is applied. */
export interface NewConstant {
  readonly name: string;
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export type PatternInput = Value | NewConstant | undefined;

/** A spelled-out pattern found in the graph, to be replaced by one node reading `inputs`. */
export interface PatternMatch {
  readonly opType: string;
  readonly inputs: readonly PatternInput[];
  readonly attributes?: Record<string, AttributeInput>;
  /** The nodes that compute the pattern; `last` among them produces its result. */
  readonly chain: readonly Node[];
  readonly last: Node;
}
