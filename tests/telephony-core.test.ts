import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { systemActor, type ServiceContext } from '../core/context.js';
import { calls, contacts, leads, works } from '../core/db/schema/index.js';
import { createContact } from '../core/contacts/contacts.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createSegment, setUserSegments } from '../core/segments/segments.js';
import { createUser, userActor, type User } from '../core/users/users.js';
import { NOTIFY_JOB, type Notification } from '../core/notifications/notify.js';
import { ServiceError } from '../core/errors.js';
import { listenSignals } from '../core/shared/signals.js';
import { createLine, setUserExtensions, type PhoneLine } from '../core/telephony/lines.js';
import { createCallRule } from '../core/telephony/rules.js';
import { callRecording, claimCall, getCall, listCalls, placeCall, recordCallEvent, ringingCallsFor } from '../core/telephony/calls.js';
import { callCard } from '../core/telephony/card.js';
import { getHistory } from '../core/history/history.js';
import { recordingFile, registerRecordingJobs } from '../core/telephony/recordings.js';
import { TelephonyError, type CallEvent, type CallSignal, type PlaceCallRequest, type TelephonyClients, type TelephonyProvider } from '../core/telephony/types.js';
import type { Services } from '../core/services.js';
import { openTestServices } from './helpers/services.js';
import { waitFor } from './helpers/wait.js';

/**
 * The calls core as the providers' webhooks and the users' buttons drive it: events in any order
 * into one row per call, the client found or made, the call given by «Прием звонков IP», a missed
 * call becoming a work, recordings fetched into DATA_DIR, click-to-call and «Принять», R3.
 * The provider is a small object standing in for the telephony port (the provider folders test
 * their HTTP against fakes of their own).
 */
let s: Services & { dataDir: string };
let sys: ServiceContext;
let anna: User, boris: User, vera: User, head: User;
let office: PhoneLine, ads: PhoneLine;
const notes: Notification[] = [];
const signals: CallSignal[] = [];
let stopSignals: () => Promise<void>;

/** The in-test provider: remembers what it was asked, refuses when told to, serves recordings. */
const fake = {
  placed: [] as PlaceCallRequest[],
  routed: [] as { legId: string; extension: string }[],
  refuse: null as TelephonyError | null,
  callKey: undefined as string | undefined,
  /** a webhook that arrives while the provider is still answering the request */
  beforeAnswer: null as (() => Promise<unknown>) | null,
};
const provider: TelephonyProvider = {
  provider: 'mango',
  async placeCall(req) {
    if (fake.refuse) throw fake.refuse;
    fake.placed.push(req);
    await fake.beforeAnswer?.();
    return { callKey: fake.callKey };
  },
  async routeCall(req) {
    fake.routed.push({ legId: req.legId, extension: req.extension });
  },
  async fetchRecording({ recordingId }) {
    if (recordingId === 'gone') throw new TelephonyError('Mango Office: запись не найдена', false);
    return { data: Buffer.from(`ID3 запись ${recordingId}`), mime: 'audio/mpeg' };
  },
};
const clients: TelephonyClients = { mango: provider };

let seq = 0;
const newKey = () => `entry-${process.pid}-${++seq}`;
const ev = (e: Partial<CallEvent> & Pick<CallEvent, 'kind' | 'callKey'>): CallEvent => ({ provider: 'mango', at: new Date(), ...e });
/** what a webhook does: the system actor «телефония» */
const record = (e: Partial<CallEvent> & Pick<CallEvent, 'kind' | 'callKey'>) => recordCallEvent(s.ctx(systemActor('телефония')), ev(e));
const rowsOf = (key: string) => sys.db.select().from(calls).where(and(eq(calls.provider, 'mango'), eq(calls.providerCallId, key)));
const as = (u: User) => s.ctx(userActor(u));
const notesFor = (callId: number, kind: Notification['kind']) => notes.filter((n) => n.callId === callId && n.kind === kind);

