import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { calls, plans } from '../db/schema/index.js';
import type { CallStatus } from '../db/schema/index.js';
import type { User } from '../users/users.js';
import { createLine, setUserExtensions } from '../telephony/lines.js';
import { createCallRule } from '../telephony/rules.js';
import { Random } from './random.js';

/** A client conversation of the demo (a lead or a deal) the team phoned about. */
export interface DemoCallSubject {
  manager: User;
  start: Date;
  end: Date;
  contactId: number | null;
  counterpartyId: number | null;
  phone: string | null;
  leadId: number | null;
  dealId: number | null;
}

const MINUTE = 60_000;

/**
 * Telephony for the demo (R20): two Mango lines, the team's extensions, the rules of «Прием звонков IP»,
 * and the calls of the last months on the clients' cards (answered ones with a duration, missed and
 * unanswered ones), so «Звонки», the cards' tabs and plan vs actual (R4) have something to show. Its own
 * random sequence: the rest of the demo data stays as it was before telephony existed.
 */
export async function loadDemoTelephony(
  ctx: ServiceContext,
  team: { head: User; managers: User[] },
  subjects: DemoCallSubject[],
  now: Date,
): Promise<{ lines: number; calls: number }> {
  const rnd = new Random(20_261_202);
  const main = await createLine(ctx, { provider: 'mango', number: '+74951204567', name: 'Основной' });
  const sales = await createLine(ctx, { provider: 'mango', number: '+74951204568', name: 'Отдел продаж' });
  await setUserExtensions(ctx, team.head.id, { mango: '100' });
  for (const [i, m] of team.managers.entries()) await setUserExtensions(ctx, m.id, { mango: String(101 + i) });
  await createCallRule(ctx, { name: 'Клиент звонит своему менеджеру', target: 'responsible' });
  await createCallRule(ctx, { name: 'Новые клиенты — менеджерам сегмента', target: 'segment' });
  await createCallRule(ctx, { name: 'Остальные — дежурным по кругу', target: 'duty' });

  const rows: (typeof calls.$inferInsert)[] = [];
  for (const s of subjects) {
    if (!s.phone) continue;
    const until = Math.min(s.end.getTime(), now.getTime() - 30 * MINUTE);
    const n = rnd.int(0, 3);
    for (let k = 0; k < n && until > s.start.getTime(); k++) {
      const at = new Date(s.start.getTime() + Math.floor(rnd.float() * (until - s.start.getTime())));
      const incoming = rnd.chance(0.45);
      const roll = rnd.float();
      const status: CallStatus = roll < 0.75 ? 'answered' : incoming ? 'missed' : roll < 0.9 ? 'no_answer' : 'busy';
      const durationSec = status === 'answered' ? rnd.int(40, 600) : 0;
      const line = rnd.chance(0.6) ? main : sales;
      const ext = String(101 + team.managers.findIndex((m) => m.id === s.manager.id));
      rows.push({
        direction: incoming ? 'in' : 'out',
        fromNumber: incoming ? s.phone : ext,
        toNumber: incoming ? line.number : s.phone,
        clientNumber: s.phone,
        contactId: s.contactId,
        counterpartyId: s.counterpartyId,
        leadId: s.leadId,
        dealId: s.dealId,
        userId: s.manager.id,
        provider: 'mango',
        lineId: line.id,
        providerCallId: `demo-${rows.length + 1}`,
        status,
        durationSec,
        answeredAt: status === 'answered' ? new Date(at.getTime() + rnd.int(3, 25) * 1000) : null,
        endedAt: new Date(at.getTime() + (durationSec + rnd.int(5, 40)) * 1000),
        at,
        updatedAt: at,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 500) await ctx.db.insert(calls).values(rows.slice(i, i + 500));

  // plans gain a calls target in proportion to what each manager talked in the month
  const monthPlans = await ctx.db.select().from(plans);
  for (const p of monthPlans) {
    const [done] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(calls)
      .where(and(eq(calls.userId, p.userId), eq(calls.status, 'answered'), gte(calls.at, new Date(`${p.periodStart}T00:00:00+03:00`)), lt(calls.at, new Date(new Date(`${p.periodEnd}T00:00:00+03:00`).getTime() + 24 * 60 * MINUTE))));
    await ctx.db.update(plans).set({ callsCount: Math.max(10, Math.round((done?.n ?? 0) * (1.1 + rnd.float() * 0.4))) }).where(eq(plans.id, p.id));
  }
  return { lines: 2, calls: rows.length };
}
