// «Рефералы»: the referral program's invitations with filters (state, capture
// period, referrer), totals per state, manual payouts and a CSV download.

import { h, mount, money, points, dateTime, toast, field, guarded, showError, clearErrors, pagedList } from '/shared/ui.js';
import { section, dayStartIso, downloadText, UUID_RE, int, stat } from './common.js';

const STATES = [
  ['', 'Все'],
  ['tracked', 'Приглашены'],
  ['paid', 'Покупка, ждут выплаты'],
  ['rewarded', 'Награждены'],
  ['rejected', 'Отклонены'],
];
const stateName = (s) => (STATES.find(([k]) => k === s) || [s, s])[1];

const REASONS = {
  self_referral: 'пригласила себя',
  same_phone: 'тот же телефон',
  same_email: 'тот же e-mail',
  same_device: 'то же устройство',
  already_referred: 'уже приглашена другой участницей',
  excluded_domain: 'исключённый домен почты',
  daily_cap: 'дневной лимит приглашений',
  monthly_cap: 'месячный лимит приглашений',
  refunded: 'покупка возвращена',
  erased: 'данные удалены',
};

export async function render(ctx) {
  const form = h('form', { class: "card ref-filters", novalidate: true });
  const state = field('Статус', { name: 'state', tag: 'select', options: STATES });
  const from = field('С даты', { name: 'from', type: 'date' });
  const to = field('По дату', { name: 'to', type: 'date' });
  const referrer = field('Пригласившая (ID)', { name: 'referrer', autocomplete: 'off' });
  const apply = h('button', { type: 'submit', class: 'primary' }, 'Показать');
  const csv = h('button', { type: 'button' }, 'Скачать CSV');
  form.append(h('div', { class: 'form-grid' }, state, from, to, referrer), h('div', { class: 'row' }, apply, csv));
  const totals = h('div', { class: 'grid totals', 'aria-live': 'polite' });
  const listBox = h('div');

  // The filters as the API wants them, or null after showing what is wrong.
  const filters = () => {
    clearErrors(form);
    const q = { state: state.input.value || undefined };
    if (from.input.value) q.from = dayStartIso(from.input.value);
    if (to.input.value) {
      const next = new Date(`${to.input.value}T00:00`);
      next.setDate(next.getDate() + 1);
      q.to = next.toISOString();
    }
    if (q.from && q.to && q.from >= q.to) {
      showError(form, { message: 'Конец периода раньше начала.' }, 'to');
      return null;
    }
    const r = referrer.input.value.trim();
    if (r && !UUID_RE.test(r)) {
      showError(form, { message: 'ID участницы — 36 символов, например 0190f7c2-…' }, 'referrer');
      return null;
    }
    if (r) q.referrer = r;
    return q;
  };

  const show = () => {
    const q = filters();
    if (!q) return;
    mount(totals);
    mount(
      listBox,
      pagedList({
        fetchPage: async (cursor) => {
          const page = await ctx.api.get('/admin/referrals', { ...q, cursor, limit: 20 });
          if (!cursor) showTotals(page.totals);
          return page;
        },
        render: (r) => referralRow(ctx, r),
        emptyText: 'Приглашений с такими условиями нет.',
      }),
    );
  };
  const showTotals = (t) =>
    mount(totals, ['tracked', 'paid', 'rewarded', 'rejected'].map((k) => stat(stateName(k), int(t[k]))));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    show();
  });
  csv.addEventListener('click', () =>
    guarded(csv, async () => {
      const q = filters();
      if (!q) return;
      try {
        const text = await ctx.api.getText('/admin/referrals/export.csv', q);
        downloadText(text, `referrals-${new Date().toISOString().slice(0, 10)}.csv`);
        toast('Файл CSV сохранён.', 'ok');
      } catch (err) {
        showError(form, err);
      }
    }),
  );
  show();
  return section('referrals', 'Реферальная программа', form, h('h2', { class: 'visually-hidden' }, 'Итоги по статусам'), totals, h('h2', {}, 'Приглашения'), listBox);
}

function referralRow(ctx, r) {
  const li = h('li', { class: 'referral' });
  const badge = r.state === 'rewarded' ? 'ok' : r.state === 'rejected' ? 'bad' : r.state === 'paid' ? 'warn' : '';
  const fill = () => {
    mount(
      li,
      h('div', { class: 'spread' }, h('strong', {}, `Код ${r.code}`), h('span', { class: `badge ${badge}` }, stateName(r.state))),
      h('p', { class: 'muted' }, `Пригласила ${r.referrer_id} → приглашена ${r.referred_id}`),
      h('p', {}, `${dateTime(r.created_at)} · ${r.source === 'registration' ? 'при регистрации' : 'по первой покупке'}${r.purchase_amount ? ` · покупка ${money(r.purchase_amount)}` : ''}${r.hold_until && r.state === 'paid' ? ` · удержание до ${dateTime(r.hold_until)}` : ''}`),
      r.reason ? h('p', {}, `Причина отказа: ${REASONS[r.reason] || r.reason}`) : null,
      r.state === 'rewarded' ? h('p', {}, `Награды: пригласившей ${points(r.referrer_points)}, приглашённой ${points(r.referred_points)}${r.voucher_code ? `, промокод ${r.voucher_code}` : ''}`) : null,
      r.state === 'paid' ? payButton() : null,
    );
  };
  const payButton = () => {
    const b = h('button', { type: 'button', class: 'primary' }, 'Выплатить награду');
    b.addEventListener('click', () =>
      guarded(b, async () => {
        try {
          Object.assign(r, await ctx.api.post(`/admin/referrals/${r.id}/payout`, {}));
          toast('Награда выплачена.', 'ok');
          fill();
        } catch (e) {
          toast(e.message, 'error');
        }
      }),
    );
    return b;
  };
  fill();
  return li;
}
