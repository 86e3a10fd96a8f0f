import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { systemActor } from '../../core/context.js';
import type { Services } from '../../core/services.js';
import { attachmentsDirFor } from '../../core/channels/attachments.js';
import { openFileLink } from '../../core/channels/file-links.js';

export interface FileLinkRoutesOptions {
  services: Pick<Services, 'ctx' | 'config' | 'secretKey'>;
}

/** Pictures a browser shows without running anything from the file; anything else only downloads. */
const shownInline = (mime: string) => /^image\/(jpeg|png|gif|webp)$/.test(mime);
/** a stored type goes out as it is only when it looks like a type */
const safeType = (mime: string) => (/^[\w.+-]+\/[\w.+-]+$/.test(mime) ? mime : 'application/octet-stream');
/** RFC 5987: encodeURIComponent leaves ' ( ) * ! as they are, which a header parameter must not carry */
const rfc5987 = (s: string) => encodeURIComponent(s).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * `GET /files/:token[/:name]`: the files of a manager's reply, by the signed, expiring link the
 * send job gave a messenger that fetches files by URL (Viber). A wrong, altered or expired link,
 * a client's file or a file gone from disk all answer the same 404.
 */
export const fileLinkRoutes: FastifyPluginAsync<FileLinkRoutesOptions> = async (app, opts) => {
  const attachmentsDir = attachmentsDirFor(opts.services.config.DATA_DIR);
  const schema = {
    hide: true,
    params: { type: 'object', properties: { token: { type: 'string' }, name: { type: 'string' } }, required: ['token'] },
  };

  const serve = async (req: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply) => {
    const file = await openFileLink(opts.services.ctx(systemActor('ссылка на файл')), { secretKey: opts.services.secretKey, attachmentsDir }, req.params.token);
    const mime = safeType(file.mime);
    return reply
      .type(mime)
      .header('content-disposition', `${shownInline(mime) ? 'inline' : 'attachment'}; filename*=UTF-8''${rfc5987(file.name)}`)
      .header('x-content-type-options', 'nosniff')
      // nothing in a file may run on the CRM's origin, even if a browser renders it
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'private, no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-robots-tag', 'noindex, nofollow')
      .send(file.data);
  };

  app.get('/files/:token', { schema }, serve);
  // the name only gives the link the extension Viber wants at the end of a media URL
  app.get('/files/:token/:name', { schema }, serve);
};
