import {
  DataType,
  GraphBuilder,
  lowerQdq,
  stringAttribute,
  Tensor,
  type Model,
  type Node,
  type PassContext,
  type Value,
} from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { nashHFloatOutput } from './float-output.js';

function qdq(b: GraphBuilder, x: Value, scale: number, name: string): Value {
  const s = b.initializer(`${name}_scale`, new Float32Array([scale]), []);
  const zp = b.initializer(`${name}_zp`, new Int16Array(1), []);
  const [q] = b.node('QuantizeLinear', [x, s, zp], { name: `${name}_q` });
  return b.node('DequantizeLinear', [q!, s, zp], { name: `${name}_dq` })[0]!;
}

function linear(b: GraphBuilder, x: Value, name: string): Value {
  const wScale = [0.01, 0.02];
  const w = b.initializer(`${name}.w`, Tensor.fromArray(new Int8Array([1, -2, 3, 4, -5, 6, 7, 8]), [4, 2]));
  const ws = b.initializer(`${name}.ws`, Tensor.fromArray(new Float32Array(wScale), [2]));
  const wz = b.initializer(`${name}.wz`, Tensor.fromArray(new Int8Array(2), [2]));
  const [wdq] = b.node('DequantizeLinear', [w, ws, wz], { attributes: { axis: 1 } });
  const [mm] = b.node('MatMul', [x, wdq!], { name });
  return mm!;
}

/** x → linear2 → y → [Q/DQ] → linear3 → z; y also a graph output (`reuse`), or read by a float op (`float-reader`). */
function lowered(form: 'single' | 'reuse' | 'float-reader'): Model {
  const b = new GraphBuilder();
  const x = qdq(b, b.input('input', DataType.FLOAT, [3, 4]), 0.01, 'x');
  const y = linear(b, x, 'linear2');
  const z = linear(b, qdq(b, y, 0.002, 'y'), 'linear3');
  b.output(z, DataType.FLOAT);
  if (form === 'reuse') b.output(y, DataType.FLOAT);
  if (form === 'float-reader') b.output(b.node('Sigmoid', [y])[0]!, DataType.FLOAT);
  return lowerQdq(b.model()).model;
}

const context = (march: string, integerConv = false): PassContext => ({ march, options: { integerConv }, diagnose: () => undefined });
const node = (model: Model, name: string): Node => model.graph.nodes().find((n) => n.name === name)!;

describe('float-output (nash-h)', () => {
  it('1. a GEMM whose Dequantize feeds a graph output emits float32 into it; the Dequantize goes', () => {
    const model = lowered('single');
    const z = model.graph.outputs[0]!;
    const { modified } = nashHFloatOutput.run(model, context('nash-h')) as { modified: boolean };
    expect(modified).toBe(true);
    const linear3 = node(model, 'linear3');
    expect(stringAttribute(linear3, 'out_dtype')).toBe('float32');
    expect(linear3.outputs[0]).toBe(z);
    expect(model.graph.outputs[0]).toBe(z);
    // 3. linear2's output is only quantized again: not touched.
    expect(stringAttribute(node(model, 'linear2'), 'out_dtype')).toBe('int32');
  });

  it('2. a reused output: linear2 emits float32 y, and its Quantize for linear3 becomes a VPU Quantize', () => {
    const model = lowered('reuse');
    nashHFloatOutput.run(model, context('nash-h'));
    const linear2 = node(model, 'linear2');
    expect(stringAttribute(linear2, 'out_dtype')).toBe('float32');
    const y = linear2.outputs[0]!;
    expect(y.isGraphOutput()).toBe(true);
    const quantize = y.uses().map((u) => u.node);
    expect(quantize.map((n) => [n.opType, stringAttribute(n, 'unit')])).toEqual([['Quantize', 'vpu']]);
    expect(node(model, 'linear3').inputs[0]).toBe(quantize[0]!.outputs[0]);
  });

  it('1. a float reader (a VPU island) also makes the output float32', () => {
    const model = lowered('float-reader');
    nashHFloatOutput.run(model, context('nash-h'));
    expect(stringAttribute(node(model, 'linear2'), 'out_dtype')).toBe('float32');
  });

  it('4. a Dequantize at another scale than the GEMM’s accumulator is left alone', () => {
    const model = lowered('single');
    const dequantize = node(model, 'linear3').outputs[0]!.uses()[0]!.node;
    dequantize.setAttribute('scale', [0.5, 0.25]);
    expect((nashHFloatOutput.run(model, context('nash-h')) as { modified: boolean }).modified).toBe(false);
  });

  it('5. with integerConv nothing changes', () => {
    const model = lowered('reuse');
    expect((nashHFloatOutput.run(model, context('nash-h', true)) as { modified: boolean }).modified).toBe(false);
    expect(stringAttribute(node(model, 'linear2'), 'out_dtype')).toBe('int32');
  });

  it('6. for another march nothing changes', () => {
    const model = lowered('reuse');
    expect((nashHFloatOutput.run(model, context('nash-m')) as { modified: boolean }).modified).toBe(false);
  });
});
