import { invalid } from '../errors.js';

export const placeholders = ['name', 'company', 'manager', 'unsubscribe'] as const;
export type Placeholder = (typeof placeholders)[number];

const RE = /\{\{\s*([^{}\s]+)\s*\}\}/g;

/** Refuses a template with a placeholder nobody fills, naming the field it is in. */
export function checkTemplate(field: string, template: string): void {
  for (const m of template.matchAll(RE)) {
    if (!placeholders.includes(m[1]! as Placeholder)) {
      throw invalid({ [field]: `неизвестная подстановка {{${m[1]}}}; доступны {{name}}, {{company}}, {{manager}}, {{unsubscribe}}` });
    }
  }
}

export function render(template: string, values: Record<Placeholder, string>): string {
  return template.replace(RE, (all, key: string) => (placeholders.includes(key as Placeholder) ? values[key as Placeholder] : all));
}
