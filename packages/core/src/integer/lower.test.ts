import { describe, expect, it } from 'vitest';
import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { tensorType } from '../ir/type-info.js';
import { IntegerGraphBuilder } from './integer-builder.js';
import { lowerToStandard } from './lower.js';
import { encodeMultipliers } from './requant.js';

const ops = (model: Model) => [...model.graph].map((node) => node.opType);
const byOp = (model: Model, opType: string): Node[] => [...model.graph].filter((node) => node.opType === opType);

describe('lowerToStandard (structure)', () => {
  it('lowers an int16 conv to two uint8 ConvIntegers: hi + 128 and lo with zero points 128 and 0', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.INT16, [1, 2, 4, 4]);
    const w = b.initializer('w', Int8Array.from([-128, -1, 0, 127, 5, 6, 7, 8]), [2, 2, 1, 2]);
    b.output(b.conv(x, w, undefined, { outDtype: 'int32', attributes: { strides: [1, 2] } }));
    const lowered = lowerToStandard(b.model());
    const convs = byOp(lowered, 'ConvInteger');
    expect(convs).toHaveLength(2);
    for (const conv of convs) {
      expect(conv.attribute('strides')?.asNumbers()).toEqual([1, 2]);
      const weight = conv.inputs[1]!.constValue!;
      expect(weight.dtype).toBe(DataType.UINT8);
      expect([...weight.toArray()]).toEqual([0, 127, 128, 255, 133, 134, 135, 136]);
      expect(conv.inputs[3]!.constValue!.toArray()).toEqual(Uint8Array.of(128));
    }
    expect(convs.map((conv) => conv.inputs[2]!.constValue!.toArray()[0])).toEqual([128, 0]);
  });

  it('runs int16 MaxPool between Casts to float32 and leaves int8 MaxPool alone', () => {
    for (const [dtype, casts] of [
      [DataType.INT16, 2],
      [DataType.INT8, 0],
    ] as const) {
      const b = new IntegerGraphBuilder();
      const x = b.input('x', dtype, [1, 1, 4, 4]);
      const [y] = b.node('MaxPool', [x], { attributes: { kernel_shape: [2, 2] } });
      b.output(y!, dtype);
      const lowered = lowerToStandard(b.model());
      expect(byOp(lowered, 'Cast')).toHaveLength(casts);
      expect(lowered.graph.outputs[0]!.producer()!.opType).toBe(casts ? 'Cast' : 'MaxPool');
    }
  });

  it('refuses GlobalMaxPool on int32, which onnxruntime runs in no exact type', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.INT32, [1, 1, 4, 4]);
    const [y] = b.node('GlobalMaxPool', [x], { name: 'gmp' });
    b.output(y!);
    expect(() => lowerToStandard(b.model())).toThrow(QuantkitError);
    expect(() => lowerToStandard(b.model())).toThrow(/gmp/);
  });

  it('needs the rank of a per-channel Rescale input unless axis is -1', () => {
    const { multiplier, shift } = encodeMultipliers([0.5, 0.25]);
    for (const [axis, ok] of [
      [1, false],
      [-1, true],
    ] as const) {
      const b = new IntegerGraphBuilder();
      const x = b.input('x', DataType.INT32);
      b.output(b.rescale(x, { multiplier, shift, axis, outDtype: 'int8', name: 'rs' }));
      if (ok) expect(byOp(lowerToStandard(b.model()), 'Mul')[0]!.inputs[1]!.constValue!.dims).toEqual([2]);
      else expect(() => lowerToStandard(b.model())).toThrow(/'rs'.*rank/);
    }
  });

  it('turns VPU islands into standard ops without unit', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    b.output(b.vpu('Softmax', [x], { axis: -1 }, 'sm'));
    const lowered = lowerToStandard(b.model());
    const [softmax] = [...lowered.graph];
    expect(softmax!.domain).toBe('');
    expect([...softmax!.attributes.keys()]).toEqual(['axis']);
  });

  it('upgrades a model below opset 21 first (Squeeze axes become an input)', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.INT8, [1, 3]);
    const [y] = b.node('Squeeze', [x], { attributes: { axes: [0] } });
    y!.type = tensorType(DataType.INT8, [3]);
    b.output(b.dequantize(y!, { scale: 0.5 }));
    const lowered = lowerToStandard(b.model({ '': 11 }));
    expect(lowered.opset).toBe(21);
    expect(byOp(lowered, 'Squeeze')[0]!.inputs).toHaveLength(2);
    expect(ops(lowered)).toEqual(['Squeeze', 'DequantizeLinear']);
  });
});
