import { ContainerModule, MARCH, packageVersion, type QuantkitPlugin } from '@quantkit/core';
import { nashH } from './nash-h.js';

export const marchNashHPlugin: QuantkitPlugin = {
  name: '@quantkit/march-nash-h',
  version: packageVersion(import.meta.url),
  module: new ContainerModule(({ bind }) => {
    bind(MARCH).toConstantValue(nashH);
  }),
};
