import { templateFromOption, type PassContext } from '@quantkit/core';

/** The template's highPrecisionOutput, from the options prepare passes; true when no template is given. */
export function highPrecisionWanted(context: PassContext): boolean {
  return templateFromOption(context.options.template)?.highPrecisionOutput ?? true;
}
