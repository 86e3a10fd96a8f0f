import { placeholders as placeholderSet } from '../shared/placeholders.js';

export const placeholders = ['name', 'company', 'manager', 'unsubscribe'] as const;
export type Placeholder = (typeof placeholders)[number];

const letter = placeholderSet(placeholders);

/** Refuses a template with a placeholder nobody fills, naming the field it is in. */
export const checkTemplate = (field: string, template: string): void => letter.check(field, template);

export const render = (template: string, values: Record<Placeholder, string>): string => letter.render(template, values);