before(async () => {
  s = await openTestServices();
  sys = s.ctx();
  anna = await createUser(sys, { email: 'anna@calls.test', name: 'Анна', role: 'manager' });
  boris = await createUser(sys, { email: 'boris@calls.test', name: 'Борис', role: 'manager' });
  vera = await createUser(sys, { email: 'vera@calls.test', name: 'Вера', role: 'manager' });
  head = await createUser(sys, { email: 'head@calls.test', name: 'Глава', role: 'head' });
  await s.database.rows(sql`UPDATE users SET telegram_id = 700000 + id`);
  // new clients go to Анна (the only manager on duty); Борис works his segment
  await s.database.rows(sql`UPDATE users SET on_duty = false WHERE id IN (${boris.id}, ${vera.id})`);
  const south = await createSegment(sys, { name: 'Юг' });
  await setUserSegments(sys, boris.id, [south.id]);
  office = await createLine(sys, { provider: 'mango', number: '+7 495 100-00-01', name: 'Офис' });
  ads = await createLine(sys, { provider: 'mango', number: '+7 495 100-00-02', name: 'Реклама' });
  await setUserExtensions(sys, anna.id, { mango: '101' });
  await setUserExtensions(sys, boris.id, { mango: '102' });
  await setUserExtensions(sys, vera.id, { mango: '103' });
  // «Прием звонков IP»: the advertising line goes to Вера; otherwise the client's responsible; else the leads' routing
  await createCallRule(sys, { name: 'Реклама — Вере', lineId: ads.id, target: 'user', targetUserId: vera.id });
  await createCallRule(sys, { name: 'Ответственному', target: 'responsible' });
  s.jobs.process<Notification>(NOTIFY_JOB, async (job) => void notes.push(job.data));
  registerRecordingJobs(s, clients);
  stopSignals = await listenSignals<CallSignal>(s.database, 'crm_calls', (sg) => void signals.push(sg));
  await s.jobs.start();
});
after(async () => {
  await stopSignals?.();
  await s?.close();
});

