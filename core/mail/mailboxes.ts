import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { afterCommit, inTransaction, type ServiceContext } from '../context.js';
import { mailboxes, users } from '../db/schema/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { idField } from '../shared/fields.js';
import { requireRole, seesAll } from '../access/scope.js';
import { normalizeEmail } from '../validation/email.js';
import { decryptSecret, encryptSecret } from '../crypto/secret-box.js';
import { audit, created, diff } from '../shared/audit.js';
import { MAIL_IMPORT_JOB, MAILBOX_PASSWORD_PURPOSE, type MailEnv } from './env.js';
import { mailServicePresets, mailServices, type MailService } from './presets.js';
import { describeMailError, mailServerAddress, PrivateMailHostError, privateHostProblem, smtpTransport, withImap, type ServerSettings } from './connection.js';

type MailboxRow = typeof mailboxes.$inferSelect;
/** A mailbox as verbs hand it out: the password never leaves the core, not even encrypted. */
export type Mailbox = Omit<MailboxRow, 'passwordEncrypted'>;

const encryption = z.enum(['ssl', 'starttls', 'none'], 'шифрование: SSL/TLS, STARTTLS или без шифрования');
const port = z.coerce.number('неверный порт').int('неверный порт').min(1, 'неверный порт').max(65535, 'неверный порт');
const host = z
  .string()
  .trim()
  .min(1, 'укажите сервер')
  .max(255)
  .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?)+$|^\[?[0-9A-Fa-f:.]+\]?$/, 'неверный адрес сервера');

const mailboxFields = {
  name: z.string().trim().min(1, 'укажите название').max(200),
  service: z.enum(mailServices, 'сервис: yandex, mailru, gmail или other'),
  login: z.string().trim().min(1, 'укажите логин').max(320),
  email: z.string().trim().transform((v, c) => {
    const e = normalizeEmail(v);
    if (!e) c.addIssue({ code: 'custom', message: 'неверный e-mail' });
    return e ?? '';
  }),
  imapHost: host,
  imapPort: port,
  imapEncryption: encryption,
  smtpHost: host,
  smtpPort: port,
  smtpEncryption: encryption,
  ownerId: idField.nullish(),
  createsLeads: z.boolean().default(false),
  /** R23: every letter to this mailbox opens a ticket (a support address) */
  createsTickets: z.boolean().default(false),
  active: z.boolean().default(true),
};
const passwordField = z.string().min(1, 'укажите пароль').max(1000, 'слишком длинный пароль');

const createSchema = z.object({ ...mailboxFields, password: passwordField });

export interface MailboxInput {
  name: string;
  service?: MailService;
  login: string;
  /** the sender address; defaults to the login when that is an address */
  email?: string;
  password: string;
  imapHost?: string;
  imapPort?: number | string;
  imapEncryption?: 'ssl' | 'starttls' | 'none';
  smtpHost?: string;
  smtpPort?: number | string;
  smtpEncryption?: 'ssl' | 'starttls' | 'none';
  ownerId?: number | null;
  createsLeads?: boolean;
  createsTickets?: boolean;
  active?: boolean;
}

const blank = (v: unknown) => v === undefined || v === null || v === '';

/** Fields left empty take the chosen service's settings; the sender address defaults to the login. */
function withDefaults<T extends Partial<MailboxInput>>(input: T): T {
  const service = (input.service ?? 'other') as MailService;
  const preset = mailServicePresets[service] ?? mailServicePresets.other;
  const out: Record<string, unknown> = { ...input, service };
  for (const key of ['imapHost', 'imapPort', 'imapEncryption', 'smtpHost', 'smtpPort', 'smtpEncryption'] as const) {
    if (blank(out[key]) && preset[key] !== '') out[key] = preset[key];
  }
  if (blank(out.email) && typeof out.login === 'string' && normalizeEmail(out.login)) out.email = out.login;
  if (blank(out.email)) out.email = '';
  return out as T;
}

const strip = ({ passwordEncrypted: _p, ...rest }: MailboxRow): Mailbox => rest;

function seal(env: Pick<MailEnv, 'secretKey'>, password: string): string {
  return encryptSecret(env.secretKey, MAILBOX_PASSWORD_PURPOSE, password);
}

async function requireOwner(ctx: ServiceContext, ownerId: number | null | undefined): Promise<void> {
  if (!ownerId) return;
  const [u] = await ctx.db.select({ active: users.active }).from(users).where(eq(users.id, ownerId));
  if (!u || !u.active) throw invalid({ ownerId: 'нет такого активного пользователя' });
}

