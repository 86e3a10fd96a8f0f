// Чат-CRM: the incoming-call window in the lower right of every page (R20). The server sends each
// call's card, rendered and escaped, as a server-sent event (GET /admin/calls/live); this file only
// places it, sends «Принять» and hides the card. No inline script: the CSP allows /admin/static only.
'use strict';

(() => {
  const box = document.getElementById('call-live');
  if (!box || !window.EventSource || !box.dataset.liveUrl) return;

  const items = new Map();
  // calls the user closed with «Скрыть»: later news of them stays hidden, on the next pages of this tab too
  const HIDDEN_KEY = 'crm-calls-hidden';
  const dismissed = new Set();
  try {
    for (const id of JSON.parse(sessionStorage.getItem(HIDDEN_KEY) || '[]')) dismissed.add(id);
  } catch {
    // storage off: hidden on this page only
  }
  const remember = (id) => {
    dismissed.add(id);
    try {
      sessionStorage.setItem(HIDDEN_KEY, JSON.stringify([...dismissed].slice(-50)));
    } catch {
      // storage off or full
    }
  };
  const AWAY_MS = 8000;

  const refresh = () => {
    box.hidden = items.size === 0;
  };

  const drop = (id) => {
    const el = items.get(id);
    if (!el) return;
    clearTimeout(el.awayTimer);
    el.remove();
    items.delete(id);
    refresh();
  };

  const show = (id, state, html) => {
    if (dismissed.has(id)) return;
    let el = items.get(id);
    if (!el) {
      el = document.createElement('section');
      el.className = 'call-live-item';
      el.dataset.callId = String(id);
      box.prepend(el);
      items.set(id, el);
    }
    el.dataset.state = state;
    el.innerHTML = html;
    clearTimeout(el.awayTimer);
    // answered by someone else or over: the card says so for a moment, then goes
    if (state === 'taken' || state === 'ended') el.awayTimer = setTimeout(() => drop(id), AWAY_MS);
    refresh();
  };

  const events = new EventSource(box.dataset.liveUrl);
  events.addEventListener('call', (e) => {
    let d;
    try {
      d = JSON.parse(e.data);
    } catch {
      return;
    }
    if (d.state === 'gone' || !d.html) drop(d.callId);
    else show(d.callId, d.state, d.html);
  });
  // on (re)connecting: the calls ringing for the user now; a card still ringing here that is not among them stopped meanwhile
  events.addEventListener('ringing', (e) => {
    let d;
    try {
      d = JSON.parse(e.data);
    } catch {
      return;
    }
    const now = new Set(d.callIds || []);
    for (const [id, el] of items) if (el.dataset.state === 'ringing' && !now.has(id)) drop(id);
  });
  window.addEventListener('pagehide', () => events.close());

  box.addEventListener('click', (e) => {
    const hide = e.target instanceof Element && e.target.closest('[data-call-hide]');
    if (!hide) return;
    const el = hide.closest('.call-live-item');
    const id = Number(el && el.dataset.callId);
    remember(id);
    drop(id);
  });

  box.addEventListener('submit', async (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('[data-call-claim]')) return;
    e.preventDefault();
    const el = form.closest('.call-live-item');
    const id = Number(el.dataset.callId);
    const button = form.querySelector('button');
    const error = el.querySelector('.call-live-error');
    if (button) button.disabled = true;
    const say = (text) => {
      if (button) button.disabled = false;
      if (!error) return;
      error.textContent = text;
      error.hidden = false;
    };
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': box.dataset.csrf || '' },
        body: new URLSearchParams({ _csrf: box.dataset.csrf || '' }).toString(),
      });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) return say(answer.message || 'Не удалось принять звонок. Попробуйте ещё раз.');
      if (answer.html) show(id, answer.state || 'mine', answer.html);
    } catch {
      say('Нет связи с CRM. Проверьте интернет и попробуйте ещё раз.');
    }
  });
})();
