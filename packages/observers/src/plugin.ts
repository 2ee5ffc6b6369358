import { ContainerModule, OBSERVER, packageVersion, type QuantkitPlugin } from '@quantkit/core';
import { minMaxObserverFactory } from './min-max-observer.js';
import { mseObserverFactory } from './mse-observer.js';

export const observersPlugin: QuantkitPlugin = {
  name: '@quantkit/observers',
  version: packageVersion(import.meta.url),
  module: new ContainerModule(({ bind }) => {
    bind(OBSERVER).toConstantValue(minMaxObserverFactory);
    bind(OBSERVER).toConstantValue(mseObserverFactory);
  }),
};
