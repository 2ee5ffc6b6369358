import { QuantkitError } from '../errors/quantkit-error.js';
import { encodeNpy, parseNpy } from './npy.js';
import type { NpyArray } from './npy.js';
import { encodeZip, readZip } from './zip.js';

/**
 * Reads a NumPy `.npz` archive (numpy.savez or numpy.savez_compressed) into arrays keyed by member name without
 * the `.npy` suffix. Every member must be an `.npy` file; errors are `QK_CALIB_DATA` and name `file` and the member.
 */
export function readNpz(bytes: Uint8Array, file?: string): Map<string, NpyArray> {
  const archive = file ?? 'NPZ data';
  const arrays = new Map<string, NpyArray>();
  for (const { name, data } of readZip(bytes, archive)) {
    if (!name.endsWith('.npy')) {
      throw new QuantkitError('QK_CALIB_DATA', `${archive}: member '${name}' is not an .npy array`, {
        subject: archive,
        hint: 'An .npz file must hold only arrays; write it with numpy.savez(path, name=array, ...).',
      });
    }
    const key = name.slice(0, -'.npy'.length);
    if (arrays.has(key)) {
      throw new QuantkitError('QK_CALIB_DATA', `${archive}: array '${key}' appears twice`, {
        subject: archive,
        hint: 'Write the archive again with numpy.savez; each array name must be unique.',
      });
    }
    arrays.set(key, parseNpy(data, `${archive} (array '${key}')`));
  }
  return arrays;
}

/**
 * Encodes arrays as an `.npz` archive readable by numpy.load; members are stored (or deflated with `compress`,
 * like numpy.savez_compressed).
 */
export function encodeNpz(
  arrays: Iterable<readonly [string, NpyArray]> | Readonly<Record<string, NpyArray>>,
  options: { compress?: boolean } = {},
): Uint8Array {
  const pairs =
    Symbol.iterator in arrays ? [...(arrays as Iterable<readonly [string, NpyArray]>)] : Object.entries(arrays);
  return encodeZip(
    pairs.map(([name, array]) => ({ name: `${name}.npy`, data: encodeNpy(array) })),
    options,
  );
}
