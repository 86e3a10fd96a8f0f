import { formatInZone } from '../../core/validation/time.js';
import { formatKopecks } from '../../core/validation/money.js';
import { formatPhone } from '../../core/validation/phone.js';
import type { BotContext } from './context.js';

/** Everything we print goes through HTML parse mode, so user data is escaped. */
export const esc = (s: unknown) => String(s ?? '').replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

export const when = (ctx: BotContext, d: Date | null | undefined) => (d ? formatInZone(d, ctx.staff?.timeZone ?? 'Europe/Moscow') : '—');
export const money = (k: bigint, currency = 'RUB') => formatKopecks(k, currency);
export const phone = (p: string) => formatPhone(p);

export { leadSourceLabels as leadSourceLabel } from '../../core/leads/labels.js';

/** one label per status, shared with the panel */
export { leadStatusLabel } from '../../core/leads/labels.js';

/** ▓▓▓▓▓░░░░░ 50% */
export function progressBar(actual: number, plan: number, width = 10): string {
  if (plan <= 0) return actual > 0 ? `${'▓'.repeat(width)} план не задан` : '—';
  const ratio = actual / plan;
  const filled = Math.min(width, Math.round(ratio * width));
  return `${'▓'.repeat(filled)}${'░'.repeat(width - filled)} ${Math.round(ratio * 100)}%`;
}

export const html = { parse_mode: 'HTML' as const, link_preview_options: { is_disabled: true } };
