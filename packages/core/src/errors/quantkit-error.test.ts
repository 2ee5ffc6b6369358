import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './codes.js';
import { isQuantkitError, QuantkitError } from './quantkit-error.js';

describe('QuantkitError', () => {
  it('carries code, message, hint, subject and cause', () => {
    const cause = new Error('ENOENT');
    const error = new QuantkitError('QK_FILE_NOT_FOUND', 'model.onnx does not exist.', {
      cause,
      hint: 'Check the path.',
      subject: 'model.onnx',
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'QuantkitError', code: 'QK_FILE_NOT_FOUND', hint: 'Check the path.', subject: 'model.onnx' });
    expect(error.message).toBe('model.onnx does not exist.');
    expect(error.cause).toBe(cause);
    expect(isQuantkitError(error)).toBe(true);
    expect(isQuantkitError(cause)).toBe(false);
  });

  it('has no cause property when none is given', () => {
    expect('cause' in new QuantkitError('QK_USAGE', 'bad flag')).toBe(false);
  });
});

describe('ERROR_CODES', () => {
  it('are unique, alphabetised and prefixed QK_', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect([...ERROR_CODES].sort()).toEqual([...ERROR_CODES]);
    expect(ERROR_CODES.every((code) => /^QK_[A-Z0-9_]+$/.test(code))).toBe(true);
  });
});
