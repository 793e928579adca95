// «Загрузка продаж»: a partner's sales export (CSV) uploaded for the selected
// business through POST /ingest/transactions.csv, with the expected format, a
// sample file made in the browser, and the server's report: totals, every
// row's outcome with its reason in Russian, a problem-rows filter and a CSV of
// the problem rows that can be fixed and uploaded again.

import { h, guarded, clearErrors } from '/shared/ui.js';
import { CATEGORIES, head, card, table, showApiError, checkbox, badge } from './common.js';

const MAX_BYTES = 10 * 1024 * 1024;
// More rows than this would make the page slow; the download has them all.
const SHOW_ROWS = 500;
const COLUMNS = ['external_id', 'date', 'customer_phone', 'amount', 'category', 'description'];
const CSV_COLUMNS = new Set([...COLUMNS, 'card_number', 'customer_phone_sha256', 'refund_of']);

const STATUS = {
  accepted: ['Принята', 'ok'],
  duplicate: ['Дубликат', ''],
  rejected: ['Отклонена', 'bad'],
  parked: ['Отложена', 'warn'],
};
const PARKED_TEXT = 'Покупатель ещё не участник клуба: покупка будет начислена, если он зарегистрируется в течение 30 дней.';
const isProblem = (r) => r.status === 'rejected' || r.status === 'parked';

// Russian texts for the row reason codes (functions/core/src/ingest and the
// purchase pipeline); [code, English reason fragment] pairs refine a code.
const REASONS = {
  INVALID_AMOUNT: 'Неверная сумма: укажите рубли, например 3000, 3000.50 или 3000,50 (не больше двух знаков после запятой).',
  'INVALID_AMOUNT|empty': 'Не указана сумма.',
  'INVALID_AMOUNT|more than 0': 'Сумма должна быть больше нуля и не больше 10 000 000 ₽.',
  'INVALID_AMOUNT|too large': 'Слишком большая сумма: не больше 10 000 000 ₽.',
  'INVALID_AMOUNT|too long': 'Слишком большая сумма: не больше 10 000 000 ₽.',
  INVALID_DATE: 'Неверная дата: используйте ДД.ММ.ГГГГ, ГГГГ-ММ-ДД или RFC 3339, при необходимости со временем ЧЧ:ММ.',
  'INVALID_DATE|future': 'Дата продажи в будущем.',
  'INVALID_DATE|older than': 'Продажа старше 365 дней — такие продажи не загружаются.',
  INVALID_EXTERNAL_ID: 'Неверный номер продажи (external_id): от 1 до 128 символов без управляющих.',
  INVALID_PHONE: 'Неверный телефон покупателя: нужен российский номер, например +7 999 123-45-67.',
  'INVALID_PHONE|names no customer': 'Не указан покупатель: заполните телефон или номер карты.',
  INVALID_CARD_NUMBER: 'Неверный номер карты: от 1 до 32 символов.',
  'INVALID_CARD_NUMBER|names no customer': 'Не указан покупатель: заполните телефон или номер карты.',
  INVALID_PHONE_HASH: 'Неверный хеш телефона: нужны 64 шестнадцатеричные цифры SHA-256.',
  'INVALID_PHONE_HASH|names no customer': 'Не указан покупатель: заполните телефон, номер карты или хеш телефона.',
  INVALID_CUSTOMER: 'Покупатель указан неверно: нужен один из телефона, номера карты или хеша телефона.',
  MISSING_CUSTOMER: 'Не указан покупатель.',
  INVALID_CATEGORY: `Неизвестная категория: оставьте ячейку пустой или укажите одну из: ${CATEGORIES.map(([k]) => k).join(', ')}.`,
  INVALID_ROW: 'Число ячеек в строке не совпадает с заголовком: проверьте разделители и кавычки.',
  INVALID_FIELD: 'Неверное значение в строке.',
  UNKNOWN_FIELD: 'Лишнее поле в строке.',
  UNKNOWN_CARD: 'Карта с таким номером не найдена в клубе.',
  MEMBER_NOT_FOUND: 'Участник клуба не найден.',
  REFUND_OF_UNKNOWN: 'Возврат к продаже, которой нет в клубе: сначала загрузите саму продажу.',
  PAYMENT_NOT_SEEN: 'Возврат к продаже, которой нет в клубе: сначала загрузите саму продажу.',
  REFUND_TOO_LARGE: 'Сумма возврата больше оставшейся суммы продажи.',
  REFUND_ID_CONFLICT: 'Возврат с этим номером уже проведён с другими данными.',
  EXTERNAL_ID_CONFLICT: 'Продажа с этим номером уже проведена с другой суммой или покупателем.',
  PURCHASE_NOT_FOUND: 'Продажа не найдена.',
  BUSINESS_NOT_FOUND: 'Партнёр не найден.',
  BUSY: 'Сервер был занят: загрузите файл ещё раз — принятые строки не задвоятся.',
  INTERNAL: 'Ошибка на сервере: загрузите файл ещё раз позже — принятые строки не задвоятся.',
};
const GENERIC_REASON = 'Строка не принята: проверьте значения в ней.';

