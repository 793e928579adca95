// The event form used to create and edit events and to realise a proposal:
// every field of POST/PATCH /admin/events, validated before sending, with
// programme and speaker rows and the server's field errors next to inputs.

import { h, field, guarded, showError, clearErrors, parseRubles } from '/shared/ui.js';
import { TIERS, FORMATS, localToIso, isoToLocal, businessOptions } from './common.js';

/**
 * eventForm({ctx, initial, submitText, chooseBusiness, onSubmit(body)}) → <form>.
 * `initial` is an event (or a partial one); `onSubmit` sends the body and
 * throws ApiError to show it on the form.
 */
export function eventForm({ ctx, initial = {}, submitText = 'Создать событие', chooseBusiness = true, onSubmit }) {
  const form = h('form', { class: 'event-form card', novalidate: true });
  const f = {
    title: field('Название', { name: 'title', maxlength: '200', required: true, value: initial.title || '' }),
    description: field('Описание', { name: 'description', tag: 'textarea', maxlength: '2000', required: true }),
    type: field('Тип', { name: 'type', maxlength: '50', required: true, value: initial.type || '', list: 'event-types' }, 'Например: мастер-класс, ужин, нетворкинг'),
    format: field('Формат', { name: 'format', tag: 'select', options: FORMATS }),
    price: field('Цена места, ₽', { name: 'price', inputmode: 'decimal', value: initial.price ? String(initial.price / 100).replace('.', ',') : '' }, 'Только для платных событий'),
    starts: field('Начало', { name: 'starts_at', type: 'datetime-local', required: true, value: isoToLocal(initial.starts_at) }),
    ends: field('Окончание', { name: 'ends_at', type: 'datetime-local', required: true, value: isoToLocal(initial.ends_at) }),
    business: chooseBusiness
      ? field('Партнёр', { name: 'business_id', tag: 'select', required: true, options: [['', 'Выберите партнёра'], ...businessOptions(ctx)] })
      : null,
    address: field('Адрес', { name: 'address', maxlength: '300', value: (initial.location && initial.location.address) || initial.address || '' }),
    capacity: field('Мест', { name: 'capacity', type: 'number', min: '1', max: '100000', inputmode: 'numeric', required: true, value: initial.capacity ? String(initial.capacity) : '' }),
    minTier: field('Минимальный статус', { name: 'min_tier', tag: 'select', options: TIERS }),
    bring: field('Что взять с собой', { name: 'what_to_bring', tag: 'textarea' }, 'По одному пункту в строке'),
  };
  f.description.input.value = initial.description || '';
  f.format.input.value = initial.format || 'free';
  f.minTier.input.value = initial.min_tier || 'insider';
  f.bring.input.value = (initial.what_to_bring || []).join('\n');
  if (f.business) f.business.input.value = (initial.location && initial.location.business_id) || initial.business_id || (ctx.business && ctx.business.id) || '';
  const plusOne = h('input', { type: 'checkbox', id: `plus-one-${Math.random().toString(36).slice(2, 8)}`, name: 'plus_one_allowed' });
  plusOne.checked = !!initial.plus_one_allowed;
  const syncPrice = () => {
    const paid = f.format.input.value === 'paid';
    f.price.input.disabled = !paid;
    if (!paid) f.price.input.value = '';
  };
  f.format.input.addEventListener('change', syncPrice);
  syncPrice();

  const program = rows({
    legend: 'Программа',
    addText: 'Добавить пункт программы',
    fields: [
      ['time', 'Время', { type: 'time' }],
      ['activity', 'Что происходит', { maxlength: '200' }],
    ],
    initial: initial.program || [],
  });
  const speakers = rows({
    legend: 'Спикеры',
    addText: 'Добавить спикера',
    fields: [
      ['name', 'Имя', { maxlength: '100' }],
      ['title', 'Кто она', { maxlength: '100' }],
    ],
    initial: initial.speakers || [],
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, submitText);
  form.append(
    h('datalist', { id: 'event-types' }, ['мастер-класс', 'ужин', 'нетворкинг', 'велнес', 'гала'].map((t) => h('option', { value: t }))),
    f.title,
    f.description,
    h('div', { class: 'form-grid' }, f.type, f.format, f.price, f.capacity, f.starts, f.ends, f.business, f.minTier),
    f.address,
    h('div', { class: 'field' }, h('label', { class: 'check', for: plusOne.id }, plusOne, 'Можно прийти с гостем (гость занимает второе место)')),
    program.node,
    speakers.node,
    f.bring,
    submit,
  );

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(submit, async () => {
      clearErrors(form);
      const body = collect();
      if (!body) return;
      try {
        await onSubmit(body);
      } catch (e) {
        showError(form, e);
      }
    });
  });

  function fail(name, message) {
    showError(form, { message }, name);
    return null;
  }

  function collect() {
    const title = f.title.input.value.trim();
    if (!title) return fail('title', 'Введите название.');
    const description = f.description.input.value.trim();
    if (!description) return fail('description', 'Добавьте описание.');
    const type = f.type.input.value.trim();
    if (!type) return fail('type', 'Укажите тип события.');
    const format = f.format.input.value;
    let price = 0;
    if (format === 'paid') {
      price = parseRubles(f.price.input.value);
      if (!price) return fail('price', 'Укажите цену больше нуля, например 1500.');
    }
    const capacity = Number(f.capacity.input.value);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 100000) return fail('capacity', 'Число мест — от 1 до 100 000.');
    const startsAt = localToIso(f.starts.input.value);
    if (!startsAt) return fail('starts_at', 'Укажите дату и время начала.');
    if (new Date(startsAt) <= new Date()) return fail('starts_at', 'Начало должно быть в будущем.');
    const endsAt = localToIso(f.ends.input.value);
    if (!endsAt) return fail('ends_at', 'Укажите дату и время окончания.');
    if (new Date(endsAt) <= new Date(startsAt)) return fail('ends_at', 'Окончание должно быть позже начала.');
    const body = {
      title,
      description,
      type,
      format,
      price,
      starts_at: startsAt,
      ends_at: endsAt,
      capacity,
      min_tier: f.minTier.input.value,
      plus_one_allowed: plusOne.checked,
      program: [],
      speakers: [],
      what_to_bring: f.bring.input.value.split('\n').map((s) => s.trim()).filter(Boolean),
    };
    const address = f.address.input.value.trim();
    if (address) body.address = address;
    if (f.business) {
      if (!f.business.input.value) return fail('business_id', 'Выберите партнёра.');
      body.business_id = f.business.input.value;
    }
    for (const r of program.values()) {
      if (!r.time && !r.activity) continue;
      if (!/^[0-2][0-9]:[0-5][0-9]$/.test(r.time) || !r.activity) return fail(null, 'В каждом пункте программы нужны время и описание.');
      body.program.push({ time: r.time, activity: r.activity });
    }
    for (const r of speakers.values()) {
      if (!r.name && !r.title) continue;
      if (!r.name || !r.title) return fail(null, 'У каждого спикера нужны имя и описание.');
      body.speakers.push({ name: r.name, title: r.title });
    }
    return body;
  }
  return form;
}

/** A fieldset of repeatable rows of inputs with add/remove buttons. */
function rows({ legend, addText, fields, initial }) {
  const list = h('div', { class: 'rows' });
  const node = h('fieldset', { class: 'rows-set' }, h('legend', {}, legend), list);
  let n = 0;
  const add = (values = {}) => {
    n++;
    const row = h('div', { class: 'rows-row' });
    for (const [name, text, attrs] of fields) {
      const fl = field(`${text} (${legend.toLowerCase()}, ${n})`, { ...attrs, dataset: { key: name }, value: values[name] || '' });
      row.append(fl);
    }
    row.append(h('button', { type: 'button', class: 'danger', onclick: () => row.remove() }, 'Убрать'));
    list.append(row);
  };
  initial.forEach(add);
  node.append(h('button', { type: 'button', onclick: () => add() }, addText));
  return {
    node,
    values: () =>
      [...list.querySelectorAll('.rows-row')].map((row) => {
        const o = {};
        row.querySelectorAll('[data-key]').forEach((i) => (o[i.dataset.key] = i.value.trim()));
        return o;
      }),
  };
}
