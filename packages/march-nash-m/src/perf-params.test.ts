import { NASH_FIT, paramRows, perf, resolvePerfParams, IntegerGraphBuilder, DataType, Tensor } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { nashM } from './nash-m.js';
import { nashMPerf } from './perf-params.js';

describe('nash-m cost-model numbers', () => {
  it('default to J6M and offer J6E, with int8 MAC rates of TOPS ÷ 2 (128 and 80 TOPS)', () => {
    expect(nashM.perf).toBe(nashMPerf);
    expect(resolvePerfParams(nashM).chip.chip).toBe('J6M');
    expect(resolvePerfParams(nashM, { chip: 'J6E' }).chip.chip).toBe('J6E');
    expect(resolvePerfParams(nashM).params.bpu.macsPerSecond.int8xint8).toBe((128 * 1e12) / 2);
    expect(resolvePerfParams(nashM, { chip: 'J6E' }).params.bpu.macsPerSecond.int8xint8).toBe((80 * 1e12) / 2);
  });

  it('take the fitted numbers shared by every Nash chip (NASH_FIT, not per model), each noted as fitted', () => {
    for (const chip of nashMPerf.chips) {
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
    for (const chip of nashMPerf.chips) {
      const rows = paramRows(chip);
      for (const row of rows) {
        expect(row.note.length, row.param).toBeGreaterThan(10);
        expect(row.value, row.param).toBeGreaterThan(0);
      }
      const publicRows = rows.filter((r) => r.basis === 'public');
      expect(publicRows.map((r) => r.param)).toEqual(['bpu.macsPerSecond.int8xint8']);
      expect(publicRows[0]!.source).toContain(chip.chip === 'J6M' ? '128 TOPS' : '80 TOPS');
      const { macsPerSecond } = chip.params.bpu;
      expect(macsPerSecond.int16xint8).toBeLessThan(macsPerSecond.int8xint8);
      expect(macsPerSecond.int16xint16).toBeLessThan(macsPerSecond.int16xint8);
    }
  });

  it('drive perf: a MatMul on J6E takes 128/80 times as long to compute as on J6M', () => {
    const b = new IntegerGraphBuilder('mm');
    const x = b.quantize(b.input('x', DataType.FLOAT, [64, 512]), { scale: 0.1, dtype: 'int8' });
    const w = b.initializer('w', Tensor.fromArray(new Int8Array(512 * 512), [512, 512]));
    b.output(b.matmul(x, w, undefined, { name: 'mm', outDtype: 'int8' }));
    const model = b.model();
    const compute = (chip?: string) => perf(model, nashM, { chip }).ops.find((o) => o.name === 'mm')!.computeUs;
    expect(compute('J6E') / compute()).toBeCloseTo(128 / 80, 9);
  });
});
