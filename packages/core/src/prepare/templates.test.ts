import { describe, expect, it } from 'vitest';
import { isQuantkitError } from '../errors/quantkit-error.js';
import type { QuantTemplate } from '../march/template.js';
import { BUILTIN_TEMPLATES, INT16_TEMPLATE, INT8_TEMPLATE, templateByName, templateFromOption } from './templates.js';

describe('templates', () => {
  it('int8 is Horizon default_calibration: qint8 activations and weights, high-precision outputs', () => {
    expect(templateByName('int8')).toMatchObject({ activation: 'qint8', weight: 'qint8', highPrecisionOutput: true });
  });

  it('int16 is calibration_8bit_weight_16bit_act: qint16 activations, qint8 weights, high-precision outputs', () => {
    expect(templateByName('int16')).toMatchObject({ activation: 'qint16', weight: 'qint8', highPrecisionOutput: true });
  });

  it('int16w is "double int16": qint16 activations and weights, high-precision outputs', () => {
    expect(templateByName('int16w')).toMatchObject({ activation: 'qint16', weight: 'qint16', highPrecisionOutput: true });
  });

  it('lists the built-in templates', () => {
    expect(BUILTIN_TEMPLATES.map((t) => t.name)).toEqual(['int8', 'int16', 'int16w']);
  });

  it('takes a plugin template object with qint16 weights', () => {
    const template: QuantTemplate = { name: 'w16', summary: 'w16', activation: 'qint8', weight: 'qint16', highPrecisionOutput: false };
    expect(templateFromOption(template)).toBe(template);
  });

  it('rejects an unknown name with QK_CONFIG listing the known ones', () => {
    try {
      templateByName('int4');
      expect.unreachable();
    } catch (error) {
      expect(isQuantkitError(error) && error.code).toBe('QK_CONFIG');
      expect((error as Error).message).toContain("'int4'");
      expect(isQuantkitError(error) && error.hint).toContain('int8, int16');
    }
  });

  it('finds a plugin template when the caller passes the available ones', () => {
    const mine: QuantTemplate = { ...INT8_TEMPLATE, name: 'mine', highPrecisionOutput: false };
    expect(templateByName('mine', [...BUILTIN_TEMPLATES, mine])).toBe(mine);
  });

  it('reads a pass option: a name, a template object, or nothing', () => {
    expect(templateFromOption('int16')).toBe(INT16_TEMPLATE);
    expect(templateFromOption(INT8_TEMPLATE)).toBe(INT8_TEMPLATE);
    expect(templateFromOption(undefined)).toBeUndefined();
    expect(() => templateFromOption(42)).toThrow(/template name or a QuantTemplate/);
  });
});