describe('an incoming call', () => {
  test('from an unknown number: a contact, a lead «Телефонный звонок», the call linked and announced to the user the rules choose', async () => {
    const key = newKey();
    const { callId, created } = await record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '8 (916) 700-00-01', lineNumber: '74951000002', legId: 'leg-1', seq: 1 });
    assert.equal(created, true);
    const call = await getCall(sys, callId);
    assert.equal(call.status, 'ringing');
    assert.equal(call.clientNumber, '+79167000001');
    assert.equal(call.lineId, ads.id);
    assert.equal(call.userId, vera.id, 'the advertising line’s rule gives it to Вера');
    const [contact] = await sys.db.select().from(contacts).where(eq(contacts.id, call.contactId!));
    assert.equal(contact!.name, '+7 916 700 00 01');
    assert.deepEqual(contact!.phones, ['+79167000001']);
    const [lead] = await sys.db.select().from(leads).where(eq(leads.id, call.leadId!));
    assert.equal(lead!.source, 'phone');
    assert.equal(lead!.contactId, contact!.id);
    assert.equal(lead!.responsibleId, anna.id, 'the lead is routed like any lead');
    const ring = await waitFor('the incoming-call notice', () => notesFor(callId, 'incoming_call')[0]);
    assert.equal(ring.userId, vera.id);
    assert.match(ring.text, /Входящий звонок: \+7 916 700 00 01 — линия «Реклама»/);
    await waitFor('the ringing signal', () => signals.find((sg) => sg.callId === callId && sg.kind === 'ringing' && sg.userId === vera.id));
    assert.deepEqual((await ringingCallsFor(as(vera))).map((c) => c.id), [callId]);

    // the same event again changes nothing and tells nobody twice
    const again = await record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '+79167000001', lineNumber: '+74951000002', seq: 1 });
    assert.deepEqual(again, { callId, created: false });
    assert.equal((await sys.db.select().from(leads).where(eq(leads.contactId, contact!.id))).length, 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(notesFor(callId, 'incoming_call').length, 1);

    const card = await callCard(as(vera), callId);
    assert.equal(card.number, '+7 916 700 00 01');
    assert.equal(card.contact?.id, contact!.id);
    assert.equal(card.lead?.id, lead!.id);
    // the card went to Вера, so Анна hears of her new lead the usual way
    const announced = await waitFor('the new lead’s notice', () => notes.find((n) => n.kind === 'new_lead' && n.leadId === lead!.id));
    assert.equal(announced.userId, anna.id);
  });

  test('from an unknown number given to the new lead’s responsible: one card, and no separate «Новый лид» to hold it back', async () => {
    const key = newKey();
    const { callId } = await record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '+79167000011', lineNumber: '+74951000001' });
    const call = await getCall(sys, callId);
    const [lead] = await sys.db.select().from(leads).where(eq(leads.id, call.leadId!));
    assert.equal(lead!.responsibleId, anna.id);
    assert.equal(call.userId, anna.id, 'the call goes where its lead went');
    await waitFor('the incoming-call notice', () => notesFor(callId, 'incoming_call')[0]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(notes.filter((n) => n.kind === 'new_lead' && n.leadId === lead!.id).length, 0);
  });

  test('from a known client: given to their responsible by the rule, with their company and last interactions on the card', async () => {
    const cp = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Южный порт»', responsibleId: boris.id });
    const contact = await createContact(sys, { name: 'Олег Портов', phones: ['+7 918 700-00-02'], counterpartyId: cp.id });
    const earlier = await record({ kind: 'ended', callKey: newKey(), direction: 'in', clientNumber: '+79187000002', lineNumber: '+74951000001', result: 'answered', extension: '102', answeredAt: new Date(Date.now() - 3_600_000), endedAt: new Date(Date.now() - 3_500_000) });
    const { callId } = await record({ kind: 'ringing', callKey: newKey(), direction: 'in', clientNumber: '+79187000002', lineNumber: '+74951000001' });
    const call = await getCall(sys, callId);
    assert.equal(call.contactId, contact.id);
    assert.equal(call.counterpartyId, cp.id);
    assert.equal(call.userId, boris.id);
    assert.equal(call.lineName, 'Офис');
    assert.equal((await sys.db.select().from(leads).where(eq(leads.contactId, contact.id))).length, 0, 'a known client gets no lead by calling');
    await waitFor('the notice to the responsible', () => notesFor(callId, 'incoming_call').find((n) => n.userId === boris.id));
    const card = await callCard(as(boris), callId);
    assert.equal(card.counterparty?.name, 'ООО «Южный порт»');
    assert.equal(card.contact?.name, 'Олег Портов');
    assert.deepEqual(card.last.map((i) => [i.kind, i.id]), [['call', earlier.callId]], 'the earlier call, not this one');
  });
});

