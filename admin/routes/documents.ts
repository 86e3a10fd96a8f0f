import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { attachmentsDirFor } from '../../core/channels/attachments.js';
import { getDeal } from '../../core/deals/deals.js';
import { getDocument, readDocumentFile } from '../../core/documents/documents.js';
import { defaultValidUntil, makeInvoiceAndContract, makeProposal } from '../../core/documents/make.js';
import { proposalDefaults } from '../../core/documents/proposal-texts.js';
import { clientConversations, emailDocuments, messageDocuments } from '../../core/documents/send.js';
import { listOrganizations } from '../../core/organizations/organizations.js';
import { listMailboxes } from '../../core/mail/mailboxes.js';
import { body, idParam } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { ctxOf, render } from '../render.js';
import type { AdminDeps } from '../types.js';

const optionalId = z
  .string()
  .optional()
  .transform((s) => (s && /^\d{1,10}$/.test(s) ? Number(s) : null));
const optionalDay = z
  .string()
  .optional()
  .transform((s) => (s ?? '').trim() || null);

const invoiceForm = z.object({ organizationId: optionalId });
const proposalForm = z.object({ organizationId: optionalId, intro: z.string().default(''), terms: z.string().default(''), validUntil: optionalDay });
const emailForm = z.object({ to: z.string().default(''), subject: z.string().default(''), body: z.string().default(''), mailboxId: optionalId });
const messageForm = z.object({ conversationId: optionalId, text: z.string().default('') });

const tabOf = (dealId: number) => `/admin/deals/${dealId}?tab=documents`;

/**
 * R21/R22 on the deal's card: «Коммерческое предложение» (a form with the template's texts),
 * «Счёт и договор» (one press), downloads, and sending to the client by e-mail or into a messenger.
 */
export default async function documentRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/deals/:id/proposal', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const deal = await getDeal(ctx, idParam(req.params));
    const [texts, organizations] = await Promise.all([proposalDefaults(ctx), listOrganizations(ctx)]);
    return render(deps, req, reply, 'sales/proposal-form', {
      title: `КП: ${deal.title}`,
      deal,
      texts,
      organizations,
      validUntil: defaultValidUntil(ctx),
    });
  });

  app.post('/deals/:id/proposal', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      `/admin/deals/${id}/proposal`,
      () => makeProposal(ctxOf(deps, req), id, parseForm(proposalForm, body(req))),
      (doc) => ({ text: `Коммерческое предложение № ${doc.dealId}-${doc.version} готово`, to: tabOf(id) }),
      'КП не сделано: ',
    );
  });

  app.post('/deals/:id/invoice', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      tabOf(id),
      () => makeInvoiceAndContract(ctxOf(deps, req), id, parseForm(invoiceForm, body(req))),
      (r) => ({ text: `Готовы счёт № ${r.invoice.number} и договор № ${r.contract.number}` }),
      'Счёт и договор не сделаны: ',
    );
  });

  app.get('/documents/:id/:format', async (req, reply) => {
    const format = (req.params as { format: string }).format;
    if (format !== 'pdf' && format !== 'docx') return reply.callNotFound();
    const file = await readDocumentFile(ctxOf(deps, req), idParam(req.params), format);
    return reply
      .header('content-type', file.mime)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.fileName)}`)
      .header('cache-control', 'private, no-store')
      .send(file.data);
  });

  app.get('/documents/:id/send', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const doc = await getDocument(ctx, idParam(req.params));
    const [deal, conversations, mailboxes] = await Promise.all([getDeal(ctx, doc.dealId), clientConversations(ctx, doc.dealId), listMailboxes(ctx).then((boxes) => boxes.filter((b) => b.active))]);
    return render(deps, req, reply, 'sales/document-send', { title: `Отправить: ${doc.title}`, doc, deal, conversations, mailboxes });
  });

  app.post('/documents/:id/email', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const doc = await getDocument(ctx, idParam(req.params));
    return formAction(
      deps,
      reply,
      `/admin/documents/${doc.id}/send`,
      () => emailDocuments(ctx, doc.id, parseForm(emailForm, body(req)), { dataDir: deps.services.config.DATA_DIR }),
      (letter) => ({ text: `Письмо «${letter.subject}» с документами поставлено в очередь на отправку`, to: tabOf(doc.dealId) }),
      'Не отправлено: ',
    );
  });

  app.post('/documents/:id/message', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const doc = await getDocument(ctx, idParam(req.params));
    return formAction(
      deps,
      reply,
      `/admin/documents/${doc.id}/send`,
      () => messageDocuments(ctx, doc.id, parseForm(messageForm, body(req)), { attachmentsDir: attachmentsDirFor(deps.services.config.DATA_DIR) }),
      () => ({ text: 'Документы отправлены клиенту в мессенджер', to: tabOf(doc.dealId) }),
      'Не отправлено: ',
    );
  });
}
