import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';

/**
 * A browser without a browser, for the admin panel over HTTP: keeps cookies and the last page's
 * CSRF token, posts forms (url-encoded or multipart with files) as a browser would.
 */
export class PanelClient {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(
    private readonly app: FastifyInstance,
    private readonly headers: Record<string, string> = {},
  ) {}

  private cookieHeader = () => [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

  private keep(res: { headers: Record<string, unknown>; body: string }) {
    for (const c of [res.headers['set-cookie'] ?? []].flat() as string[]) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const v = pair!.slice(i + 1);
      if (v === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(pair!.slice(0, i));
      else this.cookies.set(pair!.slice(0, i), v);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (token) this.csrf = token;
  }

  async get(url: string) {
    const res = await this.app.inject({ url, headers: { ...this.headers, cookie: this.cookieHeader() } });
    this.keep(res);
    return res;
  }

  async post(url: string, form: Record<string, string | string[]>, opts: { csrf?: boolean } = {}) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const x of [v].flat()) params.append(k, x);
    if (opts.csrf !== false) params.set('_csrf', this.csrf);
    const res = await this.app.inject({
      method: 'POST',
      url,
      headers: { ...this.headers, cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: params.toString(),
    });
    this.keep(res);
    return res;
  }

  /** a multipart form, as the browser sends one with files */
  async postMultipart(url: string, form: Record<string, string>, files: { field: string; name: string; type: string; data: Buffer }[]) {
    const boundary = `----crm${Date.now()}`;
    const chunks: Buffer[] = [];
    const part = (head: string, data: Buffer) => chunks.push(Buffer.from(`--${boundary}\r\n${head}\r\n\r\n`), data, Buffer.from('\r\n'));
    for (const [k, v] of Object.entries({ _csrf: this.csrf, ...form })) part(`Content-Disposition: form-data; name="${k}"`, Buffer.from(v));
    for (const f of files) part(`Content-Disposition: form-data; name="${f.field}"; filename="${f.name}"\r\nContent-Type: ${f.type}`, f.data);
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    const res = await this.app.inject({
      method: 'POST',
      url,
      headers: { ...this.headers, cookie: this.cookieHeader(), 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: Buffer.concat(chunks),
    });
    this.keep(res);
    return res;
  }

  /** a form post and the page it redirects to */
  async submit(url: string, form: Record<string, string>) {
    const res = await this.post(url, form);
    assert.equal(res.statusCode, 303, `${url} answered ${res.statusCode}: ${pageText(res.body).slice(0, 300)}`);
    return this.get(res.headers.location as string);
  }

  async signIn(email: string, password = 'password123') {
    await this.get('/admin/login');
    const res = await this.post('/admin/login', { email, password, next: '/admin' });
    assert.equal(res.statusCode, 303, `sign-in of ${email}`);
    return res;
  }
}

/** A page's text as a person reads it: tags dropped, entities and spaces folded. */
export const pageText = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&laquo;|&raquo;/g, '"')
    .replace(/\s+/g, ' ');
