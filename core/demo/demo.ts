import { eq, sql } from 'drizzle-orm';
import { inTransaction, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import type { LeadTracking } from '../db/schema/leads.js';
import { createUser, findUserByEmail, userActor, type User } from '../users/users.js';
import { createSegment, listSegments, setUserSegments } from '../segments/segments.js';
import { createCounterparty, updateCounterparty, type Counterparty, type CounterpartyKind } from '../counterparties/counterparties.js';
import { addIdentity, createContact, type Contact } from '../contacts/contacts.js';
import { addLeadParticipant, assignLead, closeLead, convertLeadToDeal, createLead, takeLead, type Lead, type LeadSource } from '../leads/leads.js';
import { createDeal, listDealStages, setDealAmount, setDealStage, type Deal, type DealStage } from '../deals/deals.js';
import { listLossReasons } from '../deals/loss-reasons.js';
import { listActions, type Action, type Result } from '../works/actions.js';
import { cancelWork, completeWork, createFollowUpWork, createWork, type Work } from '../works/works.js';
import { monthOf, setPlan } from '../plans/plans.js';
import { dateInZone, startOfDayInZone } from '../validation/time.js';
import { normalizePhone } from '../validation/phone.js';
import { dealLines, deals as dealsTable } from '../db/schema/index.js';
import { lineSums } from '../documents/money.js';
import { createOrganization } from '../organizations/organizations.js';
import { addBankAccount } from '../organizations/bank-accounts.js';
import { createProduct, type Product } from '../products/products.js';
import {
  COUNTERPARTY_COMMENTS,
  EMAIL_DOMAINS,
  FEMALE_NAMES,
  GOV_NAMES,
  LANDING_PAGES,
  LEAD_CLOSE_REASONS,
  LEAD_COMMENTS,
  MALE_NAMES,
  NAME_ROOTS,
  NAME_SUFFIXES,
  PATRONYMICS,
  PERSON_AMOUNT,
  PERSON_NEEDS,
  POSITIONS,
  REGIONS,
  RESULT_COMMENTS,
  SEARCH_TERMS,
  SEGMENTS,
  SEND_COMMENTS,
  STREETS,
  SURNAMES,
  WORK_COMMENTS,
  YANDEX_CAMPAIGNS,
  femaleSurname,
  type DemoRegion,
  type DemoSegment,
} from './dictionaries.js';
import { loadDemoTelephony, type DemoCallSubject } from './telephony.js';
import { demoTicketClients, loadDemoHelpdesk } from './helpdesk.js';
import { Random, kppFor, legalEntityInn, ogrn, ogrnip, personInn, translit, writePhone } from './random.js';

/**
 * The demo team signs in to the admin panel with this one password — it is public (it is in the
 * docs and in this file), so never load the demo data into a base reachable from the internet.
 */
export const DEMO_PASSWORD = 'demo12345';
/** Its presence marks a base that already holds the demo data. */
export const DEMO_HEAD_EMAIL = 'head@demo.crm';

type SegmentKey = DemoSegment['key'];

export const DEMO_TEAM: readonly { email: string; name: string; role: 'head' | 'manager'; segments: readonly SegmentKey[] }[] = [
  { email: DEMO_HEAD_EMAIL, name: 'Соколов Михаил Петрович', role: 'head', segments: [] },
  { email: 'ivanova@demo.crm', name: 'Иванова Анна Сергеевна', role: 'manager', segments: ['retail'] },
  { email: 'petrov@demo.crm', name: 'Петров Дмитрий Александрович', role: 'manager', segments: ['production', 'gov'] },
  { email: 'smirnova@demo.crm', name: 'Смирнова Екатерина Владимировна', role: 'manager', segments: ['construction'] },
  { email: 'kuznetsov@demo.crm', name: 'Кузнецов Алексей Игоревич', role: 'manager', segments: ['it', 'retail'] },
];

const SEED = 20_240_917;
const TZ = 'Europe/Moscow';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The demo seller: requisites that pass the checksums (INN, KPP, OGRN, and the account against Сбербанк's BIK). */
const DEMO_SELLER = {
  kind: 'legal_entity' as const,
  name: 'Общество с ограниченной ответственностью «Демо-Продажи»',
  shortName: 'ООО «Демо-Продажи»',
  inn: '7709876545',
  kpp: '770901001',
  ogrn: '1177746123455',
  legalAddress: '109004, г. Москва, ул. Николоямская, д. 40, стр. 1, офис 12',
  postalAddress: '109004, г. Москва, ул. Николоямская, д. 40, стр. 1, офис 12',
  phone: '+7 (495) 123-45-67',
  email: 'sales@demo-prodazhi.ru',
  city: 'г. Москва',
  directorName: 'Соколов Андрей Викторович',
  directorPosition: 'Генеральный директор',
  directorBasis: 'Устава',
  signerGenitive: 'Генерального директора Соколова Андрея Викторовича',
  accountantName: 'Морозова Елена Сергеевна',
  accountantPosition: 'Главный бухгалтер',
  taxMode: 'osn' as const,
};
const DEMO_SELLER_BANK = { bankName: 'ПАО Сбербанк', bik: '044525225', corrAccount: '30101810400000000225', account: '40702810538000054321' };

/** Services and goods with units, prices (VAT included) and rates; one «без НДС». */
const DEMO_PRODUCTS = [
  { name: 'Внедрение CRM: настройка под процессы компании', unit: 'усл.', price: '85000', vatRate: 22, code: 'SRV-001' },
  { name: 'Консультация специалиста', unit: 'час', price: '3500', vatRate: 22, code: 'SRV-002' },
  { name: 'Обучение сотрудников (группа до 10 человек)', unit: 'усл.', price: '24000', vatRate: 22, code: 'SRV-003' },
  { name: 'Техническая поддержка', unit: 'мес.', price: '12000', vatRate: 22, code: 'SRV-004' },
  { name: 'Лицензия на одного пользователя', unit: 'мес.', price: '1490', vatRate: 22, code: 'LIC-001' },
  { name: 'Интеграция с 1С', unit: 'компл.', price: '45000', vatRate: 22, code: 'SRV-005' },
  { name: 'Сканер штрихкодов', unit: 'шт', price: '6900', vatRate: 22, code: 'HW-001' },
  { name: 'Термопринтер этикеток', unit: 'шт', price: '15400', vatRate: 22, code: 'HW-002' },
  { name: 'Методическое пособие «Продажи в мессенджерах»', unit: 'шт', price: '990', vatRate: 10, code: 'BK-001' },
  { name: 'Экспертиза базы клиентов', unit: 'усл.', price: '18000', vatRate: null, code: 'SRV-006' },
];

/** Lines of the open demo deals: [product index, quantity, discount %]. */
const DEMO_DEAL_LINES: [number, string, string][][] = [
  [[0, '1', '0'], [2, '1', '0'], [4, '12', '5']],
  [[1, '6', '0']],
  [[5, '1', '10'], [3, '3', '0']],
  [[6, '4', '0'], [7, '2', '0']],
  [[9, '1', '0'], [1, '2.5', '0']],
  [[4, '25', '10'], [3, '12', '15'], [8, '25', '0']],
];

const COUNTS = { counterparties: 300, leads: 80, deals: 40, directDeals: 16, works: 150, followUps: 15 };

/**
 * Loads a realistic Russian demo data set through the core verbs (so history, audit and access
 * rules are the real ones): a head of sales and four managers with segments, ~300 counterparties
 * with valid requisites and contacts, leads from every source, deals over the stages, works and
 * plans. The same data every run (seeded PRNG), with dates relative to `ctx.clock`. All or nothing
 * in one transaction; a second load is a conflict.
 */
export async function loadDemoData(ctx: ServiceContext): Promise<Record<string, number>> {
  if (await findUserByEmail(ctx, DEMO_HEAD_EMAIL)) throw new ServiceError('conflict', 'Демо-данные уже загружены');
  return inTransaction(ctx, async (tx) => {
    // two loads at once: the second waits here, then sees the first one's head
    await tx.db.execute(sql`SELECT pg_advisory_xact_lock(7020240917)`);
    if (await findUserByEmail(tx, DEMO_HEAD_EMAIL)) throw new ServiceError('conflict', 'Демо-данные уже загружены');
    return new DemoLoader(tx).run();
  });
}

// -------------------------------------------------------------------------------------------------

interface Person {
  surname: string;
  first: string;
  patronymic: string;
  full: string;
  /** Иванов И.И. */
  short: string;
}

interface CpInfo {
  cp: Counterparty;
  segment: DemoSegment | null;
  contacts: Contact[];
  createdAt: Date;
}

interface DealPlan {
  manager: User;
  outcome: 'wonThisMonth' | 'wonPrevMonth' | 'lost' | 'open';
  openStage: number;
  viaLead: boolean;
  info: CpInfo;
  contact: Contact | null;
  need: string;
  amount: number;
  createdAt: Date;
  /** closing time for won/lost deals */
  closedAt: Date | null;
}

interface DealInfo {
  deal: Deal;
  manager: User;
  info: CpInfo;
  contact: Contact | null;
  start: Date;
  end: Date;
  open: boolean;
}

interface LeadInfo {
  lead: Lead;
  manager: User | null;
  info: CpInfo | null;
  start: Date;
  end: Date;
}

/** Why a demo work was cancelled (picked by the work's number, so the random sequence stays as it was). */
const DEMO_CANCEL_REASONS = ['Клиент попросил перенести разговор', 'Вопрос решён в переписке', 'Контакт в отпуске', 'Дубль: уже запланировано'];

class DemoLoader {
  private readonly rnd = new Random(SEED);
  private readonly now: Date;
  private readonly counts = { segments: 0, users: 0, counterparties: 0, contacts: 0, leads: 0, deals: 0, works: 0, plans: 0, organizations: 0, products: 0, dealLines: 0, phoneLines: 0, calls: 0 };
  private readonly segmentIds = new Map<SegmentKey, number>();
  private head!: User;
  private managers: User[] = [];
  private readonly managerSegments = new Map<number, SegmentKey[]>();
  private readonly counterparties: CpInfo[] = [];
  private readonly usedNames = new Set<string>();
  private readonly usedInns = new Set<string>();
  private readonly usedPhones = new Set<string>();
  private readonly usedIdentities = new Set<string>();
  private stages: DealStage[] = [];
  private actions: (Action & { results: Result[] })[] = [];
  private readonly deals: DealInfo[] = [];
  private readonly leads: LeadInfo[] = [];
  private readonly doneWorks: { work: Work; manager: User; action: Action & { results: Result[] }; resultName: string; completedAt: Date }[] = [];

  constructor(private readonly tx: ServiceContext) {
    this.now = tx.clock.now();
  }

  async run(): Promise<Record<string, number>> {
    await this.loadReferenceBooks();
    await this.createSegments();
    await this.createTeam();
    await this.createCounterparties();
    await this.createDealsAndLeads();
    await this.createWorks();
    await this.createPlans();
    await this.createSellerAndProducts();
    await this.createTelephony();
    Object.assign(this.counts, await loadDemoHelpdesk(this.tx, { head: this.head, managers: this.managers }, demoTicketClients(this.counterparties), this.now));
    return { ...this.counts };
  }

  // --- contexts and time -------------------------------------------------------------------------

  /** The transaction as of `at`, acting as `user` (or the system). */
  private at(at: Date, user?: User | null): ServiceContext {
    return { ...this.tx, ...(user ? { actor: userActor(user) } : {}), clock: { now: () => at } };
  }

  /** A moment in [a, b]; mostly moved into that day's working hours (09:00–19:00 Moscow) when that stays in range. */
  private between(a: Date | number, b: Date | number): Date {
    const x = +a;
    const y = +b;
    return this.snap(Math.round(x + this.rnd.float() * Math.max(0, y - x)), x, Math.max(x, y));
  }

  /** `t`, or a working moment of the same day when it falls within [lo, hi]: people work in the daytime. */
  private snap(t: number, lo: number, hi: number): Date {
    if (!this.rnd.chance(0.85)) return new Date(t);
    const day = startOfDayInZone(dateInZone(new Date(t), TZ), TZ).getTime();
    const moved = day + this.rnd.int(9 * 60, 19 * 60 - 1) * MINUTE + this.rnd.int(0, 59) * 1000;
    return new Date(moved >= lo && moved <= hi ? moved : t);
  }

  /** A working moment (09:00–19:00 Moscow) `days` days before now (negative: in the future); never after now for past days. */
  private workTime(days: number): Date {
    const day = dateInZone(new Date(this.now.getTime() - days * DAY), TZ);
    const t = new Date(startOfDayInZone(day, TZ).getTime() + this.rnd.int(9 * 60, 19 * 60 - 1) * MINUTE);
    if (days >= 0 && t > this.now) return new Date(this.now.getTime() - this.rnd.int(5, 90) * MINUTE);
    return t;
  }

  private monthStart(offsetMonths: number): Date {
    const { periodStart } = monthOf(this.now, TZ);
    const [y, m] = periodStart.split('-').map(Number) as [number, number];
    const d = new Date(Date.UTC(y, m - 1 + offsetMonths, 1));
    return startOfDayInZone(d.toISOString().slice(0, 10), TZ);
  }

  // --- people, names, phones ---------------------------------------------------------------------

  private person(female = this.rnd.chance(0.45)): Person {
    const surnameM = this.rnd.pick(SURNAMES);
    const surname = female ? femaleSurname(surnameM) : surnameM;
    const first = this.rnd.pick(female ? FEMALE_NAMES : MALE_NAMES);
    const patronymic = this.rnd.pick(PATRONYMICS)[female ? 1 : 0];
    return { surname, first, patronymic, full: `${surname} ${first} ${patronymic}`, short: `${surname} ${first[0]}.${patronymic[0]}.` };
  }

  private personalEmail(p: Person): string {
    const local = this.rnd.pick([
      `${translit(p.first)}.${translit(p.surname)}`,
      `${translit(p.surname)}.${translit(p.first)[0]}`,
      `${translit(p.first)[0]}${translit(p.surname)}${this.rnd.int(1, 99)}`,
      `${translit(p.surname)}${this.rnd.int(70, 99)}`,
    ]);
    return `${local}@${this.rnd.pick(EMAIL_DOMAINS)}`;
  }

  /** A fresh valid number in one of the notations people type: mobile, or a landline of the region. */
  private phone(region: DemoRegion | null, landline = false): string {
    for (;;) {
      const code = landline && region ? this.rnd.pick(region.areaCodes) : this.rnd.pick(['903', '905', '909', '910', '912', '915', '916', '917', '919', '921', '925', '926', '929', '950', '952', '960', '965', '977', '981', '985', '987', '999']);
      const national = code + String(this.rnd.int(2, 9)) + this.rnd.digits(6);
      const e164 = normalizePhone('+7' + national);
      if (!e164 || this.usedPhones.has(e164)) continue;
      this.usedPhones.add(e164);
      return writePhone(this.rnd, national);
    }
  }

  private address(region: DemoRegion, flat: boolean): string {
    const city = this.rnd.pick(region.cities);
    const head = region.prefix ? `${region.prefix}, г. ${city}` : `г. ${city}`;
    const house = `д. ${this.rnd.int(1, 120)}${this.rnd.chance(0.2) ? `, корп. ${this.rnd.int(1, 4)}` : ''}`;
    const tail = flat ? `, кв. ${this.rnd.int(1, 240)}` : this.rnd.chance(0.5) ? `, офис ${this.rnd.int(1, 9)}${String(this.rnd.int(1, 30)).padStart(2, '0')}` : '';
    return `${head}, ${this.rnd.pick(STREETS)}, ${house}${tail}`;
  }

  private uniqueInn(make: () => string): string {
    for (;;) {
      const inn = make();
      if (!this.usedInns.has(inn)) {
        this.usedInns.add(inn);
        return inn;
      }
    }
  }

  // --- reference books, segments and the team ---------------------------------------------------

  private async loadReferenceBooks(): Promise<void> {
    this.stages = await listDealStages(this.tx);
    this.actions = (await listActions(this.tx)).filter((a) => a.results.length > 0);
    if (!this.actions.length) throw new ServiceError('conflict', 'Для демо-данных нужны действия с результатами в справочнике');
  }

  private async createSegments(): Promise<void> {
    const existing = new Map((await listSegments(this.tx)).map((s) => [s.name, s.id]));
    for (const s of SEGMENTS) {
      let id = existing.get(s.name);
      if (!id) {
        id = (await createSegment(this.at(new Date(this.now.getTime() - 240 * DAY)), { name: s.name, description: s.description })).id;
        this.counts.segments++;
      }
      this.segmentIds.set(s.key, id);
    }
  }

  private async createTeam(): Promise<void> {
    const since = this.at(new Date(this.now.getTime() - 230 * DAY));
    for (const member of DEMO_TEAM) {
      // every demo user gets the same public password, DEMO_PASSWORD, so anyone can sign in and look around
      const user = await createUser(since, { email: member.email, name: member.name, role: member.role, password: DEMO_PASSWORD });
      this.counts.users++;
      if (member.role === 'head') this.head = user;
      else {
        this.managers.push(user);
        this.managerSegments.set(user.id, [...member.segments]);
      }
    }
    for (const m of this.managers) {
      await setUserSegments(this.at(new Date(this.now.getTime() - 229 * DAY), this.head), m.id, this.managerSegments.get(m.id)!.map((k) => this.segmentIds.get(k)!));
    }
  }

  private managersOf(segment: SegmentKey): User[] {
    return this.managers.filter((m) => this.managerSegments.get(m.id)!.includes(segment));
  }

  // --- counterparties and contacts ---------------------------------------------------------------

  private async createCounterparties(): Promise<void> {
    const n = COUNTS.counterparties;
    const legal = Math.round(n * 0.6);
    const sole = Math.round(n * 0.2);
    const kinds = this.rnd.shuffle<CounterpartyKind>([
      ...Array<CounterpartyKind>(legal).fill('legal_entity'),
      ...Array<CounterpartyKind>(sole).fill('sole_proprietor'),
      ...Array<CounterpartyKind>(n - legal - sole).fill('individual'),
    ]);
    for (const kind of kinds) await this.createCounterparty(kind);
  }

  private segmentFor(kind: CounterpartyKind): DemoSegment | null {
    if (this.rnd.chance(0.06)) return null;
    const weights: Record<CounterpartyKind, [SegmentKey, number][]> = {
      legal_entity: [['retail', 25], ['production', 22], ['construction', 22], ['it', 16], ['gov', 15]],
      sole_proprietor: [['retail', 45], ['construction', 25], ['production', 15], ['it', 15]],
      individual: [['retail', 50], ['construction', 50]],
    };
    const key = this.rnd.weighted(weights[kind]);
    return SEGMENTS.find((s) => s.key === key)!;
  }

  private companyName(segment: DemoSegment | null): { name: string; core: string; form: string; domain: string; gov: (typeof GOV_NAMES)[number] | null } {
    for (let attempt = 0; ; attempt++) {
      if (segment?.key === 'gov') {
        const gov = this.rnd.pick(GOV_NAMES);
        const num = this.rnd.int(1, 250);
        const name = gov.template.replace('№»', `№ ${num}»`);
        if (this.usedNames.has(name)) continue;
        this.usedNames.add(name);
        const inner = name.slice(name.indexOf('«') + 1, name.indexOf('№')).trim();
        const initials = inner.split(/\s+/).map((w) => translit(w[0]!)).join('');
        return { name, core: inner, form: name.slice(0, name.indexOf(' ')), domain: `${initials}${num}.ru`, gov };
      }
      const key = segment?.key ?? this.rnd.pick(['retail', 'production', 'construction', 'it'] as const);
      const root = this.rnd.pick(NAME_ROOTS);
      const suffix = this.rnd.pick(NAME_SUFFIXES[key as Exclude<SegmentKey, 'gov'>]);
      const sep = this.rnd.weighted([['', 5], ['-', 3], [' ', 2]] as const);
      let core = `${root}${sep}${suffix}`;
      if (attempt > 30) core += ` ${attempt}`;
      const form = this.rnd.weighted([['ООО', 80], ['АО', 16], ['ПАО', 4]] as const);
      if (this.usedNames.has(core)) continue;
      this.usedNames.add(core);
      return { name: `${form} «${core}»`, core, form, domain: `${translit(core)}.ru`, gov: null };
    }
  }

  private capital(form: string): string {
    const rub =
      form === 'ПАО'
        ? this.rnd.int(100, 2000) * 1_000_000
        : form === 'АО'
          ? this.rnd.pick([100_000, 500_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000])
          : this.rnd.pick([10_000, 10_000, 10_000, 20_000, 50_000, 100_000, 300_000, 500_000, 1_000_000, 2_500_000, 10_000_000]);
    // written as people write it: "10 000", "10000", "10 000,00"
    const spaced = rub.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
    return this.rnd.pick([spaced, String(rub), `${spaced},00`]);
  }

  private async createCounterparty(kind: CounterpartyKind): Promise<void> {
    const rnd = this.rnd;
    const region = rnd.weighted(REGIONS.map((r) => [r, r.weight] as const));
    const segment = this.segmentFor(kind);
    const segmentManagers = segment ? this.managersOf(segment.key) : [];
    let responsible: User | null = null;
    if (segment && segmentManagers.length && rnd.chance(0.88)) responsible = rnd.pick(segmentManagers);
    // a few key accounts are handled by someone outside the segment (access by responsibility)
    if (rnd.chance(0.05) || (!segment && rnd.chance(0.5))) responsible = rnd.pick(this.managers);
    const createdAt = this.workTime(rnd.int(20, 200));
    const byManager = responsible && rnd.chance(0.6);
    const ctx = this.at(createdAt, byManager ? responsible : null);

    let name: string;
    let inn: string;
    let kpp: string | null = null;
    let ogrnValue: string | null = null;
    let industry: string | null = null;
    let headcount: number | null = null;
    let capital: string | null = null;
    let domain: string | null = null;
    let person: Person | null = null;
    let gov: (typeof GOV_NAMES)[number] | null = null;
    const phones: string[] = [];
    const emails: string[] = [];
    const year = rnd.int(2004, 2023);

    if (kind === 'legal_entity') {
      const c = this.companyName(segment);
      name = c.name;
      domain = c.domain;
      gov = c.gov;
      inn = this.uniqueInn(() => legalEntityInn(rnd, region.code));
      kpp = kppFor(inn, c.form === 'ПАО');
      ogrnValue = ogrn(rnd, region.code, year);
      industry = gov ? gov.industry : segment ? rnd.pick(segment.industries) : rnd.pick(rnd.pick(SEGMENTS.slice(0, 4)).industries);
      headcount = gov ? rnd.int(40, 900) : c.form === 'ПАО' ? rnd.int(1000, 15000) : rnd.weighted([[rnd.int(5, 50), 50], [rnd.int(51, 250), 35], [rnd.int(251, 3000), 15]] as const);
      capital = gov ? null : this.capital(c.form);
      phones.push(this.phone(region, true));
      if (rnd.chance(0.5)) phones.push(this.phone(region));
      const mailbox = rnd.pick(gov ? ['info', 'priem', 'zakupki', 'office'] : ['info', 'office', 'zakaz', 'sales', 'mail']);
      emails.push(rnd.chance(0.2) ? `${mailbox[0]!.toUpperCase()}${mailbox.slice(1)}@${domain[0]!.toUpperCase()}${domain.slice(1)}` : `${mailbox}@${domain}`);
      person = this.person();
    } else {
      person = this.person();
      inn = this.uniqueInn(() => personInn(rnd, region.code));
      phones.push(this.phone(region));
      if (kind === 'individual' && rnd.chance(0.2)) phones.push(this.phone(region));
      if (kind === 'sole_proprietor' || rnd.chance(0.8)) emails.push(this.personalEmail(person));
      if (kind === 'sole_proprietor') {
        name = `ИП ${person.short}`;
        ogrnValue = ogrnip(rnd, region.code, year);
        industry = segment ? rnd.pick(segment.industries) : rnd.pick(rnd.pick(SEGMENTS.slice(0, 4)).industries);
        headcount = rnd.int(1, 25);
      } else {
        name = person.full;
      }
    }

    const cp = await createCounterparty(ctx, {
      kind,
      name,
      inn,
      kpp,
      ogrn: ogrnValue,
      address: this.address(region, kind === 'individual'),
      region: region.name,
      industry,
      headcount,
      capital,
      phones,
      emails,
      segmentId: segment ? this.segmentIds.get(segment.key)! : null,
      responsibleId: responsible?.id ?? null,
      isActiveClient: rnd.chance(kind === 'individual' ? 0.08 : 0.2),
      comment: byManager ? (rnd.chance(0.15) ? rnd.pick(COUNTERPARTY_COMMENTS.slice(0, 7)) : null) : 'Импортировано из 1С, реквизиты сверены',
    });
    this.counts.counterparties++;
    const info: CpInfo = { cp, segment, contacts: [], createdAt };
    this.counterparties.push(info);

    // contacts, a few minutes later, by the same hand
    const cctx = this.at(new Date(createdAt.getTime() + rnd.int(2, 30) * MINUTE), byManager ? responsible : null);
    if (kind === 'legal_entity') {
      const n = rnd.weighted([[1, 35], [2, 40], [3, 25]] as const);
      const extra = gov ? POSITIONS.gov : [...POSITIONS.company, ...(segment && segment.key !== 'gov' ? POSITIONS[segment.key] : [])];
      const positions = [gov ? gov.head : 'Генеральный директор', ...rnd.sample(extra, n - 1)];
      for (const [i, position] of positions.entries()) {
        const p = i === 0 ? person! : this.person();
        const cPhones = rnd.chance(0.85) ? [this.phone(region)] : [];
        if (i > 0 && rnd.chance(0.2)) cPhones.push(this.phone(region, true));
        const cEmails = rnd.chance(0.7) ? [`${translit(p.first)[0]}.${translit(p.surname)}@${domain}`] : [];
        info.contacts.push(await createContact(cctx, { name: p.full, position, phones: cPhones, emails: cEmails, counterpartyId: cp.id }));
        this.counts.contacts++;
      }
    } else {
      info.contacts.push(
        await createContact(cctx, {
          name: person.full,
          position: kind === 'sole_proprietor' ? 'Индивидуальный предприниматель' : null,
          phones,
          emails,
          counterpartyId: cp.id,
        }),
      );
      this.counts.contacts++;
    }
  }

  /** Counterparties a manager is responsible for. */
  private ownedBy(manager: User): CpInfo[] {
    return this.counterparties.filter((c) => c.cp.responsibleId === manager.id);
  }

  private needFor(info: CpInfo | null): { need: string; amount: number } {
    const personal = !info || info.cp.kind === 'individual' || !info.segment;
    const need = personal && info?.cp.kind !== 'legal_entity' ? this.rnd.pick(PERSON_NEEDS) : this.rnd.pick((info?.segment ?? SEGMENTS[0]!).needs);
    const range = info?.cp.kind === 'individual' || !info ? PERSON_AMOUNT : (info.segment ?? SEGMENTS[0]!).amount;
    // a sole proprietor buys on a smaller scale than a company
    const scale = info?.cp.kind === 'sole_proprietor' ? 0.3 : 1;
    const [lo, hi] = [range[0] * scale, range[1] * scale];
    const raw = lo + this.rnd.float() * (hi - lo);
    const step = raw > 1_000_000 ? 10_000 : 1_000;
    return { need, amount: Math.round(raw / step) * step };
  }

  // --- leads and deals ---------------------------------------------------------------------------

  private leadSources(): LeadSource[] {
    const mix: [LeadSource, number][] = [
      ['website', 22], ['telegram', 10], ['whatsapp', 8], ['viber', 4], ['social', 8], ['phone', 10], ['email', 6], ['manual', 8], ['import', 4],
    ];
    const list = mix.flatMap(([s, n]) => Array<LeadSource>(n).fill(s));
    while (list.length < COUNTS.leads) list.push('website');
    return this.rnd.shuffle(list.slice(0, COUNTS.leads));
  }

  private tracking(source: LeadSource): LeadTracking {
    const rnd = this.rnd;
    if (source === 'website') {
      const engine = rnd.weighted([['yandex', 60], ['google', 25], ['newsletter', 15]] as const);
      const page = `https://demo.crm/${rnd.pick(LANDING_PAGES)}`;
      if (engine === 'yandex') {
        return {
          utm_source: 'yandex',
          utm_medium: 'cpc',
          utm_campaign: rnd.pick(YANDEX_CAMPAIGNS),
          utm_term: rnd.pick(SEARCH_TERMS),
          yclid: rnd.digits(17).replace(/^0/, '1'),
          page_url: page,
        };
      }
      if (engine === 'google') return { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'search_b2b', gclid: `Cj0KCQ${translit(rnd.pick(NAME_ROOTS))}${rnd.digits(8)}`, page_url: page };
      return { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: rnd.pick(['digest_oktyabr', 'digest_noyabr', 'akciya_kassy']), page_url: page };
    }
    if (source === 'social') {
      return rnd.chance(0.6)
        ? { network: 'vk', utm_source: 'vk', utm_medium: rnd.pick(['cpc', 'social']), utm_campaign: rnd.pick(['vk_target_b2b', 'vk_lead_form']) }
        : { network: 'vk' };
    }
    return {};
  }

  private leadTitle(source: LeadSource, need: string): string {
    const prefix: Record<LeadSource, string> = {
      website: 'Заявка с сайта',
      telegram: 'Telegram',
      whatsapp: 'WhatsApp',
      viber: 'Viber',
      social: 'ВКонтакте',
      phone: 'Звонок',
      email: 'Письмо',
      import: 'Импорт',
      manual: '',
    };
    if (!prefix[source]) return need;
    // lower-case the first letter unless it starts an abbreviation (КП, MES)
    const keep = /^[A-Za-z]/.test(need) || (need[1] !== undefined && /\p{Lu}/u.test(need[1]));
    const lc = keep ? need : need[0]!.toLowerCase() + need.slice(1);
    return `${prefix[source]}: ${lc}`;
  }

  /** A contact for a lead that came without a known client (created as the inbound channel would). */
  private async walkInContact(at: Date, source: LeadSource): Promise<Contact> {
    const p = this.person();
    const region = this.rnd.weighted(REGIONS.map((r) => [r, r.weight] as const));
    const c = await createContact(this.at(at), {
      name: this.rnd.chance(0.5) ? `${p.first} ${p.surname}` : p.first,
      phones: source === 'email' ? [] : [this.phone(region)],
      emails: source === 'email' || this.rnd.chance(0.3) ? [this.personalEmail(p)] : [],
      comment: 'Обратился сам, компания не указана',
    });
    this.counts.contacts++;
    return c;
  }

  /** Ties a messenger account to the contact of a lead from that messenger. */
  private async identityFor(contact: Contact | null, source: LeadSource): Promise<void> {
    if (!contact || (source !== 'telegram' && source !== 'whatsapp' && source !== 'viber')) return;
    const key = `${contact.id}:${source}`;
    if (this.usedIdentities.has(key)) return;
    this.usedIdentities.add(key);
    let externalId: string;
    if (source === 'whatsapp') {
      if (!contact.phones[0]) return;
      externalId = `${contact.phones[0].slice(1)}@c.us`;
    } else if (source === 'telegram') externalId = String(this.rnd.int(100_000_000, 7_999_999_999));
    else externalId = `${Buffer.from(this.rnd.digits(16)).toString('base64').slice(0, 22)}==`;
    await addIdentity(this.tx, contact.id, { channel: source, externalId, displayName: contact.name });
  }

  private dealPlans(): DealPlan[] {
    const rnd = this.rnd;
    const won = this.stages.some((s) => s.isWon);
    const lost = this.stages.some((s) => s.isLost);
    const openCount = this.stages.filter((s) => !s.isWon && !s.isLost).length;
    const outcomes: { outcome: DealPlan['outcome']; openStage: number }[] = [];
    const push = (outcome: DealPlan['outcome'], n: number, openStage = 0) => {
      for (let i = 0; i < n; i++) outcomes.push({ outcome, openStage });
    };
    // won this month first, so that every manager gets some (plan vs actual shows actuals)
    push(won ? 'wonThisMonth' : 'open', 10);
    push(won ? 'wonPrevMonth' : 'open', 6);
    push(lost ? 'lost' : 'open', 5);
    const openSplit = [5, 6, 5, 3];
    openSplit.forEach((k, i) => push('open', k, Math.min(i, Math.max(0, openCount - 1))));
    const viaLead = new Set(rnd.sample([...outcomes.keys()], COUNTS.deals - COUNTS.directDeals));
    const pools = new Map(this.managers.map((m) => [m.id, rnd.shuffle(this.ownedBy(m).filter((c) => c.cp.kind !== 'individual' || rnd.chance(0.5)))]));
    const monthStart = this.monthStart(0);
    const prevStart = this.monthStart(-1);
    return outcomes.map(({ outcome, openStage }, i) => {
      const manager = this.managers[i % this.managers.length]!;
      const pool = pools.get(manager.id)!;
      const info = pool[i % pool.length]!;
      const { need, amount } = this.needFor(info);
      let closedAt: Date | null = null;
      let createdAt: Date;
      if (outcome === 'wonThisMonth') {
        closedAt = this.between(monthStart, this.now.getTime() - 5 * MINUTE);
        if (closedAt < monthStart) closedAt = this.now;
        createdAt = this.snap(closedAt.getTime() - rnd.int(7, 40) * DAY, 0, closedAt.getTime() - 6 * DAY);
      } else if (outcome === 'wonPrevMonth') {
        closedAt = this.between(prevStart, monthStart.getTime() - HOUR);
        createdAt = this.snap(closedAt.getTime() - rnd.int(7, 40) * DAY, 0, closedAt.getTime() - 6 * DAY);
      } else if (outcome === 'lost') {
        closedAt = this.snap(this.now.getTime() - rnd.int(1, 40) * DAY - rnd.int(1, 8) * HOUR, 0, this.now.getTime() - HOUR);
        createdAt = this.snap(closedAt.getTime() - rnd.int(5, 30) * DAY, 0, closedAt.getTime() - 4 * DAY);
      } else {
        createdAt = this.workTime(rnd.int(3, 45));
      }
      // the deal cannot predate its client
      if (createdAt.getTime() < info.createdAt.getTime() + 2 * DAY) {
        createdAt = this.between(info.createdAt.getTime() + 2 * DAY, (closedAt ?? this.now).getTime() - 2 * HOUR);
      }
      return { manager, outcome, openStage, viaLead: viaLead.has(i), info, contact: info.contacts.length ? rnd.pick(info.contacts) : null, need, amount, createdAt, closedAt };
    });
  }

  private async createDealsAndLeads(): Promise<void> {
    const rnd = this.rnd;
    const sources = this.leadSources();
    const plans = this.dealPlans();
    let s = 0;

    // converted leads with their deals, and direct deals
    for (const plan of plans) {
      const m = plan.manager;
      let deal: Deal;
      const title = `${plan.need} — ${plan.info.cp.name}`;
      if (plan.viaLead) {
        const source = sources[s++]!;
        const leadAt = this.between(Math.max(plan.info.createdAt.getTime() + 10 * MINUTE, plan.createdAt.getTime() - 10 * DAY), plan.createdAt.getTime() - 6 * HOUR);
        const lead = await createLead(this.at(leadAt), {
          title: this.leadTitle(source, plan.need),
          source,
          tracking: this.tracking(source),
          counterpartyId: plan.info.cp.id,
          contactId: plan.contact?.id ?? null,
          comment: rnd.pick(LEAD_COMMENTS[source]!),
          externalId: source === 'import' ? `demo-import-${String(s).padStart(4, '0')}` : null,
        });
        this.counts.leads++;
        await this.identityFor(plan.contact, source);
        const takenAt = this.between(leadAt.getTime() + 10 * MINUTE, Math.min(leadAt.getTime() + 5 * HOUR, plan.createdAt.getTime() - HOUR));
        await takeLead(this.at(takenAt, m), lead.id);
        if (rnd.chance(0.25)) await this.addParticipant(lead, m, takenAt);
        const converted = await convertLeadToDeal(this.at(plan.createdAt, m), lead.id, { title, amount: String(plan.amount) });
        deal = converted.deal;
        this.leads.push({ lead: converted.lead, manager: m, info: plan.info, start: takenAt, end: plan.createdAt });
      } else {
        deal = await createDeal(this.at(plan.createdAt, m), {
          title,
          amount: String(plan.amount),
          counterpartyId: plan.info.cp.id,
          contactId: plan.contact?.id ?? null,
          comment: rnd.chance(0.3) ? 'Повторная продажа действующему клиенту' : null,
        });
      }
      this.counts.deals++;
      deal = await this.moveThroughStages(deal, plan);
      this.deals.push({
        deal,
        manager: m,
        info: plan.info,
        contact: plan.contact,
        start: plan.createdAt,
        end: plan.closedAt ?? this.now,
        open: plan.closedAt === null,
      });
    }

    // the other leads: new, in progress, closed
    const rest = COUNTS.leads - this.counts.leads;
    const statuses = rnd.shuffle([
      ...Array<'in_progress'>(Math.round(rest * 0.4)).fill('in_progress'),
      ...Array<'new'>(Math.round(rest * 0.32)).fill('new'),
      ...Array<'closed'>(rest - Math.round(rest * 0.4) - Math.round(rest * 0.32)).fill('closed'),
    ]);
    for (const [i, status] of statuses.entries()) {
      const source = sources[s++] ?? 'website';
      const m = this.managers[i % this.managers.length]!;
      const withClient = status === 'in_progress' ? rnd.chance(0.8) : status === 'new' ? rnd.chance(0.5) : rnd.chance(0.4);
      const createdAt =
        status === 'new' ? this.workTime(rnd.int(0, 6)) : status === 'in_progress' ? this.workTime(rnd.int(1, 30)) : this.workTime(rnd.int(5, 60));
      let info: CpInfo | null = null;
      if (withClient) {
        // new leads of known clients go through routing; the others belong to the manager's clients
        const pool = status === 'new' ? this.counterparties.filter((c) => c.cp.segmentId !== null) : this.ownedBy(m);
        info = rnd.pick(pool.filter((c) => c.createdAt < createdAt).length ? pool.filter((c) => c.createdAt < createdAt) : pool);
      }
      const contact = info ? (info.contacts.length ? rnd.pick(info.contacts) : null) : await this.walkInContact(new Date(createdAt.getTime() - MINUTE), source);
      const { need } = this.needFor(info);
      let lead = await createLead(this.at(createdAt), {
        title: this.leadTitle(source, need),
        source,
        tracking: this.tracking(source),
        counterpartyId: info?.cp.id ?? null,
        contactId: contact?.id ?? null,
        comment: rnd.pick(LEAD_COMMENTS[source]!),
        externalId: source === 'import' ? `demo-import-${String(s).padStart(4, '0')}` : null,
      });
      this.counts.leads++;
      await this.identityFor(contact, source);
      let manager: User | null = this.managers.find((u) => u.id === lead.responsibleId) ?? null;
      let start = createdAt;
      if (status === 'in_progress' || (status === 'closed' && rnd.chance(0.5))) {
        const takenAt = new Date(Math.min(createdAt.getTime() + rnd.int(5, 360) * MINUTE, this.now.getTime() - MINUTE));
        if (info) {
          // the manager's own client: they take the lead themselves
          lead = await takeLead(this.at(takenAt, m), lead.id);
          manager = m;
        } else if (rnd.chance(0.5) && manager) {
          lead = await takeLead(this.at(takenAt, manager), lead.id);
        } else {
          // the head hands a walk-in lead to someone
          lead = await assignLead(this.at(takenAt, this.head), lead.id, m.id);
          manager = m;
        }
        start = takenAt;
        if (status === 'in_progress' && rnd.chance(0.2)) await this.addParticipant(lead, manager, takenAt);
      }
      let end = this.now;
      if (status === 'closed') {
        end = this.between(start.getTime() + HOUR, Math.min(start.getTime() + 10 * DAY, this.now.getTime() - MINUTE));
        lead = await closeLead(this.at(end, manager ?? null), lead.id, rnd.pick(LEAD_CLOSE_REASONS));
      }
      this.leads.push({ lead, manager, info, start, end });
    }
  }

  /** R9a: a colleague (or the head) joins the lead to help. */
  private async addParticipant(lead: Lead, owner: User, at: Date): Promise<void> {
    const others = this.managers.filter((u) => u.id !== owner.id);
    const who = this.rnd.chance(0.3) ? this.head : this.rnd.pick(others);
    await addLeadParticipant(this.at(new Date(at.getTime() + this.rnd.int(5, 120) * MINUTE), owner), lead.id, who.id);
  }

  private async moveThroughStages(deal: Deal, plan: DealPlan): Promise<Deal> {
    const rnd = this.rnd;
    const open = this.stages.filter((s) => !s.isWon && !s.isLost);
    const wonStage = this.stages.find((s) => s.isWon && s.name === 'Оплачена') ?? this.stages.find((s) => s.isWon);
    const lostStage = this.stages.find((s) => s.isLost);
    const startIdx = open.findIndex((s) => s.id === deal.stageId);
    let path: DealStage[];
    if (plan.outcome === 'wonThisMonth' || plan.outcome === 'wonPrevMonth') {
      path = [...open.slice(startIdx + 1).filter((_, i, a) => i === a.length - 1 || rnd.chance(0.75)), wonStage!];
    } else if (plan.outcome === 'lost') {
      const upTo = rnd.int(startIdx, open.length - 1);
      path = [...open.slice(startIdx + 1, upTo + 1), lostStage!];
    } else {
      path = open.slice(startIdx + 1, plan.openStage + 1).filter(() => rnd.chance(0.85));
    }
    if (!path.length) return deal;
    const from = plan.createdAt.getTime() + HOUR;
    const to = plan.closedAt ? plan.closedAt.getTime() : this.now.getTime() - 10 * MINUTE;
    const times = path.map(() => this.between(from, to).getTime()).sort((a, b) => a - b);
    if (plan.closedAt) times[times.length - 1] = plan.closedAt.getTime();
    let current = deal;
    for (const [i, stage] of path.entries()) {
      const at = new Date(times[i]!);
      const ctx = this.at(at, plan.manager);
      // after the proposal the amount is often revised
      if (/КП/.test(stage.name) && rnd.chance(0.3)) {
        const revised = Math.round((plan.amount * (0.85 + rnd.float() * 0.25)) / 1000) * 1000;
        current = await setDealAmount(ctx, current.id, String(revised));
      }
      // a lost deal says why (R10); the reason varies by deal without drawing from the generator's sequence
      const reasons = stage.isLost ? await listLossReasons(ctx) : [];
      current = await setDealStage(ctx, current.id, stage.id, reasons.length ? { lossReasonId: reasons[current.id % reasons.length]!.id } : {});
    }
    if (plan.outcome.startsWith('won') && !plan.info.cp.isActiveClient) {
      plan.info.cp = await updateCounterparty(this.at(plan.closedAt!, plan.manager), plan.info.cp.id, { isActiveClient: true });
    }
    return current;
  }

  // --- works -------------------------------------------------------------------------------------

  private plannedResult(action: Action & { results: Result[] }): Result | null {
    const preferred: Record<string, string> = { 'Позвонить': 'Дозвонился', 'Встреча': 'Встреча состоялась', 'Написать в мессенджер': 'Ответил' };
    const want = preferred[action.name];
    if (want) return action.results.find((r) => r.name === want) ?? null;
    return this.rnd.chance(0.85) ? this.rnd.pick(action.results) : null;
  }

  private actualResult(action: Action & { results: Result[] }, planned: Result | null): Result {
    if (planned && this.rnd.chance(0.65)) return planned;
    return this.rnd.pick(action.results);
  }

  private pickAction(): Action & { results: Result[] } {
    const weights: Record<string, number> = { 'Позвонить': 40, 'Отправить': 25, 'Встреча': 15, 'Написать в мессенджер': 20 };
    return this.rnd.weighted(this.actions.map((a) => [a, weights[a.name] ?? 10] as const));
  }

  private workComment(action: Action, planned: Result | null): string | null {
    const list = (planned && SEND_COMMENTS[planned.name]) || WORK_COMMENTS[action.name];
    return list ? this.rnd.pick(list) : null;
  }

  /** Where a work hangs: a deal, a lead or just a client of the manager; with the span of time it may fall in. */
  private workContext(planned: boolean): {
    manager: User;
    info: CpInfo;
    contact: Contact | null;
    dealId: number | null;
    leadId: number | null;
    start: Date;
    end: Date;
  } {
    const rnd = this.rnd;
    for (;;) {
      const kind = rnd.weighted([['deal', 45], ['lead', 20], ['client', 35]] as const);
      if (kind === 'deal') {
        const d = rnd.pick(planned ? this.deals.filter((x) => x.open) : this.deals);
        return { manager: d.manager, info: d.info, contact: d.contact, dealId: d.deal.id, leadId: null, start: d.start, end: d.end };
      }
      if (kind === 'lead') {
        const pool = this.leads.filter((l) => l.info && l.manager && (planned ? l.lead.status === 'in_progress' : l.lead.status !== 'new'));
        if (!pool.length) continue;
        const l = rnd.pick(pool);
        const contact = l.lead.contactId ? (l.info!.contacts.find((c) => c.id === l.lead.contactId) ?? null) : null;
        return { manager: l.manager!, info: l.info!, contact, dealId: null, leadId: l.lead.id, start: l.start, end: l.end };
      }
      const manager = rnd.pick(this.managers);
      const info = rnd.pick(this.ownedBy(manager));
      const start = new Date(Math.max(info.createdAt.getTime() + DAY, this.now.getTime() - 60 * DAY));
      return { manager, info, contact: info.contacts.length && rnd.chance(0.7) ? rnd.pick(info.contacts) : null, dealId: null, leadId: null, start, end: this.now };
    }
  }

  private async createWorks(): Promise<void> {
    const rnd = this.rnd;
    const primary = COUNTS.works - COUNTS.followUps;
    type Category = 'done' | 'overdue' | 'today' | 'future' | 'cancelled';
    const categories = rnd.shuffle<Category>([
      ...Array<'done'>(Math.round(primary * 0.53)).fill('done'),
      ...Array<'overdue'>(Math.round(primary * 0.18)).fill('overdue'),
      ...Array<'today'>(Math.round(primary * 0.1)).fill('today'),
      ...Array<'cancelled'>(3).fill('cancelled'),
    ]);
    while (categories.length < primary) categories.splice(rnd.int(0, categories.length), 0, 'future');
    const today = dateInZone(this.now, TZ);
    const dayStart = startOfDayInZone(today, TZ).getTime();
    const nowMs = this.now.getTime();

    for (const category of categories) {
      const planned = category !== 'done' && category !== 'cancelled';
      let c = this.workContext(planned);
      // enough room in the context's time span for this kind of work
      for (let i = 0; i < 20 && c.end.getTime() - c.start.getTime() < (category === 'overdue' ? 2 * DAY : 4 * HOUR); i++) c = this.workContext(planned);
      const start = c.start.getTime();
      const end = Math.min(c.end.getTime(), nowMs);
      let createdAt: number;
      let deadline: number;
      let finishAt: number | null = null;
      switch (category) {
        case 'done': {
          finishAt = Math.min(this.between(start + 3 * HOUR, end).getTime(), nowMs - MINUTE);
          createdAt = this.between(Math.max(start, finishAt - 6 * DAY), finishAt - HOUR).getTime();
          deadline = createdAt + rnd.int(1, 5) * DAY + rnd.int(-3, 3) * HOUR;
          break;
        }
        case 'cancelled': {
          createdAt = this.between(start, end - 2 * HOUR).getTime();
          deadline = createdAt + rnd.int(1, 5) * DAY;
          finishAt = Math.min(createdAt + rnd.int(1, 36) * HOUR, nowMs - MINUTE);
          break;
        }
        case 'overdue': {
          deadline = Math.min(this.between(Math.max(start + DAY, nowMs - 12 * DAY), nowMs - HOUR).getTime(), nowMs - HOUR);
          createdAt = this.between(Math.max(start, deadline - 5 * DAY), deadline - HOUR).getTime();
          break;
        }
        case 'today': {
          const lo = Math.max(nowMs + 5 * MINUTE, dayStart + 9 * HOUR);
          const hi = dayStart + 20 * HOUR > lo ? dayStart + 20 * HOUR : dayStart + DAY - MINUTE;
          deadline = this.between(lo, Math.max(lo, hi)).getTime();
          createdAt = this.between(Math.max(start, nowMs - 5 * DAY), nowMs - 10 * MINUTE).getTime();
          break;
        }
        default: {
          deadline = this.workTime(-rnd.int(1, 21)).getTime();
          createdAt = this.between(Math.max(start, nowMs - 7 * DAY), nowMs - 10 * MINUTE).getTime();
        }
      }
      const action = this.pickAction();
      const plannedResult = this.plannedResult(action);
      const work = await createWork(this.at(new Date(createdAt), c.manager), {
        actionId: action.id,
        plannedResultId: plannedResult?.id ?? null,
        deadline: new Date(deadline),
        comment: this.workComment(action, plannedResult),
        counterpartyId: c.info.cp.id,
        contactId: c.contact?.id ?? null,
        dealId: c.dealId,
        leadId: c.leadId,
      });
      this.counts.works++;
      if (category === 'done') await this.complete(work, c.manager, action, plannedResult, new Date(finishAt!));
      if (category === 'cancelled') await cancelWork(this.at(new Date(finishAt!), c.manager), work.id, { reason: DEMO_CANCEL_REASONS[work.id % DEMO_CANCEL_REASONS.length]! });
    }

    // «Работа на основании текущей»: what comes after a missed call, a postponed meeting, a good call
    const followUpAfter = ['Не дозвонился', 'Перезвонить', 'Встреча перенесена', 'Без ответа', 'Дозвонился', 'Встреча состоялась'];
    const sources = rnd
      .shuffle(this.doneWorks.filter((d) => followUpAfter.includes(d.resultName)))
      .sort((a, b) => followUpAfter.indexOf(a.resultName) - followUpAfter.indexOf(b.resultName))
      .slice(0, COUNTS.followUps);
    for (const src of sources) {
      let action = src.action;
      if (src.resultName === 'Дозвонился' || src.resultName === 'Встреча состоялась') {
        action = this.actions.find((a) => a.name === 'Отправить') ?? action;
      }
      const plannedResult =
        action.name === 'Отправить' ? (action.results.find((r) => r.name === 'Коммерческое предложение') ?? this.plannedResult(action)) : this.plannedResult(action);
      const deadline = new Date(src.completedAt.getTime() + rnd.int(1, 5) * DAY);
      const comment =
        src.resultName === 'Встреча перенесена'
          ? 'Новая дата встречи'
          : src.resultName === 'Дозвонился' || src.resultName === 'Встреча состоялась'
            ? 'Отправить КП по итогам разговора'
            : 'Повторная попытка связаться';
      const createdAt = new Date(Math.min(src.completedAt.getTime() + rnd.int(1, 20) * MINUTE, nowMs));
      const work = await createFollowUpWork(this.at(createdAt, src.manager), src.work.id, {
        actionId: action.id,
        plannedResultId: plannedResult?.id ?? null,
        deadline,
        comment,
      });
      this.counts.works++;
      const dueMs = deadline.getTime();
      if (dueMs < nowMs - 2 * HOUR && rnd.chance(0.6)) {
        const finish = this.between(Math.max(src.completedAt.getTime() + HOUR, dueMs - DAY), Math.min(dueMs + DAY, nowMs - MINUTE));
        await this.complete(work, src.manager, action, plannedResult, finish);
      }
    }
  }

  private async complete(work: Work, manager: User, action: Action & { results: Result[] }, planned: Result | null, at: Date): Promise<void> {
    const result = this.actualResult(action, planned);
    const comments = RESULT_COMMENTS[result.name];
    const done = await completeWork(this.at(at, manager), work.id, {
      resultId: result.id,
      ...(comments && this.rnd.chance(0.8) ? { comment: this.rnd.pick(comments) } : {}),
    });
    this.doneWorks.push({ work: done, manager, action, resultName: result.name, completedAt: at });
  }

  // --- plans -------------------------------------------------------------------------------------

  /**
   * Targets in proportion to what each manager does in the data, so that plan vs actual looks like
   * a real month: the previous one roughly met, the current one in progress.
   */
  // --- documents: the seller and the products book ----------------------------------------------

  /**
   * «Наши организации» and «Товары и услуги», and line items on a few open deals (their amount becomes
   * the lines' sum). Done last and without the shared random sequence, so the rest of the data set
   * stays the same as before these books existed.
   */
  private async createSellerAndProducts(): Promise<void> {
    const ctx = this.at(new Date(this.now.getTime() - 90 * DAY), this.head);
    const org = await createOrganization(ctx, DEMO_SELLER);
    await addBankAccount(ctx, org.id, DEMO_SELLER_BANK);
    this.counts.organizations++;
    const products: Product[] = [];
    for (const p of DEMO_PRODUCTS) {
      products.push(await createProduct(ctx, p));
      this.counts.products++;
    }
    const open = this.deals.filter((d) => d.open).slice(0, 8);
    for (const [i, d] of open.entries()) {
      const picks = DEMO_DEAL_LINES[i % DEMO_DEAL_LINES.length]!;
      let total = 0n;
      const rows = picks.map(([index, quantity, discountPercent], position) => {
        const p = products[index]!;
        total += lineSums({ quantity, priceKopecks: p.priceKopecks, discountPercent, vatRate: p.vatRate }).amountKopecks;
        return { dealId: d.deal.id, position: position + 1, productId: p.id, name: p.name, quantity, unit: p.unit, priceKopecks: p.priceKopecks, discountPercent, vatRate: p.vatRate, createdAt: d.start };
      });
      await this.tx.db.insert(dealLines).values(rows);
      await this.tx.db.update(dealsTable).set({ amountKopecks: total }).where(eq(dealsTable.id, d.deal.id));
      this.counts.dealLines += rows.length;
    }
  }

  // --- telephony ---------------------------------------------------------------------------------

  /** Lines, extensions, rules and the calls made about the demo's leads and deals (core/demo/telephony.ts). */
  private async createTelephony(): Promise<void> {
    // the person phoned: the record's contact when they have a phone, else a colleague of theirs who has one
    const reach = (contact: Contact | null, info: CpInfo | null) => {
      const who = contact?.phones.length ? contact : (info?.contacts.find((c) => c.phones.length) ?? null);
      return { contactId: who?.id ?? contact?.id ?? null, phone: who?.phones[0] ?? null };
    };
    const subjects: DemoCallSubject[] = [
      ...this.deals.map((d) => ({ manager: d.manager, start: d.start, end: d.end, counterpartyId: d.info.cp.id, ...reach(d.contact, d.info), leadId: null, dealId: d.deal.id })),
      ...this.leads
        .filter((l): l is LeadInfo & { manager: User } => !!l.manager)
        .map((l) => {
          const contact = l.info?.contacts.find((c) => c.id === l.lead.contactId) ?? null;
          return { manager: l.manager, start: l.start, end: l.end, counterpartyId: l.info?.cp.id ?? null, ...reach(contact, l.info), leadId: l.lead.id, dealId: null };
        }),
    ];
    const made = await loadDemoTelephony(this.at(new Date(this.now.getTime() - 120 * DAY), this.head), { head: this.head, managers: this.managers }, subjects, this.now);
    this.counts.phoneLines = made.lines;
    this.counts.calls = made.calls;
  }

  private async createPlans(): Promise<void> {
    const wonStages = new Set(this.stages.filter((s) => s.isWon).map((s) => s.id));
    for (const offset of [-1, 0]) {
      const start = this.monthStart(offset);
      const end = this.monthStart(offset + 1);
      const period = monthOf(new Date(start.getTime() + DAY), TZ);
      const inMonth = (d: Date | null) => !!d && d >= start && d < end;
      // the current month is partly over: aim at the whole of it
      const elapsed = Math.min(1, Math.max(0.25, (this.now.getTime() - start.getTime()) / (end.getTime() - start.getTime())));
      // the head sets the month's targets a couple of days before it starts
      const ctx = this.at(this.snap(start.getTime() - 2 * DAY, start.getTime() - 3 * DAY, start.getTime() - DAY), this.head);
      for (const m of this.managers) {
        const won = this.deals.filter((d) => d.manager.id === m.id && wonStages.has(d.deal.stageId) && inMonth(d.deal.closedAt));
        const rub = Number(won.reduce((s, d) => s + d.deal.amountKopecks, 0n) / 100n);
        const done = this.doneWorks.filter((w) => w.manager.id === m.id && inMonth(w.completedAt)).length;
        const factor = (0.8 + this.rnd.float() * 0.5) / elapsed;
        await setPlan(ctx, {
          userId: m.id,
          ...period,
          dealAmount: String(Math.max(1_000_000, Math.round((rub * factor) / 100_000) * 100_000)),
          dealCount: Math.max(2, Math.round(won.length * factor)),
          worksCount: Math.max(8, Math.round(done * factor)),
        });
        this.counts.plans++;
      }
    }
  }
}
