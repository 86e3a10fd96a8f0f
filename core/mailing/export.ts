import type { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import type { ServiceContext } from '../context.js';
import { contactScope } from '../access/scope.js';
import { formatPhoneWithExtension } from '../validation/phone.js';
import { getMailingType } from './mailing-types.js';

const PAGE = 2000;

const kindLabels: Record<string, string> = {
  legal_entity: 'Юридическое лицо',
  individual: 'Физическое лицо',
  sole_proprietor: 'ИП',
};

interface ExportRow {
  id: number;
  name: string;
  position: string | null;
  phones: string[];
  phone_extensions: Record<string, string> | string | null;
  emails: string[];
  email_count: number;
  cp_name: string | null;
  cp_inn: string | null;
  cp_kind: string | null;
  cp_region: string | null;
}

export interface MailingExportOptions {
  /** «только с e-mail» (on unless turned off): contacts without any e-mail are left out, and counted */
  onlyWithEmail?: boolean;
}

export interface MailingExportResult {
  /** contacts written */
  rows: number;
  /** left out: every address of theirs unsubscribed */
  unsubscribed: number;
  /** contacts with no e-mail at all: left out with «только с e-mail», written with a phone only otherwise */
  withoutEmail: number;
}

/**
 * A mailing type's contacts as an .xlsx for a mass-mailing company (R19). Written with exceljs's
 * streaming writer page by page, each row committed as it is written, so 100,000 contacts take
 * bounded memory. Addresses that unsubscribed (from this type or from all mail) are left out,
 * and a contact left with no address is not exported; with `onlyWithEmail` (the default) neither
 * is a contact that never had one. A second sheet «Итог» says how many were written and how many
 * had no e-mail. Only contacts the actor may see are listed.
 */
export async function exportMailingTypeXlsx(ctx: ServiceContext, typeId: number, out: Writable, opts: MailingExportOptions = {}): Promise<MailingExportResult> {
  const onlyWithEmail = opts.onlyWithEmail ?? true;
  const type = await getMailingType(ctx, typeId);
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  workbook.creator = 'Чат-CRM';
  const sheet = workbook.addWorksheet(type.name.replace(/[\\/?*[\]:]/g, ' ').slice(0, 31) || 'Рассылка');
  sheet.columns = [
    { header: '№ контакта', key: 'id', width: 12 },
    { header: 'ФИО', key: 'name', width: 32 },
    { header: 'Должность', key: 'position', width: 22 },
    { header: 'E-mail', key: 'email', width: 30 },
    { header: 'Телефон', key: 'phone', width: 20 },
    { header: 'Другие e-mail и телефоны', key: 'more', width: 36 },
    { header: 'Контрагент', key: 'counterparty', width: 36 },
    { header: 'ИНН', key: 'inn', width: 14 },
    { header: 'Вид', key: 'kind', width: 18 },
    { header: 'Регион', key: 'region', width: 22 },
  ];
  sheet.getRow(1).font = { bold: true };
  sheet.getRow(1).commit();
  const scope = contactScope(ctx);
  let after = 0;
  let rows = 0;
  let unsubscribed = 0;
  let withoutEmail = 0;
  for (;;) {
    const result = await ctx.db.execute(sql`
      SELECT contacts.id, contacts.name, contacts.position, contacts.phones, contacts.phone_extensions,
        ARRAY(SELECT e FROM unnest(contacts.emails) AS e WHERE NOT EXISTS (
          SELECT 1 FROM unsubscribes u WHERE u.email = e AND (u.mailing_type_id IS NULL OR u.mailing_type_id = ${typeId}))) AS emails,
        cardinality(contacts.emails) AS email_count,
        cp.name AS cp_name, cp.inn AS cp_inn, cp.kind AS cp_kind, cp.region AS cp_region
      FROM contact_mailing_types cmt
      JOIN contacts ON contacts.id = cmt.contact_id
      LEFT JOIN counterparties cp ON cp.id = contacts.counterparty_id
      WHERE cmt.mailing_type_id = ${typeId} AND contacts.merged_into_id IS NULL AND contacts.id > ${after} ${scope ? sql`AND ${scope}` : sql``}
      ORDER BY contacts.id LIMIT ${PAGE}`);
    const page = (Array.isArray(result) ? result : (result as unknown as { rows: ExportRow[] }).rows) as ExportRow[];
    if (!page.length) break;
    for (const r of page) {
      if (Number(r.email_count) > 0 && r.emails.length === 0) {
        unsubscribed++;
        continue;
      }
      if (Number(r.email_count) === 0) {
        withoutEmail++;
        if (onlyWithEmail) continue;
      }
      const ext = (typeof r.phone_extensions === 'string' ? JSON.parse(r.phone_extensions) : (r.phone_extensions ?? {})) as Record<string, string>;
      const phones = r.phones.map((p) => formatPhoneWithExtension(p, ext[p]));
      // exceljs stores a string as a text cell, never as a formula, so "=HYPERLINK(…)" from a card is
      // shown, not run, and needs no apostrophe here (it would show); a CSV does (imports/spreadsheet-cell.ts)
      sheet
        .addRow({
          id: Number(r.id),
          name: r.name,
          position: r.position ?? '',
          email: r.emails[0] ?? '',
          phone: phones[0] ?? '',
          more: [...r.emails.slice(1), ...phones.slice(1)].join(', '),
          counterparty: r.cp_name ?? '',
          inn: r.cp_inn ?? '',
          kind: r.cp_kind ? (kindLabels[r.cp_kind] ?? r.cp_kind) : '',
          region: r.cp_region ?? '',
        })
        .commit();
      rows++;
    }
    after = Number(page[page.length - 1]!.id);
  }
  await sheet.commit();
  const summary = workbook.addWorksheet('Итог');
  summary.columns = [
    { header: 'Показатель', key: 'what', width: 48 },
    { header: 'Контактов', key: 'n', width: 12 },
  ];
  summary.getRow(1).font = { bold: true };
  summary.getRow(1).commit();
  summary.addRow({ what: 'Выгружено', n: rows }).commit();
  summary.addRow({ what: onlyWithEmail ? 'Без e-mail (не выгружены)' : 'Без e-mail (выгружены с телефоном)', n: withoutEmail }).commit();
  summary.addRow({ what: 'Отписались от рассылки (не выгружены)', n: unsubscribed }).commit();
  await summary.commit();
  await workbook.commit();
  return { rows, unsubscribed, withoutEmail };
}

/** Before the export: how many of the type's contacts (that the actor may see) have no e-mail at all. */
export async function countMailingTypeWithoutEmail(ctx: ServiceContext, typeId: number): Promise<{ total: number; withoutEmail: number }> {
  await getMailingType(ctx, typeId);
  const scope = contactScope(ctx);
  const result = await ctx.db.execute(sql`
    SELECT count(*)::int AS total, count(*) FILTER (WHERE cardinality(contacts.emails) = 0)::int AS without_email
    FROM contact_mailing_types cmt JOIN contacts ON contacts.id = cmt.contact_id
    WHERE cmt.mailing_type_id = ${typeId} AND contacts.merged_into_id IS NULL ${scope ? sql`AND ${scope}` : sql``}`);
  const [row] = (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as { total: number; without_email: number }[];
  return { total: Number(row?.total ?? 0), withoutEmail: Number(row?.without_email ?? 0) };
}
