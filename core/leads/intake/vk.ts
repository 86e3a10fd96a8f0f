import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../../context.js';
import { contacts, leads, vkMessages, vkUsers } from '../../db/schema/index.js';
import { invalid } from '../../errors.js';
import { parseInput } from '../../shared/input.js';
import { audit, created, recordHistory } from '../../shared/audit.js';
import type { Contact } from '../../contacts/contacts.js';
import { notify } from '../../notifications/notify.js';
import { normalizePhone } from '../../validation/phone.js';
import { normalizeEmail } from '../../validation/email.js';
import { createLead } from '../leads.js';
import { openLeadOrDeal, requestRecipients, type OpenLead } from '../open-request.js';
import { cleanDeep } from '../../validation/text.js';
import { submitWebLead } from './web-leads.js';
import type { WebhookSource } from './webhook-sources.js';

/**
 * VK's Callback API for one community (a `vk` webhook source): the `confirmation` request, community
 * messages (`message_new`) and lead ads forms (`lead_forms_new`). VK repeats an event until it gets the
 * text `ok`, so every event is taken in once whatever the number of deliveries.
 */

export interface VkEvent {
  type: string;
  object?: unknown;
}

export type VkEventResult =
  | { reply: string; handled: 'confirmation' | 'ignored' }
  | { reply: 'ok'; handled: 'message' | 'lead_form'; leadId: number | null; dealId: number | null; created: boolean; duplicate: boolean };

const OK = 'ok';
/** peer ids from here on are multi-user chats, not a client writing to the community */
const CHAT_PEER_ID = 2_000_000_000;

/**
 * Answers one event of an authenticated source (authenticateVkSource). The reply is the text VK
 * expects back: the confirmation string, or `ok` for everything else, including events the CRM
 * has no use for.
 */
export async function handleVkEvent(ctx: ServiceContext, source: WebhookSource, event: VkEvent): Promise<VkEventResult> {
  switch (event.type) {
    case 'confirmation':
      return { reply: source.vkConfirmation ?? '', handled: 'confirmation' };
    case 'message_new':
      return receiveVkMessage(ctx, source, cleanDeep(event));
    case 'lead_forms_new':
      return receiveVkLeadForm(ctx, source, cleanDeep(event));
    default:
      return { reply: OK, handled: 'ignored' };
  }
}

const required = (what: string) => ({ error: (i: { input: unknown }) => (i.input === undefined ? 'обязательное поле' : what) });
const vkId = () => z.number(required('ожидается целое число')).int('ожидается целое число');

const messageNew = z.object({
  object: z.object(
    {
      // API 5.103 and later: the message is wrapped, next to client_info
      message: z.object(
        {
          id: vkId().nonnegative(),
          from_id: vkId(),
          peer_id: vkId(),
          text: z.string('ожидается строка').optional(),
          date: vkId().nonnegative().optional(),
          attachments: z.array(z.object({ type: z.string() }).loose()).optional(),
        },
        { error: () => 'нет объекта message: выберите в настройках Callback API версию 5.103 или новее' },
      ),
    },
    required('ожидается объект'),
  ),
});

const leadFormsNew = z.object({
  object: z.object(
    {
      lead_id: vkId().positive(),
      user_id: vkId().positive().optional(),
      form_id: vkId().optional(),
      form_name: z.string('ожидается строка').max(1000).optional(),
      ad_id: vkId().optional(),
      answers: z
        .array(
          z.object({
            key: z.string(required('ожидается строка')).max(200),
            question: z.string('ожидается строка').max(2000).optional(),
            answer: z.unknown(),
          }),
          required('ожидается список ответов'),
        )
        .max(500),
    },
    required('ожидается объект'),
  ),
});

/**
 * A community message makes a lead for the VK user, or joins the lead (or deal) already open for
 * them; the message id, unique within the community, makes a redelivery a no-op.
 */
