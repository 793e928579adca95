// The sign-in flow: phone → code from the SMS → (for a new member) consent
// and name; a referral code from `?ref=` in the address is carried along.

import { normalizePhone } from '/shared/api.js';
import { h, mount, field, showError, clearErrors, guarded, toast } from '/shared/ui.js';
import { messageFor } from '/shared/errors.js';
import { logo } from './icons.js';

const RESEND_SECONDS = 60;

/** "+79991234567" → "+7 999 123-45-67". */
export function formatPhone(e164) {
  const m = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(e164 || '');
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : e164 || '';
}

const fail = (code) => ({ message: messageFor(code) });

/** A checkbox with its label and error box; `name` matches the API's field. */
function checkbox(label, name, attrs = {}) {
  const id = `c-${name.replace(/\W/g, '-')}`;
  const input = h('input', { type: 'checkbox', id, name, 'aria-describedby': `${id}-error`, ...attrs });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { class: 'check', for: id }, input, h('span', {}, label)),
    h('p', { id: `${id}-error`, class: 'field-error', hidden: true, role: 'alert' }),
  );
  wrap.input = input;
  return wrap;
}

export function loginView(ctx, done) {
  document.title = 'Вход — Круг';
  const root = h('section', { class: 'wrap login' });
  const state = {
    typed: '',
    phone: null,
    code: null,
    resendAt: 0,
    referral: (new URLSearchParams(location.search).get('ref') || '').trim().slice(0, 32),
  };

  const hero = () =>
    h(
      'div',
      { class: 'hero' },
      logo(56),
      h('p', { class: 'hero-title' }, 'Круг'),
      h('p', { class: 'muted' }, 'Одна карта — у всех партнёров клуба: баллы, статусы, события.'),
    );

  function phoneStep() {
    const phone = field(
      'Телефон',
      { name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'tel', required: true, placeholder: '+7 999 123-45-67', value: state.typed },
      'Пришлём СМС с кодом для входа',
    );
    const send = h('button', { type: 'submit', class: 'primary block' }, 'Получить код');
    const form = h('form', { novalidate: true, class: 'card' }, phone, send);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      guarded(send, async () => {
        clearErrors(form);
        state.typed = phone.input.value;
        const normal = normalizePhone(phone.input.value);
        if (!normal) return showError(form, fail('INVALID_PHONE'), 'phone');
        try {
          await ctx.api.requestCode(normal);
          state.phone = normal;
          state.resendAt = Date.now() + RESEND_SECONDS * 1000;
          codeStep();
        } catch (err) {
          if (err.code === 'OTP_TOO_SOON') {
            // A code is already on its way: let the member type it.
            state.phone = normal;
            state.resendAt = Date.now() + (Number(err.retryAfter) || RESEND_SECONDS) * 1000;
            codeStep(err.message);
          } else {
            showError(form, err, err.code === 'INVALID_PHONE' ? 'phone' : err.field);
          }
        }
        return undefined;
      });
    });
    mount(root, hero(), h('h1', {}, 'Вход в клуб'), form);
    phone.input.focus();
  }

  function codeStep(notice) {
    const code = field(
      'Код из СМС',
      { name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6, required: true },
      `Отправили на ${formatPhone(state.phone)}`,
    );
    const submit = h('button', { type: 'submit', class: 'primary block' }, 'Войти');
    const resend = h('button', { type: 'button', class: 'block' }, 'Отправить код ещё раз');
    const change = h('button', { type: 'button', class: 'link' }, 'Изменить номер');
    const form = h(
      'form',
      { novalidate: true, class: 'card' },
      notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
      code,
      submit,
    );
    const extra = h('div', { class: 'stack' }, resend, change);

    // The resend button stays off until the server would accept a new code.
    const tick = () => {
      if (!resend.isConnected) {
        clearInterval(timer);
        return;
      }
      const left = Math.ceil((state.resendAt - Date.now()) / 1000);
      if (left > 0) {
        resend.disabled = true;
        resend.textContent = `Отправить код ещё раз через ${left} с`;
      } else if (!resend.hasAttribute('aria-busy')) {
        resend.disabled = false;
        resend.textContent = 'Отправить код ещё раз';
      }
    };
    const timer = setInterval(tick, 1000);

    resend.addEventListener('click', () =>
      guarded(resend, async () => {
        clearErrors(form);
        try {
          await ctx.api.requestCode(state.phone);
          state.resendAt = Date.now() + RESEND_SECONDS * 1000;
          toast('Отправили новый код', 'ok');
        } catch (err) {
          if (err.retryAfter) state.resendAt = Date.now() + Number(err.retryAfter) * 1000;
          showError(form, err);
        }
      }).then(tick),
    );
    change.addEventListener('click', phoneStep);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      guarded(submit, async () => {
        clearErrors(form);
        const typed = code.input.value.replace(/\s/g, '');
        if (!/^\d{6}$/.test(typed)) return showError(form, fail(typed ? 'INVALID_CODE_FORMAT' : 'CODE_REQUIRED'), 'code');
        try {
          await ctx.api.verify({ phone: state.phone, code: typed });
          done();
        } catch (err) {
          if (err.code === 'CONSENT_REQUIRED') {
            // A new member: the code stays valid until the consent form is sent.
            state.code = typed;
            consentStep();
          } else {
            showError(form, err, ['INVALID_CODE', 'INVALID_CODE_FORMAT', 'CODE_REQUIRED'].includes(err.code) ? 'code' : err.field);
          }
        }
        return undefined;
      });
    });
    mount(root, hero(), h('h1', {}, 'Введите код'), form, extra);
    tick();
    code.input.focus();
  }

  function consentStep() {
    const first = field('Имя', { name: 'first_name', autocomplete: 'given-name', required: true, maxlength: 100 });
    const last = field('Фамилия', { name: 'last_name', autocomplete: 'family-name', maxlength: 100 }, 'Необязательно');
    const ref = field('Код приглашения', { name: 'referral_code', autocomplete: 'off', maxlength: 8, value: state.referral, autocapitalize: 'characters' }, 'Если вас пригласили — 8 букв и цифр');
    const personal = checkbox('Согласен на обработку персональных данных', 'consents.personal_data', { required: true });
    const marketing = checkbox('Хочу получать новости и предложения клуба', 'consents.marketing');
    const submit = h('button', { type: 'submit', class: 'primary block' }, 'Вступить в клуб');
    const back = h('button', { type: 'button', class: 'link' }, 'Назад');
    back.addEventListener('click', () => codeStep());
    const form = h(
      'form',
      { novalidate: true, class: 'card' },
      h('p', {}, 'Вы у нас впервые. Расскажите, как к вам обращаться, и подтвердите согласие.'),
      first,
      last,
      ref,
      h('fieldset', { class: 'consents' }, h('legend', {}, 'Согласия'), personal, marketing),
      submit,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      guarded(submit, async () => {
        clearErrors(form);
        const firstName = first.input.value.trim();
        const lastName = last.input.value.trim();
        const code = ref.input.value.trim().toUpperCase();
        if (!firstName) return showError(form, { message: 'Введите имя.' }, 'first_name');
        if (code && !/^[A-Z0-9]{8}$/.test(code)) return showError(form, fail('INVALID_REFERRAL_CODE'), 'referral_code');
        if (!personal.input.checked) return showError(form, fail('CONSENT_REQUIRED'), 'consents.personal_data');
        const body = {
          phone: state.phone,
          code: state.code,
          first_name: firstName,
          consents: { personal_data: true, marketing: marketing.input.checked },
        };
        if (lastName) body.last_name = lastName;
        if (code) body.referral_code = code;
        try {
          await ctx.api.verify(body);
          done();
        } catch (err) {
          if (err.code === 'INVALID_CODE') {
            codeStep(err.message);
          } else {
            showError(form, err);
          }
        }
        return undefined;
      });
    });
    mount(root, h('h1', {}, 'Добро пожаловать в клуб'), form, h('div', { class: 'stack' }, back));
    first.input.focus();
  }

  phoneStep();
  return root;
}
