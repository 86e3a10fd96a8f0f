import type { ServiceContext } from '../context.js';
import type { AnswerTemplate } from './types.js';

// CONTRACT (helper C owns this file).

/** The placeholders an answer template may hold, and what fills them. */
export const answerPlaceholders = ['имя', 'клиент', 'компания', 'менеджер', 'номер', 'тема'] as const;

export async function listAnswerTemplates(ctx: ServiceContext, opts: { includeInactive?: boolean } = {}): Promise<AnswerTemplate[]> {
  void [ctx, opts];
  throw new Error('not implemented');
}

export async function getAnswerTemplate(ctx: ServiceContext, id: number): Promise<AnswerTemplate> {
  void [ctx, id];
  throw new Error('not implemented');
}

/** Admin/head: create or change; an unknown {{placeholder}} is refused naming it. */
export async function saveAnswerTemplate(ctx: ServiceContext, id: number | null, input: { title: string; body: string; active?: boolean; sortOrder?: number }): Promise<AnswerTemplate> {
  void [ctx, id, input];
  throw new Error('not implemented');
}

export async function deleteAnswerTemplate(ctx: ServiceContext, id: number): Promise<void> {
  void [ctx, id];
  throw new Error('not implemented');
}

/** The template's text for a ticket, placeholders filled (the acting user is {{менеджер}}). */
export async function fillAnswerTemplate(ctx: ServiceContext, templateId: number, ticketId: number): Promise<string> {
  void [ctx, templateId, ticketId];
  throw new Error('not implemented');
}
