import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { verifyModel } from '../ir/verify.js';
import { INTEGER_DOMAIN, INTEGER_OPSET_VERSION } from '../integer/integer-ops.js';
import type { March } from '../march/march.js';
import type { Pipeline } from '../pass/pass-manager.js';
import type { PassDiagnostic } from '../pass/pass.js';
import { assertSymmetricQdq } from '../qdq/read-qdq.js';
import { integerDtypeOf, isIntegerGemm, stringAttribute } from './integer-nodes.js';
import { lowerQdq, type Fallback } from './lower-qdq.js';

export interface ConvertOptions {
  march: March;
  /** The convert-phase passes of the loaded plugins: createQuantkit(...).pipeline('convert'). */
  pipeline: Pipeline;
  /** nash-h: lower as nash-m does (int32 + Rescale instead of float32 outputs); passed to the passes as an option. */
  integerConv?: boolean;
  /** Names the model in errors (a file name). */
  name?: string;
}

export interface ConvertResult {
  /** quantized.onnx: the integer IR. */
  model: Model;
  /** Ops that stay float on the CPU, with the reason. */
  fallback: Fallback[];
  /** The fallbacks as warnings, then what the passes reported. */
  diagnostics: PassDiagnostic[];
  /** Per pass: how long it took and whether it changed the model. */
  timings: { pass: string; milliseconds: number; modified: boolean }[];
}

/**
 * convert (DESIGN §2, §7): a symmetric QDQ model (qat.onnx, or another tool's) → the integer IR of `march`.
 *
 * 1. Every Q/DQ is read (constant scales, zero point 0): an asymmetric model is refused with QK_ASYMMETRIC_QDQ, a
 *    model without any Q/DQ with QK_UNSUPPORTED.
 * 2. lowerQdq on a copy (the input is never modified): GEMM patterns → quantkit GEMMs with int32 output and a
 *    Dequantize, Q/DQ → quantkit Quantize / Dequantize, elementwise ops → VPU islands, the rest → CPU fallbacks.
 * 3. The convert pipeline runs with `{ march: march.name, options: { integerConv } }`: each march's passes act for
 *    their own march only (dequant-quant-to-rescale, fold-rescale-into-gemm, integer-pass-through, float-output).
 * 4. The result imports the `quantkit` opset (version 1) and is checked: a valid graph, and every GEMM's out_dtype,
 *    activation and constant weight types within the march's capabilities, and no int16 weights on a GEMM whose
 *    int32 / float32 output is a model output, directly or through its Dequantize (a high-precision output keeps int8
 *    weights) — QK_UNSUPPORTED naming the node otherwise. (An int32 accumulator read by a VPU island, as for an
 *    epilogue convert does not fuse yet, is no high-precision output.)
 */
export async function convert(qdqModel: Model, options: ConvertOptions): Promise<ConvertResult> {
  const what = options.name ?? 'The model';
  if (assertSymmetricQdq(qdqModel) === 0) {
    throw new QuantkitError('QK_UNSUPPORTED', `${what} has no QuantizeLinear / DequantizeLinear nodes: it is not a QDQ model.`, {
      subject: options.name,
      hint: 'convert reads qat.onnx, the QDQ model `quantkit calibrate` writes (or a symmetric QDQ model from another tool).',
    });
  }
  const lowered = lowerQdq(qdqModel);
  const diagnostics: PassDiagnostic[] = lowered.fallback.map((f) => ({
    pass: 'lower-qdq',
    level: 'warning',
    node: f.node,
    message: `${f.node} (${f.opType}) stays float on the CPU: ${f.reason}.`,
  }));
  const run = await options.pipeline.execute(lowered.model, {
    march: options.march.name,
    options: { integerConv: options.integerConv ?? false },
  });
  const model = run.model;
  model.opsetImports.set(INTEGER_DOMAIN, INTEGER_OPSET_VERSION);
  verifyModel(model, options.name ? `the converted ${options.name}` : 'the converted model');
  checkCapabilities(model, options.march);
  return { model, fallback: lowered.fallback, diagnostics: [...diagnostics, ...run.diagnostics], timings: run.timings };
}

function checkCapabilities(model: Model, march: March): void {
  const { gemmOutputs, gemmInputs, gemmWeights } = march.capabilities;
  for (const node of model.graph) {
    if (!isIntegerGemm(node)) continue;
    const out = stringAttribute(node, 'out_dtype');
    if (out === undefined || !(gemmOutputs as readonly string[]).includes(out)) {
      throw new QuantkitError(
        'QK_UNSUPPORTED',
        `${node.describe()} emits ${out ?? 'no out_dtype'}, which ${march.name} GEMM-like ops cannot (they emit ${gemmOutputs.join(', ')}).`,
        {
          subject: node.name,
          hint: 'A convert pass chose an output type this march lacks: check the passes of the loaded plugins (--print-pipeline).',
        },
      );
    }
    for (const input of node.inputs.slice(0, 2)) {
      const dtype = integerDtypeOf(input);
      if (dtype === undefined) continue;
      if (input!.constValue) {
        if (dtype === 'int16' && (out === 'int32' || out === 'float32') && isModelOutput(node)) {
          throw new QuantkitError(
            'QK_UNSUPPORTED',
            `${node.describe()} reads int16 weight ${input!.name} but emits ${out}: a GEMM with a high-precision output keeps int8 weights.`,
            {
              subject: node.name,
              hint: "Quantize this GEMM's weight as int8 (a `weight: \"qint8\"` override), or quantize its output as int8 / int16.",
            },
          );
        }
        if (!(gemmWeights as readonly string[]).includes(dtype)) {
          throw new QuantkitError(
            'QK_UNSUPPORTED',
            `${node.describe()} reads weight ${input!.name} as ${dtype}; ${march.name} GEMM-like ops take ${gemmWeights.join(' / ') || 'no'} weights.`,
            { subject: node.name, hint: 'A convert pass chose a weight type this march lacks: check the passes of the loaded plugins (--print-pipeline).' },
          );
        }
      } else if (!(gemmInputs as readonly string[]).includes(dtype)) {
        throw new QuantkitError(
          'QK_UNSUPPORTED',
          `${node.describe()} reads ${input!.name} as ${dtype}; ${march.name} GEMM-like ops take ${gemmInputs.join(' / ')} activations.`,
          { subject: node.name, hint: 'Quantize that activation as int8 or int16 (template or override).' },
        );
      }
    }
  }
}

/** Whether a GEMM's output is a graph output, itself or through the Dequantize that reads it. */
function isModelOutput(node: Node): boolean {
  const out = node.outputs[0];
  if (!out) return false;
  if (out.isGraphOutput()) return true;
  return out.uses().some(({ node: reader }) => reader.opType === 'Dequantize' && reader.outputs.some((v) => v.isGraphOutput()));
}