/** A row's reason (`CODE: field: reason`) in Russian; never the English text. */
export function reasonText(reason) {
  if (!reason) return '';
  const parts = String(reason).split(': ');
  const code = parts[0].trim();
  const column = parts.length >= 3 ? parts[1].trim() : '';
  const detail = parts.slice(parts.length >= 3 ? 2 : 1).join(': ');
  const refined = Object.keys(REASONS).find((k) => k.startsWith(`${code}|`) && detail.includes(k.slice(code.length + 1)));
  const text = REASONS[refined] || REASONS[code] || GENERIC_REASON;
  return CSV_COLUMNS.has(column) ? `${text} Столбец: ${column}.` : text;
}

// Whole-file refusals: the shared Russian message, plus how to fix it.
const FILE_HINTS = {
  UNSUPPORTED_ENCODING: 'В Excel: «Файл» → «Сохранить как» → «CSV UTF-8 (разделитель — запятая)».',
  MALFORMED_CSV: 'Кавычка внутри ячейки пишется двумя кавычками (""), ячейка в кавычках должна закрываться.',
  MISSING_COLUMNS: `Первая строка файла — заголовок: ${COLUMNS.join(', ')}.`,
  EMPTY_CSV: `Первая строка файла — заголовок: ${COLUMNS.join(', ')}.`,
};
function fileErrorMessage(e) {
  if (e.status === 413) return 'Файл больше 10 МБ: разделите его на части и загрузите по очереди.';
  if (e.status === 415) return 'Нужен файл CSV (text/csv).';
  return FILE_HINTS[e.code] ? `${e.message} ${FILE_HINTS[e.code]}` : e.message;
}

/** Bytes → "12,3 КБ". */
function size(bytes) {
  const f = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 1 });
  if (bytes < 1024) return `${bytes} Б`;
  if (bytes < 1024 * 1024) return `${f.format(bytes / 1024)} КБ`;
  return `${f.format(bytes / 1024 / 1024)} МБ`;
}

