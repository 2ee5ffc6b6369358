/** Quantized integer types quantkit produces. Activations: qint8 / qint16; weights: qint8; bias: qint32. */
export type QuantDtype = 'qint8' | 'qint16' | 'qint32';

export const QRANGE: Record<QuantDtype, { qmin: number; qmax: number }> = {
  qint8: { qmin: -128, qmax: 127 },
  qint16: { qmin: -32768, qmax: 32767 },
  qint32: { qmin: -2147483648, qmax: 2147483647 },
};

/** Horizon's scale divisor: (qmax - qmin) / 2, i.e. 127.5 for int8 and 32767.5 for int16. */
export function scaleDivisor(dtype: QuantDtype): number {
  const { qmin, qmax } = QRANGE[dtype];
  return (qmax - qmin) / 2;
}
