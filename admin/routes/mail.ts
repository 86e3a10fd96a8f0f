import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isServiceError, type ServiceError } from '../../core/errors.js';
import { listUsers } from '../../core/users/users.js';
import { getCounterparty } from '../../core/counterparties/counterparties.js';
import { getContact, listContacts } from '../../core/contacts/contacts.js';
import { getLead } from '../../core/leads/leads.js';
import { getDeal } from '../../core/deals/deals.js';
import { listMailingTypes } from '../../core/mailing/mailing-types.js';
import { mailEnv } from '../../core/mail/env.js';
import { encryptionLabels, mailServicePresets, mailServices } from '../../core/mail/presets.js';
import {
  checkMailboxConnection,
  checkMailboxSettings,
  createMailbox,
  deleteMailbox,
  getMailbox,
  listMailboxes,
  updateMailbox,
  type ConnectionCheck,
  type MailboxInput,
} from '../../core/mail/mailboxes.js';
import { composeEmail, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, type OutgoingFile } from '../../core/mail/compose.js';
import { getEmail, getEmailThread, readEmailAttachment } from '../../core/mail/emails.js';
import { createMailout, getMailout, listMailouts } from '../../core/mail/mailouts.js';
import { body, bool, idParam, int, query, str, type FormBody } from '../forms.js';
import { ctxOf, redirectWith, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

const mailboxFields = ['name', 'service', 'login', 'email', 'imapHost', 'imapPort', 'imapEncryption', 'smtpHost', 'smtpPort', 'smtpEncryption', 'ownerId'] as const;

/** The mailbox form as the verb takes it; the password only when typed. */
function readMailboxForm(form: FormBody): MailboxInput {
  const v = (k: string) => str(form, k);
  return {
    name: v('name'),
    service: (v('service') || 'other') as MailboxInput['service'],
    login: v('login'),
    email: v('email'),
    password: String(form.password ?? ''),
    imapHost: v('imapHost'),
    imapPort: v('imapPort'),
    imapEncryption: (v('imapEncryption') || undefined) as MailboxInput['imapEncryption'],
    smtpHost: v('smtpHost'),
    smtpPort: v('smtpPort'),
    smtpEncryption: (v('smtpEncryption') || undefined) as MailboxInput['smtpEncryption'],
    ownerId: int(form, 'ownerId') ?? null,
    createsLeads: bool(form, 'createsLeads'),
    createsTickets: bool(form, 'createsTickets'),
    active: bool(form, 'active'),
  };
}

const fieldErrors = (e: ServiceError): Record<string, string> =>
  Object.fromEntries(Object.entries(e.fields).map(([k, m]) => [k.split('.')[0]!, m]));

/** Mailboxes (R17), letters written from a card (R18) and mail-outs to a mailing type's list. */
type MailWriteRequest = FastifyRequest & { mailFiles?: OutgoingFile[]; mailFilesError?: string };

export default async function mailRoutes(app: FastifyInstance, deps: AdminDeps) {
  const env = mailEnv(deps.services);

  async function mailboxForm(
    req: FastifyRequest,
    reply: FastifyReply,
    opts: { id?: number; values: Record<string, unknown>; errors?: Record<string, string>; message?: string; check?: ConnectionCheck; status?: number },
  ) {
    const users = await listUsers(ctxOf(deps, req), { activeOnly: true });
    return render(
      deps,
      req,
      reply,
      'mail/mailbox-form',
      {
        title: opts.id ? 'Почтовый ящик' : 'Новый почтовый ящик',
        id: opts.id,
        values: opts.values,
        errors: opts.errors ?? {},
        message: opts.message,
        check: opts.check,
        users,
        services: mailServices.map((s) => ({ value: s, ...mailServicePresets[s] })),
        encryptions: Object.entries(encryptionLabels),
      },
      opts.status ?? 200,
    );
  }

  const formValues = (form: FormBody) => ({
    ...Object.fromEntries(mailboxFields.map((k) => [k, str(form, k)])),
    createsLeads: bool(form, 'createsLeads'),
    createsTickets: bool(form, 'createsTickets'),
    active: bool(form, 'active'),
  });

  app.get('/mailboxes', async (req, reply) => {
    requireRoles(req, 'admin');
    const ctx = ctxOf(deps, req);
    const [boxes, users] = await Promise.all([listMailboxes(ctx), listUsers(ctx)]);
    return render(deps, req, reply, 'mail/mailboxes', {
      title: 'Почтовые ящики',
      boxes,
      userName: Object.fromEntries(users.map((u) => [u.id, u.name])),
      serviceLabel: Object.fromEntries(mailServices.map((s) => [s, mailServicePresets[s].label])),
      encryptionLabels,
    });
  });

  app.get('/mailboxes/new', async (req, reply) => {
    requireRoles(req, 'admin');
    const p = mailServicePresets.yandex;
    return mailboxForm(req, reply, {
      values: { service: 'yandex', imapHost: p.imapHost, imapPort: p.imapPort, imapEncryption: p.imapEncryption, smtpHost: p.smtpHost, smtpPort: p.smtpPort, smtpEncryption: p.smtpEncryption, active: true },
    });
  });

  app.post('/mailboxes', async (req, reply) => {
    const form = body(req);
    try {
      const mb = await createMailbox(ctxOf(deps, req), env, readMailboxForm(form));
      return redirectWith(deps, reply, '/admin/mailboxes', { type: 'ok', text: `Почтовый ящик «${mb.name}» добавлен. Письма начнут загружаться в течение минуты.` });
    } catch (e) {
      if (isServiceError(e) && (e.code === 'invalid' || e.code === 'conflict')) {
        return mailboxForm(req, reply, { values: formValues(form), errors: fieldErrors(e), message: e.message, status: 400 });
      }
      throw e;
    }
  });

  // «Проверить соединение» before saving: the form comes back with the outcome, never with the password
  app.post('/mailboxes/check', async (req, reply) => {
    const form = body(req);
    const id = int(form, 'mailboxId');
    try {
      const check = await checkMailboxSettings(ctxOf(deps, req), env, { ...readMailboxForm(form), mailboxId: id ?? null });
      return mailboxForm(req, reply, { ...(id ? { id } : {}), values: formValues(form), check });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') {
        return mailboxForm(req, reply, { ...(id ? { id } : {}), values: formValues(form), errors: fieldErrors(e), message: e.message, status: 400 });
      }
      throw e;
    }
  });

  app.get('/mailboxes/:id', async (req, reply) => {
    requireRoles(req, 'admin');
    const mb = await getMailbox(ctxOf(deps, req), idParam(req.params));
    return mailboxForm(req, reply, { id: mb.id, values: { ...mb, ownerId: mb.ownerId ?? '' } });
  });

  app.post('/mailboxes/:id', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    try {
      await updateMailbox(ctxOf(deps, req), env, id, readMailboxForm(form));
      return redirectWith(deps, reply, '/admin/mailboxes', { type: 'ok', text: 'Изменения сохранены' });
    } catch (e) {
      if (isServiceError(e) && (e.code === 'invalid' || e.code === 'conflict')) {
        return mailboxForm(req, reply, { id, values: formValues(form), errors: fieldErrors(e), message: e.message, status: 400 });
      }
      throw e;
    }
  });

  app.post('/mailboxes/:id/check', async (req, reply) => {
    const r = await checkMailboxConnection(ctxOf(deps, req), env, idParam(req.params));
    return redirectWith(deps, reply, '/admin/mailboxes', {
      type: r.ok ? 'ok' : 'error',
      text: r.ok ? 'Соединение в порядке: IMAP и SMTP принимают логин и пароль' : [r.imap.error, r.smtp.error].filter(Boolean).join('. '),
    });
  });

  app.post('/mailboxes/:id/delete', async (req, reply) => {
    await deleteMailbox(ctxOf(deps, req), idParam(req.params));
    return redirectWith(deps, reply, '/admin/mailboxes', { type: 'ok', text: 'Почтовый ящик удалён; загруженные письма остались в истории' });
  });

  // «Написать письмо» from a counterparty, contact, lead or deal card
  const records = (form: FormBody) => ({
    counterpartyId: int(form, 'counterpartyId'),
    contactId: int(form, 'contactId'),
    leadId: int(form, 'leadId'),
    dealId: int(form, 'dealId'),
    replyToEmailId: int(form, 'replyTo'),
  });
  const backTo = (r: ReturnType<typeof records>, counterpartyOfContact?: number | null) =>
    r.leadId
      ? `/admin/leads/${r.leadId}?tab=history`
      : r.dealId
        ? `/admin/deals/${r.dealId}`
        : r.counterpartyId || counterpartyOfContact
          ? `/admin/counterparties/${r.counterpartyId ?? counterpartyOfContact}?tab=emails`
          : '/admin';

  async function writeForm(req: FastifyRequest, reply: FastifyReply, form: FormBody, errors: Record<string, string> = {}, message?: string) {
    const ctx = ctxOf(deps, req);
    const r = records(form);
    const about: string[] = [];
    const addresses: { address: string; label: string }[] = [];
    const add = (address: string, label: string) => {
      if (!addresses.some((a) => a.address === address)) addresses.push({ address, label });
    };
    let counterpartyId = r.counterpartyId;
    if (r.leadId) {
      const l = await getLead(ctx, r.leadId);
      about.push(`лид «${l.title}»`);
      counterpartyId ??= l.counterpartyId ?? undefined;
      if (l.contactId) {
        const c = await getContact(ctx, l.contactId);
        c.emails.forEach((e) => add(e, c.name));
      }
    }
    if (r.dealId) about.push(`сделка «${(await getDeal(ctx, r.dealId)).title}»`);
    if (r.contactId) {
      const c = await getContact(ctx, r.contactId);
      about.push(`контакт ${c.name}`);
      c.emails.forEach((e) => add(e, c.name));
      counterpartyId ??= c.counterpartyId ?? undefined;
    }
    if (counterpartyId) {
      const cp = await getCounterparty(ctx, counterpartyId);
      if (!r.leadId && !r.contactId) about.push(cp.name);
      for (const c of (await listContacts(ctx, { counterpartyId: cp.id }, { limit: 200 })).items) c.emails.forEach((e) => add(e, c.name));
      cp.emails.forEach((e) => add(e, cp.name));
    }
    const parent = r.replyToEmailId ? await getEmail(ctx, r.replyToEmailId) : null;
    if (parent) about.push(`ответ на «${parent.subject}»`);
    const boxes = (await listMailboxes(ctx)).filter((m) => m.active);
    const me = req.adminUser!;
    const replyTo = parent ? (parent.direction === 'incoming' ? [parent.fromAddress] : parent.toAddresses) : [];
    const values = {
      mailboxId:
        str(form, 'mailboxId') ||
        String((boxes.find((m) => m.id === parent?.mailboxId) ?? boxes.find((m) => m.ownerId === me.id) ?? boxes.find((m) => m.ownerId === null) ?? boxes[0])?.id ?? ''),
      to: str(form, 'to') || replyTo.join(', ') || (addresses[0]?.address ?? ''),
      cc: str(form, 'cc'),
      subject: str(form, 'subject') || (parent ? (/^re:/i.test(parent.subject) ? parent.subject : `Re: ${parent.subject}`) : ''),
      body: String(form.body ?? ''),
    };
    return render(
      deps,
      req,
      reply,
      'mail/write',
      { title: 'Новое письмо', about: about.join(', '), records: r, values, errors, message, boxes, addresses },
      Object.keys(errors).length ? 400 : 200,
    );
  }

  app.get('/mail/write', async (req, reply) => writeForm(req, reply, query(req)));

  app.post(
    '/mail/write',
    {
      // with files the form comes as multipart: its fields go into the body (for the CSRF check
      // and the verb), its files are kept in memory, bounded by the letter's size limit
      preValidation: async (req: MailWriteRequest) => {
        if (!req.isMultipart()) return;
        const fields: Record<string, string> = {};
        const files: OutgoingFile[] = [];
        try {
          for await (const part of req.parts({ limits: { files: MAX_ATTACHMENTS + 1, fileSize: MAX_ATTACHMENT_BYTES + 1 } })) {
            if (part.type === 'file') {
              const content = await part.toBuffer();
              if (part.filename) files.push({ name: part.filename, mime: part.mimetype || 'application/octet-stream', content });
            } else fields[part.fieldname] = String(part.value);
          }
        } catch (e) {
          // over the limit: the form (its fields come before the files) is shown again with the reason
          const code = (e as { code?: string }).code;
          if (code !== 'FST_REQ_FILE_TOO_LARGE' && code !== 'FST_FILES_LIMIT') throw e;
          req.mailFilesError = code === 'FST_FILES_LIMIT' ? `не больше ${MAX_ATTACHMENTS} файлов` : `вложения вместе больше ${MAX_ATTACHMENT_BYTES / 1024 / 1024} МБ: почтовый сервис не примет такое письмо`;
        }
        req.body = fields;
        req.mailFiles = files;
      },
    },
    async (request, reply) => {
      const req = request as MailWriteRequest;
      const form = body(req);
      const r = records(form);
      if (req.mailFilesError) return writeForm(req, reply, form, { files: req.mailFilesError }, 'Письмо не отправлено');
      try {
        const email = await composeEmail(ctxOf(deps, req), {
          mailboxId: int(form, 'mailboxId') ?? null,
          to: str(form, 'to'),
          cc: str(form, 'cc'),
          subject: str(form, 'subject'),
          body: String(form.body ?? ''),
          counterpartyId: r.counterpartyId ?? null,
          contactId: r.contactId ?? null,
          leadId: r.leadId ?? null,
          dealId: r.dealId ?? null,
          replyToEmailId: r.replyToEmailId ?? null,
        }, { files: req.mailFiles ?? [], env });
        const to = r.replyToEmailId ? `/admin/mail/emails/${email.id}` : backTo(r, email.counterpartyId);
        return redirectWith(deps, reply, to, { type: 'ok', text: `Письмо «${email.subject}» поставлено в очередь на отправку` });
      } catch (e) {
        if (isServiceError(e) && e.code === 'invalid') return writeForm(req, reply, form, fieldErrors(e), e.message);
        throw e;
      }
    },
  );

  // one letter with its conversation, attachments and «Ответить»
  app.get('/mail/emails/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const id = idParam(req.params);
    const thread = await getEmailThread(ctx, id);
    const email = thread.find((e) => e.id === id)!;
    return render(deps, req, reply, 'mail/email', { title: email.subject || 'Письмо', email, thread });
  });

  app.get('/mail/emails/:id/attachments/:n', async (req, reply) => {
    const n = Number((req.params as { n: string }).n);
    const a = await readEmailAttachment(ctxOf(deps, req), env, idParam(req.params), Number.isInteger(n) && n >= 0 ? n : -1);
    return reply
      .type(a.mime)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(a.name)}`)
      .header('x-content-type-options', 'nosniff')
      .send(a.data);
  });

  // Рассылки писем по типу рассылки
  app.get('/mailouts', async (req, reply) => {
    requireRoles(req, 'admin', 'head');
    const ctx = ctxOf(deps, req);
    const [mailouts, types, boxes] = await Promise.all([listMailouts(ctx), listMailingTypes(ctx), listMailboxes(ctx)]);
    const typeId = int(query(req), 'mailingTypeId');
    return render(deps, req, reply, 'mail/mailouts', {
      title: 'Рассылки писем',
      mailouts,
      types,
      boxes: boxes.filter((b) => b.active),
      typeName: Object.fromEntries(types.map((t) => [t.id, t.name])),
      values: { mailingTypeId: typeId ? String(typeId) : '', mailboxId: '', subject: '', body: 'Здравствуйте, {{name}}!\n\n\n\nВаш менеджер: {{manager}}' },
      errors: {},
    });
  });

  app.post('/mailouts', async (req, reply) => {
    const form = body(req);
    const ctx = ctxOf(deps, req);
    try {
      const m = await createMailout(ctx, {
        mailingTypeId: int(form, 'mailingTypeId') ?? 0,
        mailboxId: int(form, 'mailboxId') ?? null,
        subject: str(form, 'subject'),
        body: String(form.body ?? ''),
      });
      return redirectWith(deps, reply, `/admin/mailouts/${m.id}`, { type: 'ok', text: 'Рассылка запущена: письма уходят постепенно' });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') {
        const [mailouts, types, boxes] = await Promise.all([listMailouts(ctx), listMailingTypes(ctx), listMailboxes(ctx)]);
        return render(
          deps,
          req,
          reply,
          'mail/mailouts',
          {
            title: 'Рассылки писем',
            mailouts,
            types,
            boxes: boxes.filter((b) => b.active),
            typeName: Object.fromEntries(types.map((t) => [t.id, t.name])),
            values: { mailingTypeId: str(form, 'mailingTypeId'), mailboxId: str(form, 'mailboxId'), subject: str(form, 'subject'), body: String(form.body ?? '') },
            errors: fieldErrors(e),
            message: e.message,
          },
          400,
        );
      }
      throw e;
    }
  });

  app.get('/mailouts/:id', async (req, reply) => {
    const m = await getMailout(ctxOf(deps, req), idParam(req.params));
    return render(deps, req, reply, 'mail/mailout', { title: `Рассылка «${m.mailingType}»`, m });
  });
}
