import { ContainerModule, PASS } from '@quantkit/core';
import { int16IntoSoftmax } from './int16-into-softmax.js';

export { int16IntoSoftmax };

/**
 * The plugin: a name and one ContainerModule that binds the pass under core's PASS token. With no `version`
 * here, `quantkit plugins` reports the one in package.json.
 * @type {import('@quantkit/core').QuantkitPlugin}
 */
const plugin = {
  name: '@quantkit-examples/custom-pass',
  module: new ContainerModule(({ bind }) => {
    bind(PASS).toConstantValue(int16IntoSoftmax);
  }),
};

export default plugin;