/** Saves `text` as a file the browser downloads (UTF-8 with BOM, for Excel). */
function download(name, text) {
  const url = URL.createObjectURL(new Blob(['\ufeff', text], { type: 'text/csv;charset=utf-8' }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// One cell as CSV: quoted when it holds the separator, a quote or a line end.
const cell = (v, sep) => {
  const s = String(v ?? '');
  return s.includes(sep) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const line = (cells, sep) => cells.map((c) => cell(c, sep)).join(sep);

/**
 * Splits CSV text the way the server reads it: RFC 4180 quotes, CRLF or LF,
 * empty lines are not records; the header is record 0. Returns {sep, records}.
 */
function splitCsv(text) {
  const records = [];
  let rec = [];
  let cur = '';
  let quoted = false;
  let started = false;
  let sep = null;
  const endCell = () => {
    rec.push(cur);
    cur = '';
  };
  const endRecord = () => {
    if (started) {
      endCell();
      records.push(rec);
    }
    rec = [];
    started = false;
  };
  // `;` when the header has more semicolons than commas outside quotes.
  let semis = 0;
  let commas = 0;
  let q = false;
  for (const c of text) {
    if (c === '"') q = !q;
    else if (!q && (c === '\n' || c === '\r')) break;
    else if (!q && c === ';') semis++;
    else if (!q && c === ',') commas++;
  }
  sep = semis > commas ? ';' : ',';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += c;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRecord();
      continue;
    }
    started = true;
    if (c === '"') quoted = true;
    else if (c === sep) endCell();
    else cur += c;
  }
  endRecord();
  return { sep, records };
}

/**
 * The problem rows as CSV: the row number, status and reason first, then the
 * row's own cells under the file's own header, so the partner can fix the
 * file and upload it again (the extra columns are ignored by the server).
 */
async function problemCsv(file, rows) {
  const problems = rows.filter(isProblem);
  const ours = ['строка', 'статус', 'причина'];
  const mine = (r) => [r.row, STATUS[r.status][0], r.status === 'parked' ? PARKED_TEXT : reasonText(r.reason)];
  try {
    const { sep, records } = splitCsv(await file.text());
    if (records.length && problems.every((r) => records[r.row])) {
      return [line([...ours, ...records[0]], sep), ...problems.map((r) => line([...mine(r), ...records[r.row]], sep))].join('\r\n') + '\r\n';
    }
  } catch {
    /* the file is gone or unreadable: the report's own columns still help */
  }
  return [line([...ours, 'external_id'], ';'), ...problems.map((r) => line([...mine(r), r.external_id ?? ''], ';'))].join('\r\n') + '\r\n';
}

/** A sample file in the expected format, with the business's category. */
function sampleCsv(biz) {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  const ru = `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()}`;
  const iso = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const cat = biz.category || '';
  return [
    COLUMNS.join(';'),
    `1042;${ru} 14:05;+7 999 123-45-67;3000,50;${cat};Пример продажи`,
    `1043;${iso};8 999 765-43-21;1200;;`,
    `1044;${ru};9991112233;"1 500";${cat};Сумма с пробелом`,
  ].join('\r\n') + '\r\n';
}

function formatCard(biz) {
  const dl = h('button', { type: 'button' }, 'Скачать пример CSV');
  dl.addEventListener('click', () => download('primer-prodazh.csv', sampleCsv(biz)));
  return card(
    'Формат файла',
    h('p', {}, 'Первая строка — заголовок со столбцами (в любом порядке):'),
    h('p', {}, h('code', {}, COLUMNS.join(', '))),
    h(
      'ul',
      {},
      h('li', {}, 'Разделитель — запятая или точка с запятой, кодировка — UTF-8 (с BOM или без).'),
      h('li', {}, 'Обязательны external_id (ваш номер продажи), date, amount и телефон покупателя; category и description — по желанию.'),
      h('li', {}, 'Дата: ДД.ММ.ГГГГ, ГГГГ-ММ-ДД, можно со временем ЧЧ:ММ (время партнёра). Продажи старше 365 дней не принимаются.'),
      h('li', {}, 'Сумма в рублях: 3000, 3000.50 или 3000,50.'),
      h('li', {}, 'Вместо телефона можно указать номер карты (card_number) или хеш телефона (customer_phone_sha256).'),
    ),
    h('pre', { class: 'sample', tabindex: '0', 'aria-label': 'Пример файла' }, sampleCsv(biz)),
    h('div', { class: 'actions' }, dl),
  );
}

function totalsList(rep) {
  const item = (n, label, kind) => h('li', { class: kind }, h('span', { class: 'big' }, String(n)), h('span', {}, label));
  return h(
    'ul',
    { class: 'ingest-totals', 'aria-label': 'Итоги загрузки' },
    item(rep.accepted, 'Принято', ''),
    item(rep.duplicates, 'Дубликаты', ''),
    item(rep.rejected, 'Отклонено', rep.rejected ? 'bad' : ''),
    item(rep.parked, 'Отложено', ''),
  );
}

function reportView(file, rep) {
  const rows = rep.rows || [];
  const problems = rows.filter(isProblem).length;
  const heading = h('h2', { tabindex: '-1' }, `Результат: ${file.name}`);
  const only = checkbox(`Только проблемные строки (${problems})`, 'only_problems', false, 'Отклонённые и отложенные строки.');
  const box = h('div');
  const dl = h('button', { type: 'button', disabled: problems === 0 }, 'Скачать проблемные строки (CSV)');
  dl.addEventListener('click', () => guarded(dl, async () => {
    download(`problemy-${file.name.replace(/\.[^.]+$/, '')}.csv`, await problemCsv(file, rows));
  }));
  function draw() {
    const list = only.input.checked ? rows.filter(isProblem) : rows;
    const shown = list.slice(0, SHOW_ROWS);
    box.replaceChildren(
      list.length
        ? table(
            'Строки файла',
            ['Строка', 'Номер продажи (external_id)', 'Статус', 'Причина'],
            shown.map((r) => {
              const [t, k] = STATUS[r.status] || ['Неизвестно', ''];
              return [String(r.row), r.external_id ?? '—', badge(t, k), r.status === 'rejected' ? reasonText(r.reason) : r.status === 'parked' ? PARKED_TEXT : '—'];
            }),
          )
        : h('p', { class: 'empty' }, only.input.checked ? 'Проблемных строк нет.' : 'В файле нет строк с продажами.'),
      list.length > SHOW_ROWS ? h('p', { class: 'muted' }, `Показаны первые ${SHOW_ROWS} из ${list.length} строк; все проблемные строки — в файле для скачивания.`) : '',
    );
  }
  only.input.addEventListener('change', draw);
  draw();
  const section = card(
    null,
    heading,
    totalsList(rep),
    rep.parked ? h('p', { class: 'muted' }, `Отложено — ${PARKED_TEXT[0].toLowerCase()}${PARKED_TEXT.slice(1)}`) : null,
    rep.duplicates ? h('p', { class: 'muted' }, 'Дубликаты — эти продажи уже были загружены раньше, повторно они не начисляются.') : null,
    h('div', { class: 'spread' }, only, h('div', { class: 'actions' }, dl)),
    box,
  );
  section.heading = heading;
  return section;
}

export const ingest = {
  id: 'ingest',
  title: 'Загрузка продаж',
  group: 'Партнёр',
  roles: ['admin', 'owner', 'manager'],
  needsBusiness: true,
  async render(ctx) {
    const biz = ctx.business;
    let file = null;

    // The native picker's button speaks the browser's language; a Russian
    // button opens it, the input itself stays out of the tab order.
    const picker = h('input', { type: 'file', id: 'ingest-file', name: 'file', class: 'visually-hidden', tabindex: '-1', accept: '.csv,text/csv', 'aria-describedby': 'ingest-file-hint ingest-file-error' });
    const browse = h('button', { type: 'button', 'aria-describedby': 'ingest-chosen' }, 'Выбрать файл…');
    browse.addEventListener('click', () => picker.click());
    const chosen = h('p', { class: 'muted', id: 'ingest-chosen', 'aria-live': 'polite' }, 'Файл не выбран.');
    const zone = h(
      'div',
      { class: 'dropzone', role: 'group', 'aria-labelledby': 'ingest-zone-title' },
      h('p', { id: 'ingest-zone-title' }, h('strong', {}, 'Перетащите CSV-файл сюда'), ' или выберите его на устройстве.'),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'ingest-file' }, 'Файл с продажами (CSV)'),
        picker,
        h('div', { class: 'actions' }, browse),
        h('small', { id: 'ingest-file-hint', class: 'hint' }, 'До 10 МБ, кодировка UTF-8.'),
        h('p', { id: 'ingest-file-error', class: 'field-error', hidden: true, role: 'alert' }),
      ),
      chosen,
    );
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Загрузить');
    const progress = h(
      'div',
      { class: 'ingest-progress', role: 'status', hidden: true },
      h('progress', { 'aria-label': 'Загрузка файла' }),
      h('span', {}),
    );
    const form = h(
      'form',
      { novalidate: true },
      zone,
      h('p', { class: 'muted' }, 'Повторная загрузка того же файла безопасна: уже загруженные продажи станут дубликатами, баллы не начислятся дважды.'),
      h('div', { class: 'actions' }, submit),
      progress,
    );
    const result = h('div');

    function choose(f) {
      file = f || null;
      clearErrors(form);
      chosen.textContent = file ? `Выбран файл: ${file.name}, ${size(file.size)}.` : 'Файл не выбран.';
    }
    picker.addEventListener('change', () => choose(picker.files[0]));
    // Drag and drop onto the zone; a drop while uploading is ignored.
    zone.addEventListener('dragover', (ev) => {
      ev.preventDefault();
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (ev) => {
      ev.preventDefault();
      zone.classList.remove('over');
      if (submit.disabled) return;
      const f = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
      if (!f) return;
      try {
        picker.files = ev.dataTransfer.files;
      } catch {
        /* older browsers: the file is still remembered below */
      }
      choose(f);
    });

    // The error sits under the picker; focus goes to the visible button.
    const fieldError = (message, code) => {
      showApiError(form, { message, code }, 'file');
      browse.focus();
    };

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      guarded(submit, async () => {
        clearErrors(form);
        // Checked here so nothing is sent for a file the server would refuse.
        if (!file) return fieldError('Выберите CSV-файл с продажами.');
        if (file.size > MAX_BYTES) return fieldError(`Файл слишком большой (${size(file.size)}): можно до 10 МБ. Разделите его на части и загрузите по очереди.`);
        if (file.size === 0) return fieldError('Файл пустой.');
        if (!/\.(csv|txt)$/i.test(file.name) && !/^text\/(csv|plain)/.test(file.type)) return fieldError('Нужен файл CSV (с расширением .csv).');
        progress.lastChild.textContent = `Загружаем и проверяем «${file.name}» (${size(file.size)})… Большой файл может обрабатываться до минуты.`;
        progress.hidden = false;
        form.setAttribute('aria-busy', 'true');
        picker.disabled = true;
        browse.disabled = true;
        const sent = file;
        try {
          const rep = await ctx.api.upload('/ingest/transactions.csv', sent, 'text/csv', { query: { business_id: biz.id } });
          const view = reportView(sent, rep);
          result.replaceChildren(view);
          // The report's heading takes focus, so a screen reader reads it next.
          view.heading.focus();
        } catch (e) {
          fieldError(fileErrorMessage(e), e.code);
        } finally {
          progress.hidden = true;
          form.removeAttribute('aria-busy');
          picker.disabled = false;
          browse.disabled = false;
        }
      });
    });

    return h(
      'div',
      {},
      head(`Загрузка продаж · ${biz.name}`),
      card(
        'Загрузить файл',
        h('p', {}, 'Выгрузите продажи из своей кассы или учётной системы в CSV и загрузите сюда: покупателям-участникам клуба начислятся баллы, как на кассе.'),
        form,
      ),
      result,
      formatCard(biz),
    );
  },
};
