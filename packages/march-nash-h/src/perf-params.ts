import type { ChipPerf, MarchPerf, ParamNote } from '@quantkit/core';

/**
 * Cost-model numbers of the Nash-H chips (Journey 6P / 6H) for `quantkit perf` (DESIGN §8). Only the peak int8
 * rates come from public figures; every other number is an assumption, labelled as one, chosen to be plausible
 * and overridable (`perf.params` in the config). The estimate compares variants; it does not predict a board.
 *
 * | param                               | J6P       | J6H       | basis                                             |
 * | ----------------------------------- | --------- | --------- | ------------------------------------------------- |
 * | bpu.macsPerSecond.int8xint8         | 280e12    | 210e12    | public: 560 / 420 TOPS int8, 2 ops per MAC        |
 * | bpu.macsPerSecond.int16xint8        | 140e12    | 105e12    | assumption: ½ of int8 × int8                      |
 * | bpu.macsPerSecond.int16xint16       | 70e12     | 52.5e12   | assumption: ¼ of int8 × int8                      |
 * | bpu.float32OutputElementsPerSecond  | 280e9     | 210e9     | assumption: int32 → float32 at the VPU rate       |
 * | bpu.opOverheadSeconds               | 2e-6      | 2e-6      | assumption                                        |
 * | vpu.elementsPerSecond.{q, dq, rescale, dataMovement} | 280e9 | 210e9 | assumption: 1/1000 of the int8 MAC rate |
 * | vpu.elementsPerSecond.floatIsland   | 140e9     | 105e9     | assumption: ½ of the integer elementwise rate     |
 * | vpu.opOverheadSeconds               | 1e-6      | 1e-6      | assumption                                        |
 * | ddr.bytesPerSecond                  | 204.8e9   | 204.8e9   | assumption: 256-bit LPDDR5-6400                   |
 * | cpu.elementsPerSecond.dequantize    | 1e9       | 1e9       | assumption: one Cortex-A core, NEON, ~8 B/element |
 * | cpu.elementsPerSecond.quantize      | 1e9       | 1e9       | assumption: as dequantize                         |
 * | cpu.elementsPerSecond.float         | 0.5e9     | 0.5e9     | assumption: one core, a generic float op          |
 * | cpu.macsPerSecond                   | 16e9      | 16e9      | assumption: one core, 8 fp32 FMA / cycle, 2 GHz   |
 * | cpu.opOverheadSeconds               | 5e-6      | 5e-6      | assumption: a host call per op                    |
 */

const SOURCES: Record<'J6P' | 'J6H', string> = {
  J6P:
    "Horizon Robotics' public figure, 560 TOPS (quantkit DESIGN §8; restated by Horizon's Shen Jian at the 8th Intelligent " +
    'Assisted Driving Conference, 22 July 2025: https://chinaevtimes.com/posts/horizon-chip-product-director-discusses-advancements-in-autonomous-driving-technology)',
  J6H: "Horizon Robotics' public figure, 420 TOPS, as recorded in quantkit DESIGN §8",
};

const assumption = (note: string): ParamNote => ({ basis: 'assumption', note });

function nashHChip(chip: 'J6P' | 'J6H', tops: number): ChipPerf {
  const int8 = (tops * 1e12) / 2;
  const elementwise = int8 / 1000;
  return {
    chip,
    description: `Journey ${chip.slice(2)} (Nash-H BPU), ${tops} TOPS int8`,
    params: {
      bpu: {
        macsPerSecond: { int8xint8: int8, int16xint8: int8 / 2, int16xint16: int8 / 4 },
        float32OutputElementsPerSecond: elementwise,
        opOverheadSeconds: 2e-6,
      },
      vpu: {
        elementsPerSecond: { quantize: elementwise, dequantize: elementwise, rescale: elementwise, floatIsland: elementwise / 2, dataMovement: elementwise },
        opOverheadSeconds: 1e-6,
      },
      ddr: { bytesPerSecond: 204.8e9 },
      cpu: {
        elementsPerSecond: { dequantize: 1e9, quantize: 1e9, float: 0.5e9 },
        macsPerSecond: 16e9,
        opOverheadSeconds: 5e-6,
      },
    },
    notes: {
      bpu: {
        macsPerSecond: {
          int8xint8: { basis: 'public', note: `${tops} TOPS int8 peak ÷ 2 ops per MAC (dense int8 assumed)`, source: SOURCES[chip] },
          int16xint8: assumption('int16 activations at ½ the int8 × int8 rate (no public figure; int16 takes two int8 passes on the MAC array)'),
          int16xint16: assumption('int16 × int16 at ¼ the int8 × int8 rate (no public figure; four int8 passes)'),
        },
        float32OutputElementsPerSecond: assumption(
          'a GEMM emitting float32 converts its int32 accumulators (× per-channel scale) in the output stage at the VPU element-wise rate; conservative — if the conversion is free, set it very high',
        ),
        opOverheadSeconds: assumption('2 µs per BPU op for launch and synchronisation (no public figure)'),
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
      ddr: {
        bytesPerSecond: assumption('no public figure; a 256-bit LPDDR5-6400 interface = 204.8 GB/s, reached in full (a roofline peak)'),
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

/** Nash-H's chips; J6P by default. */
export const nashHPerf: MarchPerf = {
  defaultChip: 'J6P',
  chips: [nashHChip('J6P', 560), nashHChip('J6H', 420)],
};
