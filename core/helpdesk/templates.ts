import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { answerTemplates, contacts, counterparties, users } from '../db/schema/index.js';
import { notFound } from '../errors.js';
import { placeholders } from '../shared/placeholders.js';
import { parseInput } from '../shared/input.js';
import { audit, diff } from '../shared/audit.js';
import { requireRole, requireUser } from '../access/scope.js';
import { getTicket } from './tickets.js';
import type { AnswerTemplate } from './types.js';

/** The placeholders an answer template may hold, and what fills them. */
export const answerPlaceholders = ['имя', 'клиент', 'компания', 'менеджер', 'номер', 'тема'] as const;
export type AnswerPlaceholder = (typeof answerPlaceholders)[number];

const answer = placeholders(answerPlaceholders);

/** Refuses a text with a placeholder nobody fills, naming it and listing the ones there are. */
export const checkAnswerTemplate = (field: string, body: string): void => answer.check(field, body);

export const renderAnswerTemplate = (body: string, values: Record<AnswerPlaceholder, string>): string => answer.render(body, values);

/**
 * «Иванов Иван Иванович» → «Иван» (a patronymic last tells the surname comes first);
 * «Иван Петров», «Иван» → «Иван». A greeting reads the name a person is called by.
 */
export function firstNameOf(fullName: string): string {
  const words = fullName.trim().split(/\s+/).filter(Boolean);
  if (words.length === 3 && /(вич|ич|вна|чна|оглы|улы|кызы)$/i.test(words[2]!)) return words[1]!;
  return words[0] ?? '';
}

const templateInput = z.object({
  title: z.string('укажите название').trim().min(1, 'укажите название').max(200, 'название не длиннее 200 символов'),
  body: z.string('укажите текст').trim().min(1, 'укажите текст').max(4000, 'текст не длиннее 4000 символов'),
  active: z.boolean().optional(),
  sortOrder: z.coerce.number('порядок: целое число').int('порядок: целое число').min(-1_000_000).max(1_000_000).optional(),
});

const validId = (id: number) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647;

/** Everyone signed in reads the book (a manager picks a template to answer with); the system too. */
function requireReader(ctx: ServiceContext): void {
  if (ctx.actor.kind === 'system') return;
  requireUser(ctx);
}

/** The book in its order; switched-off templates only when asked (the panel's list). */
export async function listAnswerTemplates(ctx: ServiceContext, opts: { includeInactive?: boolean } = {}): Promise<AnswerTemplate[]> {
  requireReader(ctx);
  return ctx.db
    .select()
    .from(answerTemplates)
    .where(opts.includeInactive ? undefined : eq(answerTemplates.active, true))
    .orderBy(asc(answerTemplates.sortOrder), asc(answerTemplates.title), asc(answerTemplates.id));
}

export async function getAnswerTemplate(ctx: ServiceContext, id: number): Promise<AnswerTemplate> {
  requireReader(ctx);
  const [row] = validId(id) ? await ctx.db.select().from(answerTemplates).where(eq(answerTemplates.id, id)) : [];
  if (!row) throw notFound('Шаблон ответа');
  return row;
}

/** Admin/head: create or change; an unknown {{placeholder}} is refused naming it. */
export async function saveAnswerTemplate(
  ctx: ServiceContext,
  id: number | null,
  input: { title: string; body: string; active?: boolean; sortOrder?: number },
): Promise<AnswerTemplate> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(templateInput, input);
  checkAnswerTemplate('body', data.body);
  return inTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    if (id === null) {
      const values = { title: data.title, body: data.body, active: data.active ?? true, sortOrder: data.sortOrder ?? 100 };
      const [row] = await tx.db
        .insert(answerTemplates)
        .values({ ...values, createdBy: tx.actor.kind === 'user' ? tx.actor.userId : null, createdAt: now, updatedAt: now })
        .returning();
      await audit(tx, 'create', 'answer_template', row!.id, diff({}, values));
      return row!;
    }
    const before = await getAnswerTemplate(tx, id);
    const values = { title: data.title, body: data.body, active: data.active ?? before.active, sortOrder: data.sortOrder ?? before.sortOrder };
    const [row] = await tx.db
      .update(answerTemplates)
      .set({ ...values, updatedAt: now })
      .where(eq(answerTemplates.id, id))
      .returning();
    await audit(tx, 'update', 'answer_template', id, diff(before, values));
    return row!;
  });
}

/** Answers already sent keep their text: a template is only where a reply starts from. */
export async function deleteAnswerTemplate(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  await inTransaction(ctx, async (tx) => {
    const [row] = validId(id) ? await tx.db.delete(answerTemplates).where(eq(answerTemplates.id, id)).returning() : [];
    if (!row) throw notFound('Шаблон ответа');
    await audit(tx, 'delete', 'answer_template', id, diff({ title: row.title, body: row.body }, {}));
  });
}

/** The template's text for a ticket, placeholders filled (the acting user is {{менеджер}}). */
export async function fillAnswerTemplate(ctx: ServiceContext, templateId: number, ticketId: number): Promise<string> {
  const template = await getAnswerTemplate(ctx, templateId);
  // getTicket checks the actor may see the ticket: a template cannot read a stranger's client name
  const ticket = await getTicket(ctx, ticketId);
  const [contact] = ticket.contactId
    ? await ctx.db.select({ name: contacts.name, counterpartyId: contacts.counterpartyId }).from(contacts).where(eq(contacts.id, ticket.contactId))
    : [];
  const counterpartyId = ticket.counterpartyId ?? contact?.counterpartyId ?? null;
  const [company] = counterpartyId ? await ctx.db.select({ name: counterparties.name }).from(counterparties).where(eq(counterparties.id, counterpartyId)) : [];
  let manager = '';
  if (ctx.actor.kind === 'user') {
    const [me] = await ctx.db.select({ name: users.name }).from(users).where(eq(users.id, ctx.actor.userId));
    manager = me?.name ?? ctx.actor.name;
  } else if (ticket.assigneeId) {
    // the system answering (a bot flow) speaks for the ticket's assignee
    const [assignee] = await ctx.db.select({ name: users.name }).from(users).where(eq(users.id, ticket.assigneeId));
    manager = assignee?.name ?? '';
  }
  const clientName = contact?.name ?? '';
  return renderAnswerTemplate(template.body, {
    имя: firstNameOf(clientName),
    клиент: clientName,
    компания: company?.name ?? '',
    менеджер: manager,
    номер: String(ticket.id),
    тема: ticket.subject,
  }).trim();
}
