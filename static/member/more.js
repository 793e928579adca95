// «Ещё»: the menu (community screens, invite a friend, profile), the referral
// screen and the profile form with sign-out and account deletion.

import { h, mount, field, showError, clearErrors, guarded, toast } from '/shared/ui.js';
import { messageFor } from '/shared/errors.js';
import { tierName } from './labels.js';
import { formatPhone } from './login.js';
import { icon } from './icons.js';
import { track } from './telemetry.js';

const item = (href, label, hint) =>
  h('li', {}, h('a', { class: 'menu-link', href }, h('span', {}, h('span', { class: 'menu-label' }, label), hint ? h('small', { class: 'muted' }, hint) : null), icon('chevron', 20)));

export async function moreView(match, ctx) {
  const me = ctx.me || {};
  const community = ctx.communityMenu().map((e) => item(e.href, e.label));
  const own = [
    ctx.flags.referral !== false ? item('#/referral', 'Пригласить друга', 'Баллы за друзей, которые присоединились к клубу') : null,
    item('#/profile', 'Профиль', 'Имя, почта, выход и удаление аккаунта'),
  ];
  const name = [me.first_name, me.last_name].filter(Boolean).join(' ') || 'Участник клуба';
  return h(
    'div',
    { class: 'wrap' },
    h('h1', {}, 'Ещё'),
    h('section', { class: 'card who-card', 'aria-label': 'Участник' }, h('p', { class: 'who-big' }, name), h('p', { class: 'muted' }, formatPhone(me.phone), ' · ', h('span', { class: 'badge' }, tierName(me.tier)))),
    community.length ? h('nav', { class: 'card menu', 'aria-label': 'Сообщество' }, h('h2', {}, 'Сообщество'), h('ul', {}, community)) : null,
    h('nav', { class: 'card menu', 'aria-label': 'Мой аккаунт' }, h('h2', {}, 'Мой аккаунт'), h('ul', {}, own)),
  );
}

export async function referralView(match, ctx) {
  const r = await ctx.api.get('/referrals/me');
  const link = field('Ссылка-приглашение', { name: 'link', readonly: true, value: r.link });
  const share = h('button', { type: 'button', class: 'primary block' }, 'Поделиться ссылкой');
  share.addEventListener('click', async () => {
    const text = `Присоединяйтесь к клубу «Круг»: одна карта у всех партнёров. Мой код приглашения — ${r.code}.`;
    if (navigator.share) {
      try {
        await navigator.share({ title: 'Клуб «Круг»', text, url: r.link });
        track('share', { screen: 'referral', method: 'native' });
        return;
      } catch (e) {
        if (e && e.name === 'AbortError') return;
        // Sharing refused: fall back to the clipboard.
      }
    }
    try {
      await navigator.clipboard.writeText(r.link);
      track('share', { screen: 'referral', method: 'clipboard' });
      toast('Ссылка скопирована', 'ok');
    } catch {
      link.input.focus();
      link.input.select();
      toast('Скопируйте ссылку из поля выше', 'info');
    }
  });
  // Copying the link by hand counts as sharing it too.
  link.input.addEventListener('copy', () => track('share', { screen: 'referral', method: 'copy' }));
  const stat = (label, value, id) => h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { 'data-testid': id }, String(value)));
  return h(
    'div',
    { class: 'wrap' },
    h('h1', {}, 'Пригласить друга'),
    h('p', {}, 'Друг вступает в клуб по вашей ссылке или коду. Когда он совершит первую покупку, вы получите награду.'),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'ref-code-title' },
      h('h2', { id: 'ref-code-title', class: 'label' }, 'Ваш код приглашения'),
      h('p', { class: 'ref-code', 'data-testid': 'referral-code' }, r.code),
      link,
      share,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'ref-stats-title' },
      h('h2', { id: 'ref-stats-title' }, 'Ваши приглашения'),
      h(
        'dl',
        { class: 'stats' },
        stat('Приглашено', r.invited, 'ref-invited'),
        stat('Совершили покупку', r.converted, 'ref-converted'),
        stat('Награды получены', r.rewarded, 'ref-rewarded'),
        stat('Награды в ожидании', r.pending_rewards, 'ref-pending'),
      ),
    ),
  );
}

const today = () => new Date().toISOString().slice(0, 10);

