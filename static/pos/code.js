// What the cashier typed or scanned → a member reference for the API, and
// the till's own Russian wording for the few API errors it words differently.

import { messageFor } from '/shared/errors.js';
import { isValidEan13 } from '/shared/ean13.js';

/**
 * Reads a typed or scanned value: {card_number} for a card, {qr_token} for
 * anything else, or {error} with a Russian reason (nothing is sent then).
 */
export function readCode(raw) {
  const text = String(raw || '').trim();
  if (!text) return { error: 'Введите номер карты или код из QR.' };
  // People type card numbers in groups: "2 111074 333579".
  const compact = text.replace(/[\s\u00a0-]/g, '');
  if (/^\d+$/.test(compact)) {
    if (compact.length !== 13) return { error: 'Номер карты — 13 цифр. Проверьте, все ли цифры введены.' };
    if (!isValidEan13(compact)) return { error: 'В номере карты ошибка: проверьте цифры (не сходится контрольная цифра).' };
    return { card_number: compact };
  }
  if (/\s/.test(text)) return { error: 'Код из QR пишется без пробелов. Проверьте, что он скопирован целиком.' };
  return { qr_token: text };
}

// The till speaks to cashiers: a few codes get wording for that situation.
const TILL = {
  CONSENT_REQUIRED:
    'Этот номер ещё не зарегистрирован в клубе. Сначала зарегистрируйтесь в приложении участника, затем войдите в кассу.',
  MEMBER_NOT_FOUND: 'Участник не найден. Проверьте номер карты или попросите показать QR-код.',
  INVALID_CARD_NUMBER: 'Такой карты нет: проверьте номер.',
  INSUFFICIENT_POINTS: 'Недостаточно баллов для списания.',
  QR_TOKEN_EXPIRED: 'QR-код устарел (он действует минуту). Попросите покупателя показать карту ещё раз.',
  QR_TOKEN_REQUIRED: 'Для списания нужен свежий QR-код: номера карты недостаточно.',
  INVALID_QR_TOKEN: 'QR-код не распознан. Попросите покупателя обновить карту в приложении.',
  COMPENSATION_CAP_EXCEEDED: 'Превышен лимит компенсации по этому заказу: уменьшите количество баллов.',
  CHECK_AMOUNT_REQUIRED: 'Партнёр ограничивает оплату баллами: укажите сумму чека.',
  POINTS_SHARE_EXCEEDED: 'Баллами можно оплатить только часть чека: уменьшите количество баллов.',
  EXTERNAL_ID_CONFLICT: 'Этот номер чека уже использован для другой покупки.',
  INVALID_EXTERNAL_ID: 'Проверьте номер чека.',
  INVALID_COUPON: 'Купон не подходит.',
  IDEMPOTENCY_IN_FLIGHT: 'Операция ещё выполняется. Подождите несколько секунд и нажмите ещё раз — она не задвоится.',
  FORBIDDEN: 'Нет прав на кассу этого партнёра.',
};

/** The Russian message for an ApiError as the till words it. */
export function tillMessage(err) {
  if (!err) return messageFor('');
  if (TILL[err.code]) return TILL[err.code];
  if (err.status === 0 || err.status >= 500) {
    // The write keeps its key, so pressing again is safe.
    return `${err.message} Повторное нажатие не задвоит операцию.`;
  }
  return err.message;
}
