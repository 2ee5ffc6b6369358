import { isQuantkitError, type QuantkitError } from '../errors/quantkit-error.js';

/** For tests: the QuantkitError `fn` throws. Anything else thrown, or nothing thrown, fails the test. */
export function errorOf(fn: () => unknown): QuantkitError {
  try {
    fn();
  } catch (error) {
    if (isQuantkitError(error)) return error;
    throw error;
  }
  throw new Error('expected a QuantkitError');
}
