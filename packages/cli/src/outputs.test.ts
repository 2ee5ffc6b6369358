import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isQuantkitError } from '@quantkit/core';
import { UsageError } from './options.js';
import { makeOutputFolder, refuseOutputFolderClash } from './outputs.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-outputs-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('output folders', () => {
  it('an --out that is an existing file is a usage error naming it; a folder or a new path is fine', () => {
    const file = path.join(work, 'file');
    fs.writeFileSync(file, '');
    expect(() => refuseOutputFolderClash(file)).toThrow(UsageError);
    expect(() => refuseOutputFolderClash(file)).toThrow(file);
    expect(() => refuseOutputFolderClash(work)).not.toThrow();
    expect(() => refuseOutputFolderClash(path.join(work, 'new', 'deeper'))).not.toThrow();
  });

  it('a folder that cannot be created is QK_FILE_WRITE naming it', () => {
    const blocked = path.join(work, 'blocker');
    fs.writeFileSync(blocked, '');
    const target = path.join(blocked, 'out');
    let error: unknown;
    try {
      makeOutputFolder(target);
    } catch (e) {
      error = e;
    }
    expect(isQuantkitError(error) && error.code).toBe('QK_FILE_WRITE');
    expect((error as Error).message).toContain(target);
    makeOutputFolder(path.join(work, 'a', 'b'));
    expect(fs.statSync(path.join(work, 'a', 'b')).isDirectory()).toBe(true);
  });
});