async function requireUnique(ctx: ServiceContext, login: string, imapHost: string, exceptId?: number): Promise<void> {
  const [dup] = await ctx.db
    .select({ id: mailboxes.id })
    .from(mailboxes)
    .where(and(sql`lower(${mailboxes.login}) = lower(${login})`, sql`lower(${mailboxes.imapHost}) = lower(${imapHost})`));
  if (dup && dup.id !== exceptId) throw conflict('Этот почтовый ящик уже добавлен');
}

/**
 * Servers on loopback or a private network, while MAIL_ALLOW_PRIVATE_HOSTS is off, as field
 * errors. A name that does not resolve now is let through: every connection checks the address
 * again (connection.ts); this tells the admin early, on the form.
 */
async function privateServerProblems(env: MailEnv, hosts: { imapHost?: string | undefined; smtpHost?: string | undefined }): Promise<Record<string, string>> {
  const problems: Record<string, string> = {};
  if (env.allowPrivateHosts) return problems;
  await Promise.all(
    (['imapHost', 'smtpHost'] as const).map(async (field) => {
      const host = hosts[field]?.trim();
      if (!host) return;
      try {
        await mailServerAddress(host, { ...env, timeoutMs: Math.min(env.timeoutMs, 5000) });
      } catch (e) {
        if (e instanceof PrivateMailHostError) problems[field] = privateHostProblem(e);
      }
    }),
  );
  return problems;
}

function refuse(problems: Record<string, string>): void {
  if (Object.keys(problems).length) throw invalid(problems);
}

/** The settings a stored password may be sent with: to another server or as another login it needs typing again. */
const serverIdentity = (s: ServerSettings) =>
  JSON.stringify([
    s.login.trim().toLowerCase(),
    s.imapHost.trim().toLowerCase().replace(/\.$/, ''),
    Number(s.imapPort),
    s.imapEncryption,
    s.smtpHost.trim().toLowerCase().replace(/\.$/, ''),
    Number(s.smtpPort),
    s.smtpEncryption,
  ]);

const PASSWORD_AGAIN = 'сервер, порт, шифрование или логин изменились — введите пароль ящика ещё раз';

/** R17: adds a mailbox (admins). Its password is sealed with SECRET_KEY; the import starts at once. */
export async function createMailbox(ctx: ServiceContext, env: MailEnv, input: MailboxInput): Promise<Mailbox> {
  requireRole(ctx, 'admin');
  const data = parseInput(createSchema, withDefaults(input));
  refuse(await privateServerProblems(env, data));
  return inTransaction(ctx, async (tx) => {
    await requireOwner(tx, data.ownerId);
    await requireUnique(tx, data.login, data.imapHost);
    const { password, ...fields } = data;
    const [row] = await tx.db
      .insert(mailboxes)
      .values({ ...fields, ownerId: fields.ownerId ?? null, passwordEncrypted: seal(env, password), createdAt: tx.clock.now() })
      .returning();
    const mailbox = strip(row!);
    tx.log.info({ mailboxId: mailbox.id, login: mailbox.login, host: mailbox.imapHost }, 'mailbox created');
    // the audit trail names what changed, never the password (sealed or not)
    await audit(tx, 'create', 'mailbox', mailbox.id, created(auditable(mailbox)));
    await afterCommit(tx, () => scheduleMailboxImport(tx, env, mailbox, { now: true }));
    return mailbox;
  });
}

export type MailboxPatch = Partial<MailboxInput>;

/**
 * Changes a mailbox; an empty or missing password keeps the stored one, as long as the servers and
 * the login stay the same (the stored password is never sent anywhere else).
 */
