// Russian names of the API's enums that every app shows: status tiers and
// business categories (one spelling for the member app, the till and the
// dashboard).

/** Tier code → name, in rising order. */
export const TIERS = {
  insider: 'Инсайдер',
  vip: 'VIP',
  elite: 'Элит',
  inner_circle: 'Внутренний круг',
};
/** [code, name] pairs for selects and checkbox groups. */
export const TIER_OPTIONS = Object.entries(TIERS);
/** The tier's name; an unknown code is shown as it is. */
export const tierName = (t) => TIERS[t] || t || '—';

/** Category code → name, as `POST /admin/businesses` lists them. */
export const CATEGORIES = {
  beauty: 'Красота',
  cosmetology: 'Косметология',
  dentistry: 'Стоматология',
  medicine: 'Медицина',
  gastronomy: 'Гастрономия',
  floristry: 'Флористика',
  optics: 'Оптика',
  home: 'Дом и интерьер',
  legal: 'Юридические услуги',
};
/** [code, name] pairs for selects. */
export const CATEGORY_OPTIONS = Object.entries(CATEGORIES);
/** The category's name; an unknown code is shown as it is. */
export const categoryName = (c) => CATEGORIES[c] || c || '—';
