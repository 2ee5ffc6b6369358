import { ContainerModule, MARCH, packageVersion, type QuantkitPlugin } from '@quantkit/core';
import { nashM } from './nash-m.js';

export const marchNashMPlugin: QuantkitPlugin = {
  name: '@quantkit/march-nash-m',
  version: packageVersion(import.meta.url),
  module: new ContainerModule(({ bind }) => {
    bind(MARCH).toConstantValue(nashM);
  }),
};