export async function updateMailbox(ctx: ServiceContext, env: MailEnv, id: number, patch: MailboxPatch): Promise<Mailbox> {
  requireRole(ctx, 'admin');
  // the servers typed now; looked up before the transaction, which a slow DNS answer would otherwise hold open
  const hostProblems = await privateServerProblems(env, patch);
  return inTransaction(ctx, async (tx) => {
    const before = await loadMailbox(tx, id);
    const { password, ...rest } = patch;
    const merged = withDefaults({ ...strip(before), ...dropBlank(rest), service: rest.service ?? before.service } as unknown as MailboxInput);
    const data = parseInput(z.object(mailboxFields), merged);
    const newPassword = blank(password) ? null : parseInput(z.object({ password: passwordField }), { password }).password;
    refuse({ ...hostProblems, ...(!newPassword && serverIdentity(data) !== serverIdentity(before) ? { password: PASSWORD_AGAIN } : {}) });
    await requireOwner(tx, data.ownerId);
    await requireUnique(tx, data.login, data.imapHost, id);
    const [row] = await tx.db
      .update(mailboxes)
      .set({ ...data, ownerId: data.ownerId ?? null, ...(newPassword ? { passwordEncrypted: seal(env, newPassword) } : {}), lastError: null })
      .where(eq(mailboxes.id, id))
      .returning();
    const mailbox = strip(row!);
    tx.log.info({ mailboxId: id, passwordChanged: Boolean(newPassword) }, 'mailbox updated');
    const changes = diff(auditable(strip(before)), auditable(mailbox));
    if (newPassword) changes.password = { from: '***', to: '***' };
    await audit(tx, 'update', 'mailbox', id, changes);
    await afterCommit(tx, () =>
      mailbox.active ? scheduleMailboxImport(tx, env, mailbox, { now: !before.active }) : unscheduleMailboxImport(tx, id),
    );
    return mailbox;
  });
}

/** The settings a person changes, without the import's own bookkeeping (UIDs, last check). */
function auditable(m: Mailbox): Record<string, unknown> {
  const { name, service, login, imapHost, imapPort, imapEncryption, smtpHost, smtpPort, smtpEncryption, ownerId, createsLeads, createsTickets, active } = m;
  return { name, service, login, imapHost, imapPort, imapEncryption, smtpHost, smtpPort, smtpEncryption, ownerId, createsLeads, createsTickets, active };
}

/** keeps the stored value for fields a form left empty (except ownerId, where empty means "nobody") */
function dropBlank(patch: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(patch).filter(([k, v]) => k === 'ownerId' || !blank(v)));
}

/** Removes the mailbox and its import schedule; letters already imported stay in the history. */
export async function deleteMailbox(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin');
  await inTransaction(ctx, async (tx) => {
    const before = await loadMailbox(tx, id);
    await tx.db.delete(mailboxes).where(eq(mailboxes.id, id));
    tx.log.info({ mailboxId: id }, 'mailbox deleted');
    await audit(tx, 'delete', 'mailbox', id, Object.fromEntries(Object.entries(auditable(strip(before))).map(([k, v]) => [k, { from: v, to: null }])));
    await afterCommit(tx, () => unscheduleMailboxImport(tx, id));
  });
}

/** Admins and the head see every mailbox; a manager sees their own and shared (ownerless) ones. */
export async function listMailboxes(ctx: ServiceContext): Promise<Mailbox[]> {
  const where = seesAll(ctx.actor)
    ? undefined
    : ctx.actor.kind === 'user'
      ? or(eq(mailboxes.ownerId, ctx.actor.userId), isNull(mailboxes.ownerId))
      : sql`false`;
  const rows = await ctx.db.select().from(mailboxes).where(where).orderBy(asc(mailboxes.name), asc(mailboxes.id));
  return rows.map(strip);
}

export async function getMailbox(ctx: ServiceContext, id: number): Promise<Mailbox> {
  const row = await loadMailbox(ctx, id);
  if (!canUseMailbox(ctx, row)) throw forbidden('Этот почтовый ящик вам недоступен');
  return strip(row);
}

export function canUseMailbox(ctx: ServiceContext, mailbox: Pick<MailboxRow, 'ownerId'>): boolean {
  if (seesAll(ctx.actor)) return true;
  return ctx.actor.kind === 'user' && (mailbox.ownerId === null || mailbox.ownerId === ctx.actor.userId);
}

/** The stored row, password sealed; for the core's own use (jobs, sending). */
export async function loadMailbox(ctx: ServiceContext, id: number): Promise<MailboxRow> {
  const [row] = await ctx.db.select().from(mailboxes).where(eq(mailboxes.id, id));
  if (!row) throw notFound('Почтовый ящик');
  return row;
}

export function mailboxPassword(env: Pick<MailEnv, 'secretKey'>, mailbox: Pick<MailboxRow, 'passwordEncrypted'>): string {
  return decryptSecret(env.secretKey, MAILBOX_PASSWORD_PURPOSE, mailbox.passwordEncrypted);
}

export const importScheduleKey = (mailboxId: number) => `mail.import:${mailboxId}`;

