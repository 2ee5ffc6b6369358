import { Node, Value, type Graph } from '@quantkit/core';
import { floatConstant, rankOf } from './float-constants.js';
import { addFloatInitializer, isOp, removeIfDead } from './rewrite.js';

/**
 * The constant weight and bias of a Conv / ConvTranspose / Gemm / MatMul, as an editable float64 copy that knows
 * which output and input channel every weight element belongs to (groups and transposes included), so that
 * per-channel scales and shifts can be folded in exactly. `commit` writes them back as new initializers (the
 * originals may be shared with other nodes) and removes the originals when nothing else reads them.
 */
export class GemmWeights {
  readonly outChannels: number;
  readonly inChannels: number;
  private readonly weight: Float64Array;
  private readonly bias: Float64Array;
  private hasBias: boolean;
  private readonly outOf: Int32Array;
  private readonly inOf: Int32Array;

  private constructor(
    readonly node: Node,
    private readonly dims: readonly number[],
    weight: Float32Array,
    bias: Float32Array | undefined,
    channels: { out: number; in: number; outOf: Int32Array; inOf: Int32Array },
  ) {
    this.weight = Float64Array.from(weight);
    this.outChannels = channels.out;
    this.inChannels = channels.in;
    this.outOf = channels.outOf;
    this.inOf = channels.inOf;
    this.hasBias = bias !== undefined;
    this.bias = bias ? Float64Array.from(bias) : new Float64Array(channels.out);
  }

  /**
   * The weights of `node` when they are constants the fold can rewrite: Conv / ConvTranspose with a constant
   * weight (and bias), Gemm with a constant B and a C of N or 1 elements (transA 0), MatMul whose first input
   * is 2-D (of any rank with `anyRank`, for rewrites that only touch the last axis) and whose second is a
   * constant 2-D matrix. Undefined otherwise.
   */
  static of(node: Node | undefined, options: { anyRank?: boolean } = {}): GemmWeights | undefined {
    if (!isOp(node, 'Conv', 'ConvTranspose', 'Gemm', 'MatMul')) return undefined;
    const weight = floatConstant(node.input(1));
    if (!weight || !node.input(0)) return undefined;
    const biasInput = node.input(2);
    const bias = biasInput ? floatConstant(biasInput) : undefined;
    if (biasInput && !bias) return undefined;
    const dims = weight.dims;
    if (node.opType === 'Conv' || node.opType === 'ConvTranspose') {
      if (dims.length < 3) return undefined;
      const group = node.attribute('group')?.asNumber() ?? 1;
      const [d0, d1] = dims as [number, number];
      const per = dims.slice(2).reduce((a, b) => a * b, 1);
      const count = weight.data.length;
      const outOf = new Int32Array(count);
      const inOf = new Int32Array(count);
      const transposed = node.opType === 'ConvTranspose';
      const out = transposed ? d1 * group : d0;
      const inputs = transposed ? d0 : d1 * group;
      if (d0 % group !== 0) return undefined;
      for (let a = 0; a < d0; a++) {
        for (let b = 0; b < d1; b++) {
          const o = transposed ? Math.floor(a / (d0 / group)) * d1 + b : a;
          const i = transposed ? a : Math.floor(a / (d0 / group)) * d1 + b;
          const start = (a * d1 + b) * per;
          outOf.fill(o, start, start + per);
          inOf.fill(i, start, start + per);
        }
      }
      if (bias && bias.data.length !== out) return undefined;
      return new GemmWeights(node, dims, weight.data, bias?.data, { out, in: inputs, outOf, inOf });
    }
    if (dims.length !== 2) return undefined;
    if (node.opType === 'MatMul' && !options.anyRank && rankOf(node.input(0)) !== 2) return undefined;
    if (node.opType === 'Gemm' && (node.attribute('transA')?.asNumber() ?? 0) !== 0) return undefined;
    const transB = node.opType === 'Gemm' && (node.attribute('transB')?.asNumber() ?? 0) === 1;
    const [k, n] = (transB ? [dims[1], dims[0]] : [dims[0], dims[1]]) as [number, number];
    const outOf = new Int32Array(k * n);
    const inOf = new Int32Array(k * n);
    for (let r = 0; r < dims[0]!; r++) {
      for (let c = 0; c < dims[1]!; c++) {
        outOf[r * dims[1]! + c] = transB ? r : c;
        inOf[r * dims[1]! + c] = transB ? c : r;
      }
    }
    let biasData: Float32Array | undefined;
    const alpha = node.attribute('alpha')?.asNumber() ?? 1;
    const beta = node.attribute('beta')?.asNumber() ?? 1;
    if (bias) {
      if (bias.data.length !== n && bias.data.length !== 1) return undefined;
      if (bias.dims.length > 2 || (bias.dims.length === 2 && bias.dims[0] !== 1)) return undefined;
      biasData = new Float32Array(n).fill(bias.data[0]!);
      if (bias.data.length === n) biasData.set(bias.data);
    }
    const result = new GemmWeights(node, dims, weight.data, biasData, { out: n, in: k, outOf, inOf });
    // Gemm's alpha and beta are baked into B and C, so that both are plain per-channel data.
    if (alpha !== 1) result.weight.forEach((w, i) => (result.weight[i] = w * alpha));
    if (beta !== 1) result.bias.forEach((b, i) => (result.bias[i] = b * beta));
    return result;
  }