async function receiveVkMessage(ctx: ServiceContext, source: WebhookSource, event: VkEvent): Promise<VkEventResult> {
  const m = parseInput(messageNew, event).object.message;
  // another community writing, or a chat with several people: not one client's conversation
  if (m.from_id <= 0 || m.peer_id >= CHAT_PEER_ID || m.id === 0) return { reply: OK, handled: 'ignored' };
  const groupId = source.vkGroupId!;
  const text = messageText(m.text ?? '', m.attachments ?? []);
  const at = m.date ? new Date(m.date * 1000) : ctx.clock.now();

  return inTransaction(ctx, async (tx) => {
    // one VK user's messages are taken in turn: two first messages at once make one contact and one lead
    await tx.db.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`vk:user:${m.from_id}`}, 0))`);
    const [seen] = await tx.db
      .select({ leadId: vkMessages.leadId, dealId: vkMessages.dealId })
      .from(vkMessages)
      .where(and(eq(vkMessages.vkGroupId, groupId), eq(vkMessages.vkMessageId, m.id)));
    if (seen) return { reply: OK, handled: 'message', leadId: seen.leadId, dealId: seen.dealId, created: false, duplicate: true };

    const contact = await vkContact(tx, m.from_id);
    const open = await openLeadOrDeal(tx, contact.id);
    let lead: OpenLead | null = open.lead;
    let createdLead = false;
    if (!lead && !open.deal) {
      const made = await createLead(tx, {
        title: `ВКонтакте: ${contact.name}`,
        source: 'social',
        tracking: { network: 'vk' },
        contactId: contact.id,
        comment: clip(`${text}\nПрофиль: ${vkProfile(m.from_id)}`, 10_000),
      });
      lead = { id: made.id, title: made.title, responsibleId: made.responsibleId, participants: [] };
      createdLead = true;
    }
    await tx.db.insert(vkMessages).values({
      sourceId: source.id,
      vkGroupId: groupId,
      vkMessageId: m.id,
      vkUserId: m.from_id,
      contactId: contact.id,
      leadId: lead?.id ?? null,
      dealId: lead ? null : open.deal!.id,
      text: m.text ?? null,
      at,
      createdAt: tx.clock.now(),
    });
    const summary = `Сообщение ВКонтакте: ${clip(text, 4000)}`;
    const facts = { vkMessageId: m.id, vkUserId: m.from_id, vkGroupId: groupId };
    if (lead) await recordHistory(tx, 'lead', lead.id, 'vk_message', summary, facts);
    else await recordHistory(tx, 'deal', open.deal!.id, 'vk_message', summary, facts);

    // a new lead was announced by createLead; later messages go to whoever already works with the client
    if (!createdLead) {
      const record = lead ? `Лид №${lead.id}: ${lead.title}` : `Сделка №${open.deal!.id}: ${open.deal!.title}`;
      await notify(
        tx,
        (await requestRecipients(tx, open)).map((userId) => ({
          kind: 'client_message' as const,
          userId,
          text: `ВКонтакте, ${contact.name}:\n«${clip(text, 1500)}»\n${record}\nОтветить можно только во ВКонтакте: ${vkProfile(m.from_id)}`,
          ...(lead ? { leadId: lead.id } : { dealId: open.deal!.id }),
          dedupeKey: `vk:${groupId}:${m.id}`,
        })),
      );
    }
    return { reply: OK, handled: 'message', leadId: lead?.id ?? null, dealId: lead ? null : open.deal!.id, created: createdLead, duplicate: false };
  });
}

/** VK's standard lead form questions, for forms whose answers come without the question's text. */
const standardQuestions: Record<string, string> = {
  first_name: 'Имя',
  patronymic_name: 'Отчество',
  last_name: 'Фамилия',
  phone_number: 'Телефон',
  email: 'Электронная почта',
  age: 'Возраст',
  birthday: 'День рождения',
  location: 'Город и страна',
};

/**
 * A lead ads form makes a lead like a website form: contact by phone or e-mail, every question with
 * its answer in the comment, `vk:<source>:<lead_id>` as the external id so a redelivery makes one
 * lead. The VK user joins the contact, so their later messages continue this lead. A form with
 * neither a phone nor an e-mail still makes a lead, for the VK user.
 */
async function receiveVkLeadForm(ctx: ServiceContext, source: WebhookSource, event: VkEvent): Promise<VkEventResult> {
  const f = parseInput(leadFormsNew, event).object;
  const answers = f.answers.map((a) => ({ key: a.key.trim().toLowerCase(), question: a.question?.trim(), answer: answerText(a.answer) }));
  const byKey = (...keys: string[]) => keys.map((k) => answers.find((a) => a.key === k && a.answer)?.answer).find(Boolean);

  const phone = byKey('phone_number', 'phone');
  const email = byKey('email');
  const name = [byKey('first_name'), byKey('patronymic_name'), byKey('last_name')].filter(Boolean).join(' ') || byKey('name');
  const company = byKey('company', 'company_name');
  const lines = [
    f.form_name ? `Форма ВКонтакте: ${f.form_name}` : null,
    ...answers.filter((a) => a.answer).map((a) => `${a.question || standardQuestions[a.key] || a.key}: ${a.answer}`),
    f.user_id ? `Профиль: ${vkProfile(f.user_id)}` : null,
    f.ad_id ? `Объявление: ${f.ad_id}` : null,
  ];
  const comment = clip(lines.filter(Boolean).join('\n'), 10_000);
  const externalId = `vk:${source.id}:${f.lead_id}`;
  // a phone or e-mail the form let through malformed stays in the comment, it does not refuse the lead
  const validPhone = phone && normalizePhone(phone) ? phone : undefined;
  const validEmail = email && normalizeEmail(email) ? email : undefined;

  if (validPhone || validEmail) {
    const { lead, created } = await submitWebLead(
      ctx,
      { name: name && clip(name, 300), phone: validPhone, email: validEmail, company: company && clip(company, 500), comment, network: 'vk' },
      { source: 'social', sourceLabel: 'ВКонтакте', externalId },
    );
    if (f.user_id && lead.contactId) {
      await ctx.db.insert(vkUsers).values({ vkUserId: f.user_id, contactId: lead.contactId, createdAt: ctx.clock.now() }).onConflictDoNothing();
    }
    return { reply: OK, handled: 'lead_form', leadId: lead.id, dealId: null, created, duplicate: !created };
  }
  if (!f.user_id) throw invalid({ 'object.answers': 'нет ни телефона, ни e-mail, ни пользователя ВКонтакте (user_id)' });

  const userId = f.user_id;
  return inTransaction(ctx, async (tx) => {
    await tx.db.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`vk:user:${userId}`}, 0))`);
    const [dup] = await tx.db.select({ id: leads.id }).from(leads).where(eq(leads.externalId, externalId));
    if (dup) return { reply: OK, handled: 'lead_form', leadId: dup.id, dealId: null, created: false, duplicate: true };
    const contact = await vkContact(tx, userId, name);
    const lead = await createLead(tx, {
      title: `ВКонтакте: ${contact.name}`,
      source: 'social',
      tracking: { network: 'vk' },
      contactId: contact.id,
      comment,
      externalId,
    });
    return { reply: OK, handled: 'lead_form', leadId: lead.id, dealId: null, created: true, duplicate: false };
  });
}

