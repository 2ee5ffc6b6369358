import { NASH_FIT, paramRows, perf, resolvePerfParams, IntegerGraphBuilder, DataType, Tensor } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { nashH } from './nash-h.js';
import { nashHPerf } from './perf-params.js';

describe('nash-h cost-model numbers', () => {
  it('default to J6P and offer J6H, with int8 MAC rates of TOPS ÷ 2 (560 and 420 TOPS)', () => {
    expect(nashH.perf).toBe(nashHPerf);
    expect(resolvePerfParams(nashH).chip.chip).toBe('J6P');
    expect(resolvePerfParams(nashH, { chip: 'J6H' }).chip.chip).toBe('J6H');
    expect(resolvePerfParams(nashH).params.bpu.macsPerSecond.int8xint8).toBe((560 * 1e12) / 2);
    expect(resolvePerfParams(nashH, { chip: 'J6H' }).params.bpu.macsPerSecond.int8xint8).toBe((420 * 1e12) / 2);
  });

  it('take the fitted numbers shared by every Nash chip (NASH_FIT, not per model), each noted as fitted', () => {
    for (const chip of nashHPerf.chips) {
      const { gemmEfficiency, reductionLanes, opOverheadSeconds } = chip.params.bpu;
      expect({ gemmEfficiency, reductionLanes, opOverheadSeconds, sram: chip.params.sram.activationBytes }).toEqual({
        gemmEfficiency: NASH_FIT.gemmEfficiency,
        reductionLanes: NASH_FIT.reductionLanes,
        opOverheadSeconds: NASH_FIT.layerOverheadSeconds,
        sram: NASH_FIT.activationSramBytes,
      });
      for (const param of ['bpu.gemmEfficiency', 'bpu.reductionLanes', 'bpu.opOverheadSeconds', 'sram.activationBytes']) {
        expect(paramRows(chip).find((r) => r.param === param)!.note, param).toMatch(/fitted to hb_compile static estimates/);
      }
    }
  });

  it('document every number: the int8 rate as public with its source, everything else as an assumption', () => {
    for (const chip of nashHPerf.chips) {
      const rows = paramRows(chip);
      for (const row of rows) {
        expect(row.note.length, row.param).toBeGreaterThan(10);
        expect(row.value, row.param).toBeGreaterThan(0);
      }
      const publicRows = rows.filter((r) => r.basis === 'public');
      expect(publicRows.map((r) => r.param)).toEqual(['bpu.macsPerSecond.int8xint8']);
      expect(publicRows[0]!.source).toContain(chip.chip === 'J6P' ? '560 TOPS' : '420 TOPS');
      const { macsPerSecond } = chip.params.bpu;
      expect(macsPerSecond.int16xint8).toBeLessThan(macsPerSecond.int8xint8);
      expect(macsPerSecond.int16xint16).toBeLessThan(macsPerSecond.int16xint8);
    }
  });

  it('drive perf: a MatMul on J6H takes 560/420 times as long to compute as on J6P', () => {
    const b = new IntegerGraphBuilder('mm');
    const x = b.quantize(b.input('x', DataType.FLOAT, [64, 512]), { scale: 0.1, dtype: 'int8' });
    const w = b.initializer('w', Tensor.fromArray(new Int8Array(512 * 512), [512, 512]));
    b.output(b.matmul(x, w, undefined, { name: 'mm', outDtype: 'int8' }));
    const model = b.model();
    const compute = (chip?: string) => perf(model, nashH, { chip }).ops.find((o) => o.name === 'mm')!.computeUs;
    expect(compute('J6H') / compute()).toBeCloseTo(560 / 420, 9);
  });
});