export async function profileView(match, ctx) {
  const me = await ctx.reloadMe();
  const fields = {
    first_name: field('Имя', { name: 'first_name', autocomplete: 'given-name', maxlength: 100, value: me.first_name || '' }),
    last_name: field('Фамилия', { name: 'last_name', autocomplete: 'family-name', maxlength: 100, value: me.last_name || '' }),
    email: field('Электронная почта', { name: 'email', type: 'email', autocomplete: 'email', value: me.email || '' }),
    birth_date: field('Дата рождения', { name: 'birth_date', type: 'date', min: '1900-01-01', max: today(), value: me.birth_date || '' }, 'В день рождения клуб дарит подарок'),
    city: field('Город', { name: 'city', autocomplete: 'address-level2', maxlength: 100, value: me.city || '' }),
  };
  const save = h('button', { type: 'submit', class: 'primary block' }, 'Сохранить');
  const form = h('form', { novalidate: true, class: 'card', 'aria-labelledby': 'profile-title' }, h('h2', { id: 'profile-title' }, 'Личные данные'), Object.values(fields), save);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(save, async () => {
      clearErrors(form);
      const current = ctx.me || me;
      const v = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.input.value.trim()]));
      if (fields.birth_date.input.validity.badInput) return showError(form, { message: messageFor('INVALID_BIRTH_DATE') }, 'birth_date');
      if (v.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.email)) return showError(form, { message: messageFor('INVALID_EMAIL') }, 'email');
      if (v.birth_date && (v.birth_date < '1900-01-01' || v.birth_date > today())) return showError(form, { message: messageFor('INVALID_BIRTH_DATE') }, 'birth_date');
      // Only what changed is sent; an emptied field is cleared (null).
      const body = {};
      for (const [k, value] of Object.entries(v)) {
        if (value !== (current[k] || '')) body[k] = value === '' ? null : value;
      }
      if (!Object.keys(body).length) {
        toast('Изменений нет');
        return undefined;
      }
      try {
        await ctx.api.patch('/me', body);
        await ctx.reloadMe();
        toast('Профиль сохранён', 'ok');
      } catch (err) {
        showError(form, err);
      }
      return undefined;
    });
  });

  const logout = h('button', { type: 'button', class: 'block' }, 'Выйти');
  logout.addEventListener('click', () => guarded(logout, () => ctx.api.logout()));

  // Deleting is irreversible: the first button only opens the confirmation.
  const danger = h('div', { class: 'danger-zone' });
  const askDelete = () => {
    const yes = h('button', { type: 'button', class: 'danger' }, 'Да, удалить навсегда');
    const no = h('button', { type: 'button' }, 'Отмена');
    const box = h(
      'div',
      { class: 'confirm', role: 'group', 'aria-labelledby': 'confirm-title' },
      h('p', { id: 'confirm-title' }, h('strong', {}, 'Удалить аккаунт?')),
      h('p', {}, 'Имя, телефон, почта и номер карты будут стёрты, баллы и купоны пропадут. Отменить это нельзя.'),
      h('div', { class: 'row' }, yes, no),
    );
    yes.addEventListener('click', () =>
      guarded(yes, async () => {
        try {
          await ctx.api.del('/me');
          toast('Аккаунт удалён', 'ok');
          await ctx.api.logout();
        } catch (err) {
          mount(danger, box, h('p', { class: 'form-error', role: 'alert' }, err.message));
        }
      }),
    );
    no.addEventListener('click', () => {
      drawDanger();
      danger.querySelector('button').focus();
    });
    mount(danger, box);
    no.focus();
  };
  const drawDanger = () => {
    const del = h('button', { type: 'button', class: 'danger' }, 'Удалить аккаунт');
    del.addEventListener('click', askDelete);
    mount(danger, del);
  };
  drawDanger();

  return h(
    'div',
    { class: 'wrap' },
    h('h1', {}, 'Профиль'),
    h(
      'section',
      { class: 'card', 'aria-label': 'Аккаунт' },
      h('p', {}, 'Телефон: ', h('strong', {}, formatPhone(me.phone))),
      me.card_number ? h('p', {}, 'Номер карты: ', h('strong', {}, me.card_number)) : null,
      h('p', {}, 'Статус: ', h('span', { class: 'badge' }, tierName(me.tier))),
    ),
    form,
    h('section', { class: 'card', 'aria-labelledby': 'session-title' }, h('h2', { id: 'session-title' }, 'Выход'), logout),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'delete-title' },
      h('h2', { id: 'delete-title' }, 'Удаление аккаунта'),
      h('p', { class: 'muted' }, 'Покупки останутся у партнёров в обезличенном виде. Тот же телефон можно будет зарегистрировать заново.'),
      danger,
    ),
  );
}