/** The contact a VK user is known as (followed through merges), or a new one named by their profile. */
async function vkContact(tx: ServiceContext, vkUserId: number, name?: string): Promise<Contact> {
  const [known] = await tx.db
    .select({ c: contacts })
    .from(vkUsers)
    .innerJoin(contacts, eq(contacts.id, vkUsers.contactId))
    .where(eq(vkUsers.vkUserId, vkUserId));
  if (known) {
    let c = known.c;
    for (let hops = 0; c.mergedIntoId && hops < 10; hops++) {
      const [next] = await tx.db.select().from(contacts).where(eq(contacts.id, c.mergedIntoId));
      if (!next) break;
      c = next;
    }
    return c;
  }
  const now = tx.clock.now();
  const contactName = name ? clip(name, 300) : vkProfile(vkUserId).replace(/^https:\/\//, '');
  const comment = `Профиль ВКонтакте: ${vkProfile(vkUserId)}`;
  const [row] = await tx.db.insert(contacts).values({ name: contactName, comment, createdAt: now, updatedAt: now }).returning();
  await audit(tx, 'create', 'contact', row!.id, created({ name: contactName, comment }));
  await recordHistory(tx, 'contact', row!.id, 'created', 'Контакт создан: обращение во ВКонтакте');
  await tx.db.insert(vkUsers).values({ vkUserId, contactId: row!.id, createdAt: now });
  return row!;
}

const vkProfile = (userId: number) => `https://vk.com/id${userId}`;

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

const attachmentNames: Record<string, string> = {
  photo: 'фото',
  video: 'видео',
  audio: 'аудио',
  audio_message: 'голосовое сообщение',
  doc: 'документ',
  sticker: 'стикер',
  link: 'ссылка',
  wall: 'запись со стены',
  market: 'товар',
  poll: 'опрос',
  gift: 'подарок',
};

/** The message as a manager reads it: its text, and what was attached (files stay in VK). */
function messageText(text: string, attachments: { type: string }[]): string {
  const files = attachments.map((a) => attachmentNames[a.type] ?? a.type);
  const parts = [text.trim(), files.length ? `[вложения: ${files.join(', ')}]` : ''].filter(Boolean);
  return parts.join('\n') || '(пустое сообщение)';
}

/** A lead form answer: text, a number, or (for checkboxes) a list of options. */
function answerText(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(answerText).filter(Boolean).join(', ');
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return answerText(o.value ?? o.label ?? o.answer ?? '');
  }
  return '';
}
