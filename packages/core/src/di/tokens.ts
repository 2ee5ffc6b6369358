import type { ServiceIdentifier } from 'inversify';
import type { March } from '../march/march.js';
import type { QuantTemplate } from '../march/template.js';
import type { Pass } from '../pass/pass.js';
import type { ObserverFactory } from '../quant/observer.js';

/** Service identifiers. Many plugins bind under one token; core reads them with getAll. */
export const PASS: ServiceIdentifier<Pass> = Symbol.for('quantkit/Pass');
export const OBSERVER: ServiceIdentifier<ObserverFactory> = Symbol.for('quantkit/Observer');
export const MARCH: ServiceIdentifier<March> = Symbol.for('quantkit/March');
export const TEMPLATE: ServiceIdentifier<QuantTemplate> = Symbol.for('quantkit/Template');