describe('events repeated and out of order', () => {
  test('the summary first, then the late call events: one correct answered call, linked to the client', async () => {
    const key = newKey();
    const answeredAt = new Date(Date.now() - 120_000);
    const endedAt = new Date(Date.now() - 60_000);
    const first = await record({ kind: 'ended', callKey: key, direction: 'in', clientNumber: '+79167000003', lineNumber: '+74951000001', answeredAt, endedAt, extension: '101', result: 'answered', at: endedAt });
    assert.equal(first.created, true);
    let call = await getCall(sys, first.callId);
    assert.equal(call.status, 'answered');
    assert.equal(call.durationSec, 60);
    assert.equal(call.userId, anna.id);
    assert.equal(call.lineId, office.id);
    assert.ok(call.contactId && call.leadId, 'a summary alone still makes the contact and lead');
    assert.equal(call.fromNumber, '+79167000003');
    assert.equal(call.toNumber, '+74951000001');
    // the call events arrive late, repeated, a leg hangs up: nothing goes back
    await Promise.all([
      record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '+79167000003', lineNumber: '+74951000001', seq: 1, at: new Date(Date.now() - 130_000) }),
      record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '+79167000003', lineNumber: '+74951000001', seq: 1, at: new Date(Date.now() - 130_000) }),
      record({ kind: 'answered', callKey: key, extension: '101', seq: 2 }),
      record({ kind: 'leg_ended', callKey: key, seq: 3, disconnectReason: '1110' }),
      record({ kind: 'ended', callKey: key, direction: 'in', clientNumber: '+79167000003', answeredAt, endedAt, result: 'answered' }),
    ]);
    const rows = await rowsOf(key);
    assert.equal(rows.length, 1);
    call = await getCall(sys, first.callId);
    assert.equal(call.status, 'answered');
    assert.equal(call.durationSec, 60);
    assert.ok(call.at < answeredAt, 'the call starts when it rang');
    assert.equal((await sys.db.select().from(leads).where(eq(leads.contactId, call.contactId!))).length, 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(notesFor(first.callId, 'incoming_call').length, 0, 'a call already over is not announced as ringing');
    // on the client's timeline: the number as people write it, the line, the result and the talk time
    const [onTimeline] = (await getHistory(sys, 'contact', call.contactId!)).filter((h) => h.kind === 'call');
    assert.equal(onTimeline!.title, `Входящий звонок с +7 916 700 00 03 (линия «${office.name}»)`);
    assert.equal(onTimeline!.text, 'состоялся, 1:00');
  });

  test('a leg hanging up never ends the call; the answer moves it to «идёт разговор» once', async () => {
    const key = newKey();
    const { callId } = await record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '+79167000004', lineNumber: '+74951000001', seq: 1 });
    await record({ kind: 'answered', callKey: key, extension: '102', seq: 3 });
    await record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '+79167000004', seq: 2 });
    await record({ kind: 'leg_ended', callKey: key, seq: 4, disconnectReason: '1110' });
    const call = await getCall(sys, callId);
    assert.equal(call.status, 'talking');
    assert.equal(call.endedAt, null);
    assert.equal(call.userId, boris.id, 'who answered has the call');
    assert.equal(call.disconnectReason, '1110');
    await waitFor('the answered signal', () => signals.find((sg) => sg.callId === callId && sg.kind === 'answered'));
  });

  test('a missed incoming call: one work «Позвонить» for the responsible, even when the end comes twice', async () => {
    const key = newKey();
    const { callId } = await record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '+79167000005', lineNumber: '+74951000001', seq: 1 });
    const endedAt = new Date();
    const end = () => record({ kind: 'ended', callKey: key, direction: 'in', clientNumber: '+79167000005', endedAt, result: 'missed' });
    await Promise.all([end(), end()]);
    await end();
    const call = await getCall(sys, callId);
    assert.equal(call.status, 'missed');
    assert.equal(call.durationSec, 0);
    const made = await sys.db.select().from(works).where(eq(works.leadId, call.leadId!));
    assert.equal(made.length, 1);
    const [work] = made;
    assert.equal(call.followUpWorkId, work!.id);
    const [lead] = await sys.db.select().from(leads).where(eq(leads.id, call.leadId!));
    assert.equal(work!.responsibleId, lead!.responsibleId);
    assert.match(work!.comment ?? '', /^Перезвонить: пропущенный звонок \+7 916 700 00 05/);
    assert.ok(work!.deadline.getTime() <= endedAt.getTime() + 45 * 60_000 && work!.deadline > endedAt);
    const [action] = await s.database.rows<{ name: string }>(sql`SELECT name FROM actions WHERE id = ${work!.actionId}`);
    assert.equal(action!.name, 'Позвонить');
    const missed = await waitFor('the missed-call notice', () => notesFor(callId, 'missed_call')[0]);
    assert.equal(missed.userId, lead!.responsibleId);
    assert.equal(missed.workId, work!.id);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(notesFor(callId, 'missed_call').length, 1);
  });
});

