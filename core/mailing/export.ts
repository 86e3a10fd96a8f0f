import type { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import type { ServiceContext } from '../context.js';
import { contactScope } from '../access/scope.js';
import { formatPhone } from '../validation/phone.js';
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
  emails: string[];
  email_count: number;
  cp_name: string | null;
  cp_inn: string | null;
  cp_kind: string | null;
  cp_region: string | null;
}

/**
 * A mailing type's contacts as an .xlsx for a mass-mailing company (R19). Written with exceljs's
 * streaming writer page by page, each row committed as it is written, so 100,000 contacts take
 * bounded memory. Addresses that unsubscribed (from this type or from all mail) are left out,
 * and a contact left with no address is not exported. Only contacts the actor may see are listed.
 */
export async function exportMailingTypeXlsx(ctx: ServiceContext, typeId: number, out: Writable): Promise<{ rows: number; unsubscribed: number }> {
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
  for (;;) {
    const result = await ctx.db.execute(sql`
      SELECT contacts.id, contacts.name, contacts.position, contacts.phones,
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
      const phones = r.phones.map(formatPhone);
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
  await workbook.commit();
  return { rows, unsubscribed };
}
