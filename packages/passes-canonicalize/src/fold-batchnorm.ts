import type { Model, Pass, PassContext, PassResult } from '@quantkit/core';
import { floatConstant, rankOf } from './float-constants.js';
import { absorbFollower, GemmWeights } from './gemm-weights.js';
import { isOp, soleConsumer } from './rewrite.js';

/**
 * fold-batchnorm (canonicalize) — a BatchNormalization in inference form after a GEMM is folded into that
 * GEMM's weight and bias (issue 8). With k = scale / √(var + ε): W′ = W·k per output channel, b′ = (b − mean)·k + B.
 *
 * Cases:
 * 1. Conv → BN: k scales axis 0 of the weight (the output channels); the Conv gets a bias if it had none.
 * 2. ConvTranspose → BN: k scales axis 1 of the weight, group by group (the output channels of a transposed
 *    convolution are on axis 1).
 * 3. Gemm → BN (2-D): k scales B's output columns (rows when transB = 1), alpha and beta are baked in, C is
 *    written per channel; MatMul with a 2-D input and a constant 2-D weight → BN: the columns are scaled and the
 *    bias becomes an Add after the MatMul (the Linear form prepare groups with it).
 * 4. The GEMM takes over the BN's output value (name, consumers, graph output). New initializers are written
 *    (the old weight may be shared) and the old ones are removed when nothing else reads them.
 * 5. Left alone: a BN whose scale, B, mean or var is not constant, a BN with training outputs, a GEMM output
 *    that is also read elsewhere or is a graph output, a GEMM whose weight is not constant, a BN with no GEMM
 *    before it (it already is the canonical per-channel scale-shift), a MatMul whose input rank is not 2.
 */
export const foldBatchnorm: Pass = {
  info: {
    name: 'fold-batchnorm',
    phase: 'canonicalize',
    summary: 'BatchNormalization after a Conv / ConvTranspose / Gemm / MatMul is folded into its weight and bias',
    after: ['fold-constants'],
  },
  run(model: Model, context: PassContext): PassResult {
    const graph = model.graph;
    let modified = false;
    for (const bn of graph.nodes()) {
      if (!isOp(bn, 'BatchNormalization') || bn.graph !== graph) continue;
      if (bn.outputs.slice(1).some((output) => output.name !== '')) continue;
      const input = bn.input(0);
      const gemmNode = input?.producer();
      if (!input || !gemmNode || soleConsumer(input) !== bn) continue;
      const gemm = GemmWeights.of(gemmNode);
      if (!gemm) continue;
      const [scale, shift, mean, variance] = [1, 2, 3, 4].map((i) => floatConstant(bn.input(i)));
      if (!scale || !shift || !mean || !variance) {
        context.diagnose({ level: 'info', node: bn.name, message: 'BatchNormalization with run-time parameters is not folded' });
        continue;
      }
      const channels = gemm.outChannels;
      if ([scale, shift, mean, variance].some((t) => t.data.length !== channels)) continue;
      // BN normalizes axis 1; for Gemm / MatMul that is the output channel axis only on 2-D tensors.
      if (gemm.outputAxis() !== 1 && (gemm.outputRank() !== 2 || (rankOf(gemmNode.input(0)) ?? 2) !== 2)) continue;
      const epsilon = bn.attribute('epsilon')?.asNumber() ?? 1e-5;
      const k = new Float64Array(channels);
      const b = new Float64Array(channels);
      for (let c = 0; c < channels; c++) {
        k[c] = scale.data[c]! / Math.sqrt(variance.data[c]! + epsilon);
        b[c] = shift.data[c]! - mean.data[c]! * k[c]!;
      }
      gemm.scaleOutputs(k);
      gemm.shiftOutputs(b);
      absorbFollower(graph, gemmNode, bn);
      gemm.commit(graph);
      modified = true;
    }
    return { model, modified };
  },
};
