import { nashChipPerf, type MarchPerf } from '@quantkit/core';

/**
 * Cost-model numbers of the Nash-M chips (Journey 6E / 6M) for `quantkit perf` (DESIGN §8). Only the peak int8
 * rates come from a public figure; every other number is an assumption, labelled as one and overridable (`perf.params`
 * in the config). The four fitted numbers (gemmEfficiency, reductionLanes, opOverheadSeconds, sram.activationBytes)
 * are one set for every Nash chip, fitted to Horizon's published J6E static estimates (docs/perf-model.md).
 *
 * | param                               | J6E       | J6M       | basis                                             |
 * | ----------------------------------- | --------- | --------- | ------------------------------------------------- |
 * | bpu.macsPerSecond.int8xint8         | 40e12     | 64e12     | public: 80 / 128 TOPS int8, 2 ops per MAC         |
 * | bpu.macsPerSecond.int16xint8        | 20e12     | 32e12     | assumption: ½ of int8 × int8                      |
 * | bpu.macsPerSecond.int16xint16       | 10e12     | 16e12     | assumption: ¼ of int8 × int8                      |
 * | bpu.float32OutputElementsPerSecond  | 40e9      | 64e9      | unused: Nash-M GEMMs cannot emit float32          |
 * | bpu.gemmEfficiency                  | 0.3       | 0.3       | fitted: fraction of the peak MAC rate reached     |
 * | bpu.reductionLanes                  | 16        | 16        | fitted: input channels per MAC-array step         |
 * | bpu.opOverheadSeconds               | 1.5e-6    | 1.5e-6    | fitted: fixed cost per BPU layer                  |
 * | vpu.elementsPerSecond.{q, dq, rescale, dataMovement} | 40e9 | 64e9 | assumption: 1/1000 of the int8 MAC rate  |
 * | vpu.elementsPerSecond.floatIsland   | 20e9      | 32e9      | assumption: ½ of the integer elementwise rate     |
 * | vpu.opOverheadSeconds               | 1e-6      | 1e-6      | assumption                                        |
 * | ddr.bytesPerSecond                  | 51.2e9    | 51.2e9    | assumption: 64-bit LPDDR5-6400                    |
 * | sram.activationBytes                | 2 MiB     | 2 MiB     | fitted: an activation this small stays on chip    |
 * | cpu.elementsPerSecond.dequantize    | 1e9       | 1e9       | assumption: one Cortex-A core, NEON, ~8 B/element |
 * | cpu.elementsPerSecond.quantize      | 1e9       | 1e9       | assumption: as dequantize                         |
 * | cpu.elementsPerSecond.float         | 0.5e9     | 0.5e9     | assumption: one core, a generic float op          |
 * | cpu.macsPerSecond                   | 16e9      | 16e9      | assumption: one core, 8 fp32 FMA / cycle, 2 GHz   |
 * | cpu.opOverheadSeconds               | 5e-6      | 5e-6      | assumption: a host call per op                    |
 */

const TOPS_SOURCE =
  "Horizon Robotics' public Journey 6 figures (J6 series launch, April 2024), as recorded in quantkit DESIGN §8: J6E 80 TOPS, J6M 128 TOPS";

function nashMChip(chip: 'J6E' | 'J6M', tops: number) {
  return nashChipPerf({
    chip,
    bpu: 'Nash-M',
    tops,
    topsSource: TOPS_SOURCE,
    ddrBytesPerSecond: 51.2e9,
    ddrNote: 'no public figure; a 64-bit LPDDR5-6400 interface = 51.2 GB/s, reached in full (a roofline peak)',
    float32OutputNote: 'unused on Nash-M: its GEMM-like ops cannot emit float32; set like the VPU rates',
  });
}

/** Nash-M's chips; J6M by default. */
export const nashMPerf: MarchPerf = {
  defaultChip: 'J6M',
  chips: [nashMChip('J6M', 128), nashMChip('J6E', 80)],
};
