// Russian names for the codes the wallet API returns: tiers, ledger kinds and
// statuses, categories, badges, coupon states, and the ledger's descriptions.

import { TIERS, CATEGORIES, tierName } from '/shared/labels.js';

export { TIERS, tierName };

export const KINDS = {
  earn: 'Начисление',
  spend: 'Списание',
  expire: 'Сгорание',
  clawback: 'Отмена начисления',
  reward: 'Награда',
  compensation: 'Компенсация',
  adjust: 'Корректировка',
};

export const STATUSES = {
  pending: 'Ожидает',
  available: 'Доступно',
  spent: 'Потрачено',
  expired: 'Сгорело',
  clawed_back: 'Отозвано',
  posted: 'Проведено',
};

export { CATEGORIES };

const BADGES = {
  welcome: 'Добро пожаловать',
  ambassador: 'Амбассадор',
  event_regular: 'Завсегдатай событий',
  explorer: 'Исследователь',
  patron: 'Меценат',
};
/** `category_beauty` → «Первая покупка: Красота». */
export function badgeName(code) {
  if (BADGES[code]) return BADGES[code];
  const m = /^category_(.+)$/.exec(code || '');
  if (m && CATEGORIES[m[1]]) return `Первая покупка: ${CATEGORIES[m[1]]}`;
  return 'Награда клуба';
}

export const COUPON_STATUSES = {
  issued: 'Можно активировать',
  activated: 'Активирован',
  redeemed: 'Использован',
  expired: 'Истёк',
};

// The ledger's descriptions are written by the server in English; the known
// ones are translated, free text typed in Russian (an admin's adjustment) is
// kept, anything else is left out rather than shown in English.
const DESCRIPTIONS = [
  [/^Cashback at (.+)$/, (m) => `Кэшбэк — ${m[1]}`],
  [/^Compensation from (.+)$/, (m) => `Компенсация от партнёра ${m[1]}`],
  [/^Paid with points at (.+)$/, (m) => `Оплата баллами — ${m[1]}`],
  [/^Points returned for a refund$/, () => 'Баллы за возврат покупки'],
  [/^Points expired$/, () => 'Срок действия баллов истёк'],
  [/^Preorder bonus$/, () => 'Бонус за предзаказ'],
  [/^Points back for a cancelled preorder$/, () => 'Баллы за отменённый предзаказ'],
  [/^Referral reward$/, () => 'Награда за приглашение'],
];
export function describe(text) {
  if (!text) return null;
  for (const [re, f] of DESCRIPTIONS) {
    const m = re.exec(text);
    if (m) return f(m);
  }
  return /[А-Яа-яЁё]/.test(text) ? text : null;
}