  /** The axis of the node's output that holds its output channels: 1 for convolutions, last for Gemm / MatMul. */
  outputAxis(): number {
    return this.node.opType === 'Conv' || this.node.opType === 'ConvTranspose' ? 1 : -1;
  }

  /** The rank of the node's output, when known. */
  outputRank(): number | undefined {
    if (this.node.opType === 'Conv' || this.node.opType === 'ConvTranspose') return this.dims.length;
    return 2;
  }

  /** The largest |weight| of each output channel. */
  outputRanges(): Float64Array {
    const ranges = new Float64Array(this.outChannels);
    for (let i = 0; i < this.weight.length; i++) {
      const o = this.outOf[i]!;
      ranges[o] = Math.max(ranges[o]!, Math.abs(this.weight[i]!));
    }
    return ranges;
  }

  /** The largest |weight| that reads each input channel. */
  inputRanges(): Float64Array {
    const ranges = new Float64Array(this.inChannels);
    for (let i = 0; i < this.weight.length; i++) {
      const c = this.inOf[i]!;
      ranges[c] = Math.max(ranges[c]!, Math.abs(this.weight[i]!));
    }
    return ranges;
  }

  /** y ← y·k per output channel (weight and bias). */
  scaleOutputs(k: Float32Array | Float64Array): void {
    for (let i = 0; i < this.weight.length; i++) this.weight[i]! *= k[this.outOf[i]!]!;
    for (let o = 0; o < this.outChannels; o++) this.bias[o]! *= k[o]!;
  }

  /** y ← y + b per output channel. */
  shiftOutputs(b: Float32Array | Float64Array): void {
    for (let o = 0; o < this.outChannels; o++) this.bias[o]! += b[o]!;
    this.hasBias = true;
  }

  /** The node reads x·a (a per input channel) instead of x. */
  scaleInputs(a: Float32Array | Float64Array): void {
    for (let i = 0; i < this.weight.length; i++) this.weight[i]! *= a[this.inOf[i]!]!;
  }

  /** The node reads x + b (b per input channel) instead of x; exact only where no padding enters the sums. */
  shiftInputs(b: Float32Array): void {
    for (let i = 0; i < this.weight.length; i++) this.bias[this.outOf[i]!]! += this.weight[i]! * b[this.inOf[i]!]!;
    this.hasBias = true;
  }

  /**
   * Writes the new weight (and bias) as initializers. A MatMul has no bias input: a bias becomes an Add right
   * after it, which takes over the MatMul's output value.
   */
  commit(graph: Graph): void {
    const node = this.node;
    const base = node.name || node.opType;
    const oldWeight = node.input(1);
    const oldBias = node.input(2);
    node.setInput(1, addFloatInitializer(graph, `${base}_weight_folded`, Float32Array.from(this.weight), this.dims));
    if (node.opType === 'Gemm') {
      node.attributes.delete('alpha');
      node.attributes.delete('beta');
    }
    if (this.hasBias) {
      const bias = addFloatInitializer(graph, `${base}_bias_folded`, Float32Array.from(this.bias), [this.outChannels]);
      if (node.opType === 'MatMul') {
        const output = node.output;
        const product = new Value(graph.uniqueName(`${output.name}_matmul`));
        node.replaceOutput(0, product);
        graph.insertAfter(
          node,
          new Node({ opType: 'Add', name: graph.uniqueName(`${base}_bias_add`), inputs: [product, bias], outputs: [output] }),
        );
      } else if (node.inputs.length > 2) {
        node.setInput(2, bias);
      } else {
        node.appendInput(bias);
      }
    }
    removeIfDead(graph, oldWeight);
    removeIfDead(graph, oldBias);
  }
}

/**
 * Makes `gemm` produce `value` — the output of the single node `follower` that read the GEMM's output and was
 * folded into it — and removes `follower`.
 */
export function absorbFollower(graph: Graph, gemm: Node, follower: Node): void {
  const value = follower.output;
  const inputs = [...follower.inputs];
  follower.replaceOutput(0, new Value(graph.uniqueName(`${value.name}_folded`)));
  graph.remove(follower, { force: true });
  gemm.replaceOutput(0, value);
  for (const input of inputs) removeIfDead(graph, input);
}