/** A repeatable import per active mailbox; `now` also queues one right away. */
export async function scheduleMailboxImport(ctx: ServiceContext, env: MailEnv, mailbox: Pick<Mailbox, 'id'>, opts: { now?: boolean } = {}): Promise<void> {
  await ctx.jobs.upsertRepeatable(importScheduleKey(mailbox.id), MAIL_IMPORT_JOB, { mailboxId: mailbox.id }, env.importEveryMs);
  if (opts.now) await ctx.jobs.add(MAIL_IMPORT_JOB, { mailboxId: mailbox.id }, { jobId: `mail.import:${mailbox.id}:${ctx.clock.now().getTime()}` });
}

export async function unscheduleMailboxImport(ctx: ServiceContext, mailboxId: number): Promise<void> {
  await ctx.jobs.removeRepeatable(importScheduleKey(mailboxId));
}

/** At start-up of a worker: every active mailbox has its schedule (e.g. after switching to Redis). */
export async function ensureMailImportSchedules(ctx: ServiceContext, env: MailEnv): Promise<number> {
  const rows = await ctx.db.select({ id: mailboxes.id }).from(mailboxes).where(eq(mailboxes.active, true));
  for (const r of rows) await scheduleMailboxImport(ctx, env, r);
  return rows.length;
}

export interface ConnectionCheck {
  ok: boolean;
  imap: { ok: boolean; error?: string };
  smtp: { ok: boolean; error?: string };
}

/** «Проверить соединение» on a saved mailbox: logs in over IMAP and SMTP and records the outcome. */
export async function checkMailboxConnection(ctx: ServiceContext, env: MailEnv, id: number): Promise<ConnectionCheck> {
  requireRole(ctx, 'admin');
  const row = await loadMailbox(ctx, id);
  const result = await checkServers(env, row, mailboxPassword(env, row));
  await ctx.db
    .update(mailboxes)
    .set({ lastCheckAt: ctx.clock.now(), lastError: result.ok ? null : [result.imap.error, result.smtp.error].filter(Boolean).join('; ') })
    .where(eq(mailboxes.id, id));
  return result;
}

/**
 * «Проверить соединение» on a form not yet saved. With `mailboxId` and no password, the stored
 * password is used, so an admin can check an edit without typing it again, but only with the
 * stored servers, ports, encryption and login: a form pointing elsewhere needs the password typed.
 */
export async function checkMailboxSettings(
  ctx: ServiceContext,
  env: MailEnv,
  input: Partial<MailboxInput> & { mailboxId?: number | null },
): Promise<ConnectionCheck> {
  requireRole(ctx, 'admin');
  const { mailboxId, password, ...rest } = input;
  const stored = mailboxId ? await loadMailbox(ctx, mailboxId) : null;
  const merged = withDefaults({ ...(stored ? strip(stored) : {}), ...dropBlank(rest) } as MailboxInput);
  const settings = parseInput(
    z.object(mailboxFields).pick({ login: true, imapHost: true, imapPort: true, imapEncryption: true, smtpHost: true, smtpPort: true, smtpEncryption: true }),
    merged,
  );
  if (blank(password) && !stored) throw invalid({ password: 'укажите пароль' });
  refuse({
    ...(await privateServerProblems(env, settings)),
    ...(blank(password) && serverIdentity(settings) !== serverIdentity(stored!) ? { password: PASSWORD_AGAIN } : {}),
  });
  return checkServers(env, settings, !blank(password) ? String(password) : mailboxPassword(env, stored!));
}

/** Logs in over IMAP and SMTP; each connection goes only where mailServerAddress lets it. */
async function checkServers(env: MailEnv, settings: ServerSettings, password: string): Promise<ConnectionCheck> {
  const [imap, smtp] = await Promise.all([
    withImap(settings, password, env, async () => undefined).then(
      () => ({ ok: true }),
      (err: unknown) => ({ ok: false, error: `IMAP: ${describeMailError(err)}` }),
    ),
    (async () => {
      let transport: Awaited<ReturnType<typeof smtpTransport>> | undefined;
      try {
        transport = await smtpTransport(settings, password, env);
        await transport.verify();
        return { ok: true };
      } catch (err) {
        return { ok: false, error: `SMTP: ${describeMailError(err)}` };
      } finally {
        transport?.close();
      }
    })(),
  ]);
  return { ok: imap.ok && smtp.ok, imap, smtp };
}
