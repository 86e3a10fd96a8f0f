import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../core/context.js';
import { listWorks, type Work } from '../core/works/works.js';
import { listActions, listResults } from '../core/works/actions.js';
import { workEntityLabel, workSubjects, type WorkEntity } from '../core/works/subjects.js';
import { dateInZone } from '../core/validation/time.js';
import { hasRole } from './render.js';
import { cardPath, userNames } from './lists.js';

/** The record a works block belongs to: exactly one is set. */
export type WorkLink = { leadId?: number; dealId?: number; contactId?: number; counterpartyId?: number };


/** A datetime-local input's value for an instant, in the person's zone: «2026-11-25T10:00». */
export function datetimeLocal(at: Date, timeZone: string): string {
  const hm = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
  return `${dateInZone(at, timeZone)}T${hm}`;
}

/**
 * What a row of works (partials/work-row.eta) needs besides the work: names of actions, results,
 * people and linked records, the results each action allows, and who may assign.
 */
export async function workRowLookups(ctx: ServiceContext, req: FastifyRequest, list: Work[]) {
  const tz = req.adminUser?.timeZone ?? 'Europe/Moscow';
  const [actions, results, people, subjects] = await Promise.all([listActions(ctx), listResults(ctx), userNames(ctx), workSubjects(ctx, list)]);
  return {
    actions,
    results,
    actionName: Object.fromEntries(actions.map((a) => [a.id, a.name])) as Record<number, string>,
    resultName: Object.fromEntries(results.map((r) => [r.id, r.name])) as Record<number, string>,
    actionResults: Object.fromEntries(actions.map((a) => [a.id, a.results])) as Record<number, { id: number; name: string }[]>,
    users: people.users.filter((u) => u.active),
    userName: people.userName,
    subjects,
    entityLabel: workEntityLabel,
    subjectHref: (s: { entity: WorkEntity; id: number }) => `/admin/${cardPath[s.entity]}/${s.id}?tab=works`,
    canAssign: hasRole(req, 'admin', 'head'),
    meId: req.adminUser?.id ?? 0,
    now: ctx.clock.now(),
    localInput: (d: Date) => datetimeLocal(new Date(d), tz),
  };
}
export type WorkRowLookups = Awaited<ReturnType<typeof workRowLookups>>;

/**
 * The data of the «Работы» block on a record's card: its works (planned first, then finished) with
 * their actions, and the form that plans one more on the same record. Rendered by
 * partials/works-block.eta, which takes `it.f` and `it.csrf` from the page; `back` is where its forms return.
 */
export async function worksBlock(ctx: ServiceContext, req: FastifyRequest, link: WorkLink, back: string) {
  const works = await listWorks(ctx, link, { limit: 200 });
  const [field, id] = (Object.entries(link).find(([, v]) => typeof v === 'number') ?? ['leadId', 0]) as [keyof WorkLink, number];
  return { works, L: await workRowLookups(ctx, req, works), linkField: field, linkId: id, back };
}
