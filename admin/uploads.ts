import type { FastifyRequest } from 'fastify';
import { invalid } from '../core/errors.js';

/** A small file sent with a form (a template, an image), read whole into memory. */
export interface SmallUpload {
  fileName: string;
  mime: string;
  data: Buffer;
}

export type UploadRequest = FastifyRequest & { upload?: SmallUpload };

/**
 * A route's `preValidation` for a multipart form with one small file: the fields go into the body
 * (so the CSRF check sees the token), the file into `req.upload`; a file over `maxBytes` is refused
 * with the limit named, before the route runs.
 */
export function smallUpload(maxBytes: number, what = 'файл') {
  return async (request: FastifyRequest) => {
    const req = request as UploadRequest;
    if (!req.isMultipart()) throw invalid({ file: `выберите ${what}` });
    const fields: Record<string, string> = {};
    try {
      for await (const part of req.parts({ limits: { files: 1, fileSize: maxBytes + 1 } })) {
        if (part.type === 'file') {
          const data = await part.toBuffer();
          if (part.filename && data.length) req.upload = { fileName: part.filename, mime: part.mimetype || 'application/octet-stream', data };
        } else fields[part.fieldname] = String(part.value);
      }
    } catch (e) {
      if ((e as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw invalid({ file: `${what} больше ${Math.round(maxBytes / 1024 / 1024)} МБ` });
      throw e;
    }
    if (req.upload && req.upload.data.length > maxBytes) throw invalid({ file: `${what} больше ${Math.round(maxBytes / 1024 / 1024)} МБ` });
    req.body = fields;
  };
}
