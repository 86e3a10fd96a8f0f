// The mailbox form: choosing a mail service fills in its servers, ports and encryption.
document.querySelectorAll('form[data-mailbox-form]').forEach((form) => {
  const select = form.querySelector('select[data-presets]');
  if (!select) return;
  const presets = JSON.parse(select.dataset.presets || '{}');
  const hint = form.querySelector('[data-preset-hint]');
  select.addEventListener('change', () => {
    const p = presets[select.value];
    if (!p) return;
    form.querySelectorAll('[data-preset-field]').forEach((el) => {
      const value = p[el.dataset.presetField];
      // «Другой» has no servers of its own: keep what the admin typed
      if (value !== '' && value !== undefined) el.value = String(value);
    });
    if (hint) hint.textContent = p.hint;
  });
});
