import type { ChipPerf, ParamNote } from './perf-params.js';

/** What differs between the Nash chips: the public TOPS figure and the few numbers that are chip specific. */
export interface NashChipFacts {
  /** 'J6M', 'J6P', … */
  chip: string;
  /** 'Nash-M', 'Nash-H' — for the description. */
  bpu: string;
  /** Peak int8 TOPS (public) and where the figure comes from. */
  tops: number;
  topsSource: string;
  /** DDR bandwidth in bytes/s and how it was arrived at (no chip publishes one). */
  ddrBytesPerSecond: number;
  ddrNote: string;
  /** How the float32 output stage of a GEMM is costed on this march. */
  float32OutputNote: string;
}

/**
 * The numbers fitted to Horizon's published static estimates of three Nash-E models (docs/perf-model.md), and
 * used for every Nash chip: no chip publishes them, and no model gets its own.
 */
export const NASH_FIT = {
  gemmEfficiency: 0.3,
  reductionLanes: 16,
  layerOverheadSeconds: 1.5e-6,
  activationSramBytes: 2 * 1024 * 1024,
} as const;
const FIT_SOURCE = 'fitted to hb_compile static estimates of MobileNetV2, EfficientNet-Lite0, MobileNetV3-Large on J6E (docs/perf-model.md)';

const assumption = (note: string): ParamNote => ({ basis: 'assumption', note });

/**
 * The cost-model numbers of a Nash chip from its public int8 TOPS: MAC rates at 2 ops per MAC (int16 at ½ and ¼ of
 * it), VPU element rates at 1/1000 of the MAC rate, and one host core for the CPU side. Only the TOPS figure is
 * public; every derived number is an assumption and says so in its note, and all can be overridden
 * (`perf.params` in the config). The march packages give the facts; this is the one place the rules live.
 */
export function nashChipPerf(facts: NashChipFacts): ChipPerf {
  const int8 = (facts.tops * 1e12) / 2;
  const elementwise = int8 / 1000;
  return {
    chip: facts.chip,
    description: `Journey ${facts.chip.slice(2)} (${facts.bpu} BPU), ${facts.tops} TOPS int8`,
    params: {
      bpu: {
        macsPerSecond: { int8xint8: int8, int16xint8: int8 / 2, int16xint16: int8 / 4 },
        float32OutputElementsPerSecond: elementwise,
        gemmEfficiency: NASH_FIT.gemmEfficiency,
        reductionLanes: NASH_FIT.reductionLanes,
        opOverheadSeconds: NASH_FIT.layerOverheadSeconds,
      },
      vpu: {
        elementsPerSecond: {
          quantize: elementwise,
          dequantize: elementwise,
          rescale: elementwise,
          floatIsland: elementwise / 2,
          dataMovement: elementwise,
        },
        opOverheadSeconds: 1e-6,
      },
      ddr: { bytesPerSecond: facts.ddrBytesPerSecond },
      sram: { activationBytes: NASH_FIT.activationSramBytes },
      cpu: {
        elementsPerSecond: { dequantize: 1e9, quantize: 1e9, float: 0.5e9 },
        macsPerSecond: 16e9,
        opOverheadSeconds: 5e-6,
      },
    },
    notes: {
      bpu: {
        macsPerSecond: {
          int8xint8: {
            basis: 'public',
            note: `${facts.tops} TOPS int8 peak ÷ 2 ops per MAC (dense int8 assumed)`,
            source: facts.topsSource,
          },
          int16xint8: assumption('int16 activations at ½ the int8 × int8 rate (no public figure; int16 takes two int8 passes on the MAC array)'),
          int16xint16: assumption('int16 × int16 at ¼ the int8 × int8 rate (no public figure; four int8 passes)'),
        },
        float32OutputElementsPerSecond: assumption(facts.float32OutputNote),
        gemmEfficiency: assumption(
          `fraction of the peak MAC rate dense GEMM layers reach; ${FIT_SOURCE}, consistent with Horizon's ResNet-152 (22.6 G ops in 2.23 ms ≈ 10 of 80 TOP/s)`,
        ),
        reductionLanes: assumption(`input channels reduced per step of the MAC array (depthwise convolutions use 1 of them); ${FIT_SOURCE}`),
        opOverheadSeconds: assumption(`fixed cost per BPU layer (launch, pipeline fill and drain); ${FIT_SOURCE}`),
      },
      vpu: {
        elementsPerSecond: {
          quantize: assumption('no public VPU figure; 1/1000 of the int8 MAC rate (element-wise work per MAC of a vector unit beside the MAC array)'),
          dequantize: assumption('as quantize'),
          rescale: assumption('as quantize; also used for a Rescale on the BPU'),
          floatIsland: assumption('float32 element-wise ops at ½ the integer element-wise rate'),
          dataMovement: assumption('Transpose / Concat / Slice / pooling on integer tensors at the integer element-wise rate'),
        },
        opOverheadSeconds: assumption('1 µs per VPU op (no public figure)'),
      },
      ddr: { bytesPerSecond: assumption(facts.ddrNote) },
      sram: {
        activationBytes: assumption(`on-chip memory for an activation between layers (no public figure; Horizon's compiler keeps activations on chip); ${FIT_SOURCE}`),
      },
      cpu: {
        elementsPerSecond: {
          dequantize: assumption(
            "the host's C++ dequantize of an int32 output: one Cortex-A core with NEON, limited by its ~8 GB/s streaming bandwidth at 8 bytes per element (4 read, 4 written)",
          ),
          quantize: assumption('as dequantize (float32 → int8/int16 on one core)'),
          float: assumption('a generic float op of a CPU fallback on one core'),
        },
        macsPerSecond: assumption('float GEMM fallbacks on one core: two 128-bit FMA pipes (8 fp32 MAC / cycle) at 2 GHz'),
        opOverheadSeconds: assumption('5 µs per CPU op: the hand-off from the NPU to a host thread'),
      },
    },
  };
}
