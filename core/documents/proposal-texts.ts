import { eq } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { documentTemplates } from '../db/schema/index.js';

/** What a new КП says before and after its table, until an admin writes the team's own on «Шаблоны документов». */
export const builtInProposalTexts = {
  intro:
    'Благодарим за интерес к нашей компании. По вашему запросу подготовили предложение: состав работ и товаров, цены и сроки приведены ниже. ' +
    'Будем рады ответить на вопросы и подобрать вариант под ваши задачи.',
  terms:
    'Оплата: 100% предоплата по счёту, если не согласовано иное.\nСроки: начинаем в течение 3 рабочих дней после оплаты.\n' +
    'Цены указаны в рублях с учётом НДС, если он применяется.',
};

export async function proposalDefaults(ctx: ServiceContext): Promise<{ intro: string; terms: string }> {
  const [t] = await ctx.db
    .select({ intro: documentTemplates.introText, terms: documentTemplates.termsText })
    .from(documentTemplates)
    .where(eq(documentTemplates.kind, 'proposal'));
  return { intro: t?.intro || builtInProposalTexts.intro, terms: t?.terms || builtInProposalTexts.terms };
}