describe('recordings', () => {
  test('a recording event → the job fetches it into DATA_DIR → callRecording gives it', async () => {
    const key = newKey();
    const { callId } = await record({ kind: 'ended', callKey: key, direction: 'in', clientNumber: '+79187000002', result: 'answered', extension: '102', answeredAt: new Date(Date.now() - 30_000), endedAt: new Date() });
    await record({ kind: 'recording', callKey: key, recordingId: 'rec-1' });
    await record({ kind: 'recording', callKey: key, recordingId: 'rec-1' });
    const stored = await waitFor('the recording stored', async () => {
      const c = await getCall(sys, callId);
      return c.recordingStatus === 'stored' && c;
    });
    const rec = await callRecording(as(boris), callId);
    assert.equal(rec.mime, 'audio/mpeg');
    const at = stored.at;
    assert.equal(rec.path, `recordings/${at.getUTCFullYear()}/${String(at.getUTCMonth() + 1).padStart(2, '0')}/call-${callId}.mp3`);
    assert.equal(await readFile(recordingFile(s.dataDir, rec.path), 'utf8'), 'ID3 запись rec-1');
    assert.match(rec.name, /\.mp3$/);
    // whatever a row says, only files under DATA_DIR/recordings are ever served
    for (const bad of ['secret.key', '../secret.key', 'recordings/../secret.key', path.join(s.dataDir, 'secret.key')]) {
      assert.throws(() => recordingFile(s.dataDir, bad), (e) => e instanceof ServiceError && e.code === 'not_found', bad);
    }
  });

  test('a recording the provider says is gone is marked failed at once, and there is nothing to play', async () => {
    const key = newKey();
    const { callId } = await record({ kind: 'ended', callKey: key, direction: 'out', clientNumber: '+79187000002', lineNumber: '+74951000001', result: 'answered', answeredAt: new Date(Date.now() - 10_000), endedAt: new Date() });
    await record({ kind: 'recording', callKey: key, recordingId: 'gone' });
    await waitFor('the recording failed', async () => (await getCall(sys, callId)).recordingStatus === 'failed');
    await assert.rejects(callRecording(sys, callId), (e) => e instanceof ServiceError && e.code === 'not_found');
  });
});

describe('click-to-call', () => {
  test('more than one line: the user chooses; the chosen line and their extension reach the provider; the provider’s events find the row', async () => {
    await assert.rejects(placeCall(as(anna), clients, { number: '8 916 700-00-01' }), (e) => e instanceof ServiceError && e.code === 'invalid' && e.fields.lineId === 'выберите линию');
    const placed = await placeCall(as(anna), clients, { number: '8 916 700-00-01', lineId: office.id });
    assert.equal(placed.direction, 'out');
    assert.equal(placed.status, 'ringing');
    assert.equal(placed.userId, anna.id);
    assert.equal(placed.clientNumber, '+79167000001');
    assert.ok(placed.contactId, 'the number’s contact is linked');
    const req = fake.placed.at(-1)!;
    assert.deepEqual({ ...req, commandId: undefined }, { extension: '101', toNumber: '+79167000001', lineNumber: '+74951000001', commandId: undefined });
    assert.equal(req.commandId, placed.commandId);
    // the provider's first event carries our command id; the summary only its own key
    const key = newKey();
    const r = await record({ kind: 'ringing', callKey: key, commandId: req.commandId, direction: 'out', extension: '101', clientNumber: '+79167000001', seq: 1 });
    assert.deepEqual(r, { callId: placed.id, created: false });
    await record({ kind: 'ended', callKey: key, direction: 'out', clientNumber: '+79167000001', answeredAt: new Date(Date.now() - 5_000), endedAt: new Date(), result: 'answered' });
    const done = await getCall(sys, placed.id);
    assert.equal(done.status, 'answered');
    assert.equal(done.providerCallId, key);
    assert.equal((await rowsOf(key)).length, 1);
  });

  test('a provider that answers with its call key (Kazoo), before or after its first event: still one row', async () => {
    const place = async (key: string, event: (() => Promise<unknown>) | null) => {
      fake.callKey = key;
      fake.beforeAnswer = event;
      try {
        return await placeCall(as(anna), clients, { number: '+7 916 700-00-09', lineId: office.id });
      } finally {
        fake.callKey = undefined;
        fake.beforeAnswer = null;
      }
    };
    // the answer first
    const k1 = newKey();
    const p1 = await place(k1, null);
    assert.equal(p1.providerCallId, k1);
    await record({ kind: 'ringing', callKey: k1, direction: 'out', extension: '101', clientNumber: '+79167000009' });
    assert.equal((await rowsOf(k1)).length, 1);
    // the event first, with the number: it finds the row just placed
    const k2 = newKey();
    const p2 = await place(k2, () => record({ kind: 'ringing', callKey: k2, direction: 'out', extension: '101', clientNumber: '+79167000009' }));
    assert.equal(p2.providerCallId, k2);
    assert.deepEqual((await rowsOf(k2)).map((r) => r.id), [p2.id]);
    // the event first, without the number: the answer joins the event's row, keeping the click's user and links
    const k3 = newKey();
    const p3 = await place(k3, () => record({ kind: 'answered', callKey: k3, extension: '101' }));
    const rows = await rowsOf(k3);
    assert.deepEqual(rows.map((r) => r.id), [p3.id]);
    assert.equal(p3.userId, anna.id);
    assert.equal(p3.direction, 'out');
    assert.equal(p3.clientNumber, '+79167000009');
    assert.equal(p3.status, 'talking');
    assert.equal((await sys.db.select().from(calls).where(eq(calls.commandId, fake.placed.at(-1)!.commandId))).length, 1);
  });

  test('what stops a call is said in Russian: no extension, a refusal, an unreadable number, a provider not set up', async () => {
    await assert.rejects(placeCall(as(head), clients, { number: '+79167000001', lineId: office.id }), (e) => e instanceof ServiceError && e.code === 'invalid' && /внутреннего номера/.test(e.fields.lineId ?? ''));
    await assert.rejects(placeCall(as(anna), clients, { number: '12', lineId: office.id }), (e) => e instanceof ServiceError && e.code === 'invalid' && !!e.fields.number);
    await assert.rejects(placeCall(as(anna), {}, { number: '+79167000001', lineId: office.id }), (e) => e instanceof ServiceError && e.code === 'unavailable' && /Телефония Mango Office не настроена/.test(e.message));
    fake.refuse = new TelephonyError('Mango Office: неверный внутренний номер', false);
    try {
      await assert.rejects(placeCall(as(anna), clients, { number: '+79167000001', lineId: office.id }), (e) => e instanceof ServiceError && e.code === 'invalid' && e.message === 'Mango Office: неверный внутренний номер');
    } finally {
      fake.refuse = null;
    }
    const [failed] = await listCalls(as(anna), { direction: 'out', status: 'failed' });
    assert.equal(failed!.userId, anna.id);
    assert.ok(failed!.endedAt);
  });
});

