import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { verifyModel } from '../ir/verify.js';
import { upgradeOpset } from './upgrade-opset.js';
import { errorOf } from '../testing/error-of.js';

function oneOp(
  opset: number,
  op: string,
  attributes: Record<string, number | number[] | string> = {},
  outputs = 1,
): { model: Model; node: Node } {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
  const ys = b.node(op, [x], { name: 'n', attributes, outputs });
  ys.forEach((y) => b.output(y));
  const model = b.model({ '': opset }, 7);
  return { model, node: model.graph.nodes()[0]! };
}

function int64Input(node: Node, index: number): number[] {
  return Array.from(node.inputs[index]!.constValue!.toArray() as BigInt64Array, Number);
}

describe('upgradeOpset', () => {
  it('turns ReduceMean axes into an int64 input at 18, keeping keepdims, and sets opset 21 / IR 10', () => {
    const { model, node } = oneOp(13, 'ReduceMean', { axes: [1, -1], keepdims: 0 });
    const result = upgradeOpset(model, 21);
    expect(result).toEqual({ from: 13, to: 21, rewritten: ["'n' (ReduceMean)"] });
    expect(node.attribute('axes')).toBeUndefined();
    expect(node.attribute('keepdims')!.asNumber()).toBe(0);
    expect(int64Input(node, 1)).toEqual([1, -1]);
    expect(node.inputs[1]!.constValue!.dims).toEqual([2]);
    expect(model.opset).toBe(21);
    expect(model.irVersion).toBe(10);
    verifyModel(model);
  });

  it('moves ReduceSum axes at 13 only: a ReduceSum of opset 13 is already right', () => {
    const old = oneOp(12, 'ReduceSum', { axes: [0] });
    upgradeOpset(old.model, 21);
    expect(int64Input(old.node, 1)).toEqual([0]);
    const current = oneOp(13, 'ReduceSum');
    expect(upgradeOpset(current.model, 21).rewritten).toEqual([]);
  });

  it('gives Split sizes as an input and num_outputs when sizes are implicit', () => {
    const sized = oneOp(11, 'Split', { axis: 1, split: [1, 2] }, 2);
    upgradeOpset(sized.model, 21);
    expect(int64Input(sized.node, 1)).toEqual([1, 2]);
    expect(sized.node.attribute('num_outputs')).toBeUndefined();
    const equal = oneOp(11, 'Split', { axis: 1 }, 3);
    upgradeOpset(equal.model, 21);
    expect(equal.node.inputs).toHaveLength(1);
    expect(equal.node.attribute('num_outputs')!.asNumber()).toBe(3);
  });

  it('rewrites a Softmax that flattened at a middle axis, keeping its output value', () => {
    const { model, node } = oneOp(11, 'Softmax', { axis: 1 });
    const output = node.outputs[0]!;
    upgradeOpset(model, 21);
    expect(model.graph.nodes().map((n) => n.opType)).toEqual(['Shape', 'Flatten', 'Softmax', 'Reshape']);
    expect(output.producer()!.opType).toBe('Reshape');
    expect(model.graph.outputs[0]).toBe(output);
    expect(node.attribute('axis')!.asNumber()).toBe(-1);
    verifyModel(model);
  });

  it('writes out the implicit axis of a Softmax that already worked on the last axis', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    const [y] = b.node('Softmax', [x], { name: 'n' });
    b.output(y!);
    const model = b.model({ '': 12 }, 7);
    upgradeOpset(model, 21);
    expect(model.graph.nodes().map((n) => n.opType)).toEqual(['Softmax']);
    expect(model.graph.nodes()[0]!.attribute('axis')!.asNumber()).toBe(1);
  });

  it('renames GridSample modes at 20 and Scatter to ScatterElements', () => {
    const grid = oneOp(16, 'GridSample', { mode: 'bicubic' });
    upgradeOpset(grid.model, 21);
    expect(grid.node.attribute('mode')!.asString()).toBe('cubic');
    const scatter = oneOp(10, 'Scatter', { axis: 0 });
    upgradeOpset(scatter.model, 21);
    expect(scatter.node.opType).toBe('ScatterElements');
  });

  it('upgrades nodes inside subgraphs, with names unique across scopes', () => {
    const branch = new GraphBuilder('then');
    const inner = branch.node('Squeeze', [], { name: 'squeeze', attributes: { axes: [0] }, outputs: ['s'] });
    branch.output(inner[0]!);
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [1, 3]);
    const cond = b.input('cond', DataType.BOOL, []);
    // The branch squeezes the outer x; an initializer named like the new axes input already exists outside.
    branch.graph.nodes()[0]!.appendInput(x);
    b.initializer('squeeze_axes', new Float32Array([0]), [1]);
    const [y] = b.node('If', [cond], {
      name: 'if',
      attributes: { then_branch: branch.graph, else_branch: branch.graph },
    });
    b.output(y!);
    const model = b.model({ '': 11 }, 6);
    upgradeOpset(model, 21);
    const squeeze = branch.graph.nodes()[0]!;
    expect(int64Input(squeeze, 1)).toEqual([0]);
    expect(squeeze.inputs[1]!.name).toBe('squeeze_axes_1');
    expect(branch.graph.initializers.has('squeeze_axes_1')).toBe(true);
  });

  it('refuses what it cannot upgrade exactly, naming the node', () => {
    const group = errorOf(() => upgradeOpset(oneOp(18, 'GroupNormalization', { num_groups: 2 }).model, 21));
    expect(group?.code).toBe('QK_UNSUPPORTED');
    expect(group?.message).toContain("'n' (GroupNormalization)");
    expect(errorOf(() => upgradeOpset(oneOp(17, 'DFT').model, 21))?.code).toBe('QK_UNSUPPORTED');
    expect(errorOf(() => upgradeOpset(oneOp(9, 'ImageScaler').model, 21))?.message).toContain('ImageScaler');
    expect(errorOf(() => upgradeOpset(oneOp(8, 'BatchNormalization', { spatial: 0 }).model, 21))?.message).toContain(
      'spatial',
    );
    expect(
      errorOf(() => upgradeOpset(oneOp(10, 'Upsample', { mode: 'cubic', scales: [1, 1, 2] }).model, 21))?.message,
    ).toContain("'cubic'");
    // A GroupNormalization already at 21 is fine.
    expect(() => upgradeOpset(oneOp(21, 'GroupNormalization', { num_groups: 2 }).model, 21)).not.toThrow();
  });

  it('refuses models below opset 7 and downgrades', () => {
    expect(errorOf(() => upgradeOpset(oneOp(6, 'Relu').model, 21))?.code).toBe('QK_UNSUPPORTED');
    expect(errorOf(() => upgradeOpset(oneOp(21, 'Relu').model, 17))?.code).toBe('QK_UNSUPPORTED');
  });

  it('leaves other domains alone', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [2]);
    const [y] = b.node('ReduceMean', [x], { name: 'custom', domain: 'com.example', attributes: { axes: [0] } });
    b.output(y!);
    const model = b.model({ '': 13, 'com.example': 1 }, 7);
    expect(upgradeOpset(model, 21).rewritten).toEqual([]);
    expect(model.opsetImports.get('com.example')).toBe(1);
  });
});
