import { invalid } from '../errors.js';

/** {{name}}; spaces inside the braces are allowed, so {{ name }} is {{name}} */
const RE = /\{\{\s*([^{}\s]+)\s*\}\}/g;

/**
 * Placeholders of a text someone keeps in the CRM (a mail-out letter, an answer template): the
 * names a kind of text allows are given, and a text naming anything else is refused when saved,
 * so a typo is seen then and not by a client in a sent message.
 */
export function placeholders<const N extends string>(names: readonly N[]) {
  const known = (key: string): key is N => (names as readonly string[]).includes(key);
  return {
    names,
    /** Refuses a text with a placeholder nobody fills, naming it (in `field`) and listing the ones there are. */
    check(field: string, text: string): void {
      for (const m of text.matchAll(RE)) {
        if (!known(m[1]!)) throw invalid({ [field]: `неизвестная подстановка {{${m[1]}}}; доступны ${names.map((n) => `{{${n}}}`).join(', ')}` });
      }
    },
    /** The text with every known placeholder filled; an unknown one (a text saved before the check) stays as written. */
    render(text: string, values: Record<N, string>): string {
      return text.replace(RE, (all, key: string) => (known(key) ? values[key] : all));
    },
  };
}
