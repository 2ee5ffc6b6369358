import { QuantkitError } from '../errors/quantkit-error.js';
import type { QuantTemplate } from '../march/template.js';

/** Horizon's default_calibration_qconfig_setter: int8 everywhere, GEMM-like model outputs at high precision. */
export const INT8_TEMPLATE: QuantTemplate = Object.freeze({
  name: 'int8',
  summary: 'qint8 activations, qint8 per-channel weights, high-precision GEMM outputs (default_calibration)',
  activation: 'qint8',
  weight: 'qint8',
  highPrecisionOutput: true,
});

/** Horizon's calibration_8bit_weight_16bit_act_qconfig_setter. */
export const INT16_TEMPLATE: QuantTemplate = Object.freeze({
  name: 'int16',
  summary: 'qint16 activations, qint8 per-channel weights, high-precision GEMM outputs (calibration_8bit_weight_16bit_act)',
  activation: 'qint16',
  weight: 'qint8',
  highPrecisionOutput: true,
});

/**
 * Horizon's "double int16": int16 activations and int16 per-channel weights. A GEMM with a high-precision output
 * keeps int8 weights (its output needs no requantization, and the march takes int16 weights only with a quantized
 * output), so the model's last GEMMs are as in the int16 template.
 */
export const INT16W_TEMPLATE: QuantTemplate = Object.freeze({
  name: 'int16w',
  summary: 'qint16 activations, qint16 per-channel weights ("double int16"), high-precision GEMM outputs with qint8 weights',
  activation: 'qint16',
  weight: 'qint16',
  highPrecisionOutput: true,
});

export const BUILTIN_TEMPLATES: readonly QuantTemplate[] = Object.freeze([INT8_TEMPLATE, INT16_TEMPLATE, INT16W_TEMPLATE]);

/** The template named `name` among `available` (the built-in ones unless a caller adds its plugins'). */
export function templateByName(name: string, available: readonly QuantTemplate[] = BUILTIN_TEMPLATES): QuantTemplate {
  const template = available.find((t) => t.name === name);
  if (!template) {
    throw new QuantkitError('QK_CONFIG', `Unknown quantization template '${name}'.`, {
      hint: `Known templates: ${available.map((t) => t.name).join(', ')}.`,
      subject: name,
    });
  }
  return template;
}

/**
 * The template a pass option names: a template object as prepare passes it, or a name looked up among the
 * built-in templates; undefined when the option is absent.
 */
export function templateFromOption(option: unknown): QuantTemplate | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'string') return templateByName(option);
  if (isQuantTemplate(option)) return option;
  throw new QuantkitError('QK_CONFIG', 'The `template` option must be a template name or a QuantTemplate object.', {
    hint: `Known templates: ${BUILTIN_TEMPLATES.map((t) => t.name).join(', ')}.`,
  });
}

function isQuantTemplate(value: unknown): value is QuantTemplate {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Partial<QuantTemplate>;
  return (
    typeof t.name === 'string' &&
    (t.activation === 'qint8' || t.activation === 'qint16') &&
    (t.weight === 'qint8' || t.weight === 'qint16') &&
    typeof t.highPrecisionOutput === 'boolean'
  );
}