describe('«Принять» and who sees a call', () => {
  test('the user a call rings for takes it and it is routed to their extension; someone else then gets a conflict', async () => {
    const key = newKey();
    const { callId } = await record({ kind: 'ringing', callKey: key, direction: 'in', clientNumber: '+79187000002', lineNumber: '+74951000001', legId: 'leg-claim' });
    assert.equal((await getCall(sys, callId)).userId, boris.id);
    const taken = await claimCall(as(boris), clients, callId);
    assert.equal(taken.userId, boris.id);
    assert.ok(taken.claimedAt);
    assert.deepEqual(fake.routed.at(-1), { legId: 'leg-claim', extension: '102' });
    await waitFor('the claimed signal', () => signals.find((sg) => sg.callId === callId && sg.kind === 'claimed'));
    await assert.rejects(claimCall(as(head), clients, callId), (e) => e instanceof ServiceError && e.code === 'conflict');
  });

  test('a manager does not see a call of another segment’s client; the head does', async () => {
    const cp = await createCounterparty(sys, { kind: 'legal_entity', name: 'ООО «Чужой»', responsibleId: anna.id });
    await createContact(sys, { name: 'Чужой клиент', phones: ['+7 918 700-00-07'], counterpartyId: cp.id });
    const { callId } = await record({ kind: 'ringing', callKey: newKey(), direction: 'in', clientNumber: '+79187000007', lineNumber: '+74951000001' });
    await assert.rejects(getCall(as(boris), callId), (e) => e instanceof ServiceError && e.code === 'not_found' && e.message === 'Звонок не найден');
    await assert.rejects(callCard(as(boris), callId), (e) => e instanceof ServiceError && e.code === 'not_found');
    assert.ok(!(await listCalls(as(boris), { limit: 500 })).some((c) => c.id === callId));
    assert.equal((await getCall(as(anna), callId)).counterpartyName, 'ООО «Чужой»');
    assert.equal((await getCall(as(head), callId)).id, callId);
    assert.ok((await listCalls(as(head), { counterpartyId: cp.id })).some((c) => c.id === callId));
  });
});
