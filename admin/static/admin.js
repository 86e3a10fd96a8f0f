// Чат-CRM admin panel: small progressive enhancements. Every page works without this file;
// the Content-Security-Policy allows only scripts served from /admin/static.
'use strict';

// A form or button with data-confirm asks before it is sent.
document.addEventListener('submit', (e) => {
  const form = e.target;
  const button = e.submitter;
  const text = (button && button.dataset.confirm) || form.dataset.confirm;
  if (text && !window.confirm(text)) e.preventDefault();
});

// «Выбрать все» ticks every row checkbox of its form (rows may be tied to a form by the form attribute).
document.addEventListener('change', (e) => {
  const box = e.target;
  if (!(box instanceof HTMLInputElement) || !box.matches('[data-select-all]')) return;
  const name = box.dataset.selectAll;
  document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((b) => {
    if (!b.disabled) b.checked = box.checked;
  });
});

// Counterparty form: fields that belong to some kinds only, and INN/OGRN/KPP checked as you type
// by the server's own rules (the same code that checks the saved form).
function setupRequisites(form) {
  const kind = () => (form.querySelector('[name=kind]:checked') || form.querySelector('[name=kind]') || {}).value;
  const toggle = () => {
    form.querySelectorAll('[data-kinds]').forEach((el) => {
      el.classList.toggle('hidden', !el.dataset.kinds.split(' ').includes(kind()));
    });
  };
  let timer;
  let seq = 0;
  const edited = new Set();
  const check = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const params = new URLSearchParams({ kind: kind() || '' });
      for (const name of ['inn', 'ogrn', 'kpp']) {
        const input = form.querySelector(`[name=${name}]`);
        if (input && !input.closest('.hidden')) params.set(name, input.value.trim());
      }
      const mine = ++seq;
      try {
        const res = await fetch(`/admin/api/requisites?${params}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
        if (!res.ok || mine !== seq) return;
        const result = await res.json();
        for (const name of ['inn', 'ogrn', 'kpp']) {
          const input = form.querySelector(`[name=${name}]`);
          const hint = form.querySelector(`[data-hint-for=${name}]`);
          if (!input || !hint) continue;
          const problem = result.fields[name];
          const filled = input.value.trim() !== '';
          // the live check now speaks for the field: the saved form's message would repeat it (or,
          // once the field is edited, be stale); a message it cannot know of (a duplicate) stays
          const saved = form.querySelector(`[data-error-for=${name}]`);
          if (saved && (problem || edited.has(name))) saved.remove();
          input.setAttribute('aria-invalid', problem ? 'true' : 'false');
          hint.textContent = problem ? problem : filled ? 'Проверено: контрольная сумма верна' : '';
          hint.className = 'hint ' + (problem ? 'bad' : filled ? 'ok' : '');
        }
      } catch {
        // offline or signed out: the server checks again on save
      }
    }, 250);
  };
  form.addEventListener('change', (e) => {
    if (e.target.name === 'kind') {
      toggle();
      check();
    }
  });
  form.addEventListener('input', (e) => {
    if (['inn', 'ogrn', 'kpp'].includes(e.target.name)) {
      edited.add(e.target.name);
      check();
    }
  });
  toggle();
  if (form.querySelector('[name=inn]') && form.querySelector('[name=inn]').value) check();
}
document.querySelectorAll('form[data-requisites]').forEach(setupRequisites);

// A long import step: poll its state, move the progress bar, reload when it ends.
document.querySelectorAll('[data-progress-url]').forEach((box) => {
  const bar = box.querySelector('progress');
  const label = box.querySelector('[data-progress-label]');
  const tick = async () => {
    try {
      const res = await fetch(box.dataset.progressUrl, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
      if (res.ok) {
        const s = await res.json();
        if (s.status !== 'working' && s.status !== 'staging') {
          window.location.reload();
          return;
        }
        if (bar && s.total > 0) {
          bar.max = s.total;
          bar.value = s.done;
        }
        // while the file is read, its row count is an estimate from the bytes read so far
        const about = s.status === 'staging' && s.label === 'Чтение файла' ? '~' : '';
        if (label) label.textContent = `${s.label || 'Обработка'}: ${s.done.toLocaleString('ru-RU')} из ${about}${s.total.toLocaleString('ru-RU')}`;
      }
    } catch {
      // try again on the next tick
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 700);
});

// A page that waits for something outside (WhatsApp's next QR code, a pairing): reload it now and then.
document.querySelectorAll('[data-reload-after]').forEach((el) => {
  setTimeout(() => window.location.reload(), Number(el.dataset.reloadAfter) || 10000);
});

// Pipeline board: drag a deal card onto another column; this only picks that stage in the card's
// own «Перенести» form and submits it, so the move is the same post as without JavaScript.
document.querySelectorAll('[data-board]').forEach((board) => {
  let dragged = null;
  board.querySelectorAll('.board-card').forEach((card) => {
    card.setAttribute('draggable', 'true');
    card.addEventListener('dragstart', (e) => {
      dragged = card;
      card.classList.add('dragging');
      if (e.dataTransfer) e.dataTransfer.setData('text/plain', card.dataset.dealId || '');
    });
    card.addEventListener('dragend', () => {
      card.classList.remove('dragging');
      dragged = null;
      board.querySelectorAll('.drop-target').forEach((c) => c.classList.remove('drop-target'));
    });
  });
  board.querySelectorAll('.board-col').forEach((col) => {
    col.addEventListener('dragover', (e) => {
      if (!dragged || dragged.closest('.board-col') === col) return;
      e.preventDefault();
      col.classList.add('drop-target');
    });
    col.addEventListener('dragleave', () => col.classList.remove('drop-target'));
    col.addEventListener('drop', (e) => {
      e.preventDefault();
      col.classList.remove('drop-target');
      if (!dragged || dragged.closest('.board-col') === col) return;
      const form = dragged.querySelector('form.board-move');
      const select = form && form.querySelector('select[name=stageId]');
      if (!select) return;
      select.value = col.dataset.stageId;
      if (form.requestSubmit) form.requestSubmit();
      else form.submit();
    });
  });
});
