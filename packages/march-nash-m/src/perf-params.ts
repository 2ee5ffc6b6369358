import type { ChipPerf, MarchPerf, ParamNote } from '@quantkit/core';

/**
 * Cost-model numbers of the Nash-M chips (Journey 6E / 6M) for `quantkit perf` (DESIGN §8). Only the peak int8
 * rates come from a public figure; every other number is an assumption, labelled as one, chosen to be plausible
 * and overridable (`perf.params` in the config). The estimate compares variants; it does not predict a board.
 *
 * | param                               | J6E       | J6M       | basis                                             |
 * | ----------------------------------- | --------- | --------- | ------------------------------------------------- |
 * | bpu.macsPerSecond.int8xint8         | 40e12     | 64e12     | public: 80 / 128 TOPS int8, 2 ops per MAC         |
 * | bpu.macsPerSecond.int16xint8        | 20e12     | 32e12     | assumption: ½ of int8 × int8                      |
 * | bpu.macsPerSecond.int16xint16       | 10e12     | 16e12     | assumption: ¼ of int8 × int8                      |
 * | bpu.float32OutputElementsPerSecond  | 40e9      | 64e9      | unused: Nash-M GEMMs cannot emit float32          |
 * | bpu.opOverheadSeconds               | 2e-6      | 2e-6      | assumption                                        |
 * | vpu.elementsPerSecond.{q, dq, rescale, dataMovement} | 40e9 | 64e9 | assumption: 1/1000 of the int8 MAC rate  |
 * | vpu.elementsPerSecond.floatIsland   | 20e9      | 32e9      | assumption: ½ of the integer elementwise rate     |
 * | vpu.opOverheadSeconds               | 1e-6      | 1e-6      | assumption                                        |
 * | ddr.bytesPerSecond                  | 51.2e9    | 51.2e9    | assumption: 64-bit LPDDR5-6400                    |
 * | cpu.elementsPerSecond.dequantize    | 1e9       | 1e9       | assumption: one Cortex-A core, NEON, ~8 B/element |
 * | cpu.elementsPerSecond.quantize      | 1e9       | 1e9       | assumption: as dequantize                         |
 * | cpu.elementsPerSecond.float         | 0.5e9     | 0.5e9     | assumption: one core, a generic float op          |
 * | cpu.macsPerSecond                   | 16e9      | 16e9      | assumption: one core, 8 fp32 FMA / cycle, 2 GHz   |
 * | cpu.opOverheadSeconds               | 5e-6      | 5e-6      | assumption: a host call per op                    |
 */

const TOPS_SOURCE =
  "Horizon Robotics' public Journey 6 figures (J6 series launch, April 2024), as recorded in quantkit DESIGN §8: J6E 80 TOPS, J6M 128 TOPS";

const assumption = (note: string): ParamNote => ({ basis: 'assumption', note });

function nashMChip(chip: 'J6E' | 'J6M', tops: number): ChipPerf {
  const int8 = (tops * 1e12) / 2;
  const elementwise = int8 / 1000;
  return {
    chip,
    description: `Journey ${chip.slice(2)} (Nash-M BPU), ${tops} TOPS int8`,
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
      ddr: { bytesPerSecond: 51.2e9 },
      cpu: {
        elementsPerSecond: { dequantize: 1e9, quantize: 1e9, float: 0.5e9 },
        macsPerSecond: 16e9,
        opOverheadSeconds: 5e-6,
      },
    },
    notes: {
      bpu: {
        macsPerSecond: {
          int8xint8: { basis: 'public', note: `${tops} TOPS int8 peak ÷ 2 ops per MAC (dense int8 assumed)`, source: TOPS_SOURCE },
          int16xint8: assumption('int16 activations at ½ the int8 × int8 rate (no public figure; int16 takes two int8 passes on the MAC array)'),
          int16xint16: assumption('int16 × int16 at ¼ the int8 × int8 rate (no public figure; four int8 passes)'),
        },
        float32OutputElementsPerSecond: assumption('unused on Nash-M: its GEMM-like ops cannot emit float32; set like the VPU rates'),
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
        bytesPerSecond: assumption('no public figure; a 64-bit LPDDR5-6400 interface = 51.2 GB/s, reached in full (a roofline peak)'),
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

/** Nash-M's chips; J6M by default. */
export const nashMPerf: MarchPerf = {
  defaultChip: 'J6M',
  chips: [nashMChip('J6M', 128), nashMChip('J6E', 80)],
};
