import { nashChipPerf, type MarchPerf } from '@quantkit/core';

/**
 * Cost-model numbers of the Nash-H chips (Journey 6P / 6H) for `quantkit perf` (DESIGN §8). Only the peak int8
 * rates come from public figures; every other number is an assumption, labelled as one and overridable (`perf.params`
 * in the config). The four fitted numbers (gemmEfficiency, reductionLanes, opOverheadSeconds, sram.activationBytes)
 * are one set for every Nash chip, fitted to Horizon's published J6E static estimates (docs/perf-model.md).
 *
 * | param                               | J6P       | J6H       | basis                                             |
 * | ----------------------------------- | --------- | --------- | ------------------------------------------------- |
 * | bpu.macsPerSecond.int8xint8         | 280e12    | 210e12    | public: 560 / 420 TOPS int8, 2 ops per MAC        |
 * | bpu.macsPerSecond.int16xint8        | 140e12    | 105e12    | assumption: ½ of int8 × int8                      |
 * | bpu.macsPerSecond.int16xint16       | 70e12     | 52.5e12   | assumption: ¼ of int8 × int8                      |
 * | bpu.float32OutputElementsPerSecond  | 280e9     | 210e9     | assumption: int32 → float32 at the VPU rate       |
 * | bpu.gemmEfficiency                  | 0.3       | 0.3       | fitted: fraction of the peak MAC rate reached     |
 * | bpu.reductionLanes                  | 16        | 16        | fitted: input channels per MAC-array step         |
 * | bpu.opOverheadSeconds               | 1.5e-6    | 1.5e-6    | fitted: fixed cost per BPU layer                  |
 * | vpu.elementsPerSecond.{q, dq, rescale, dataMovement} | 280e9 | 210e9 | assumption: 1/1000 of the int8 MAC rate |
 * | vpu.elementsPerSecond.floatIsland   | 140e9     | 105e9     | assumption: ½ of the integer elementwise rate     |
 * | vpu.opOverheadSeconds               | 1e-6      | 1e-6      | assumption                                        |
 * | ddr.bytesPerSecond                  | 204.8e9   | 204.8e9   | assumption: 256-bit LPDDR5-6400                   |
 * | sram.activationBytes                | 2 MiB     | 2 MiB     | fitted: an activation this small stays on chip    |
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

function nashHChip(chip: 'J6P' | 'J6H', tops: number) {
  return nashChipPerf({
    chip,
    bpu: 'Nash-H',
    tops,
    topsSource: SOURCES[chip],
    ddrBytesPerSecond: 204.8e9,
    ddrNote: 'no public figure; a 256-bit LPDDR5-6400 interface = 204.8 GB/s, reached in full (a roofline peak)',
    float32OutputNote:
      'a GEMM emitting float32 converts its int32 accumulators (× per-channel scale) in the output stage at the VPU element-wise rate; conservative — if the conversion is free, set it very high',
  });
}

/** Nash-H's chips; J6P by default. */
export const nashHPerf: MarchPerf = {
  defaultChip: 'J6P',
  chips: [nashHChip('J6P', 560), nashHChip('J6H', 420)],
};
