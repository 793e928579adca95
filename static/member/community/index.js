// The member app's community screens (reviews, events, proposals, the events
// budget, support, preorders): routes and menu entries the shell mounts.

import './common.js';
import { newReviewView, myReviewsView } from './reviews.js';
import { eventsView, eventView } from './events.js';
import { proposalsView, newProposalView } from './proposals.js';
import { budgetView } from './budget.js';
import { supportView, ticketView, disputeView } from './support.js';
import { preordersView, preorderItemView, preorderView } from './preorders.js';

const ID = '([0-9a-fA-F-]{32,36})';

export const routes = [
  [/^#\/reviews\/new(?:\?(.*))?$/, newReviewView],
  [/^#\/reviews\/?$/, myReviewsView],
  [/^#\/events\/?$/, eventsView],
  [new RegExp(`^#/events/${ID}$`), eventView],
  [/^#\/proposals\/new$/, newProposalView],
  [/^#\/proposals\/?$/, proposalsView],
  [/^#\/budget(?:\?(.*))?$/, budgetView],
  [/^#\/support\/dispute(?:\?(.*))?$/, disputeView],
  [new RegExp(`^#/support/${ID}$`), ticketView],
  [/^#\/support\/?$/, supportView],
  [new RegExp(`^#/preorders/items/${ID}$`), preorderItemView],
  [new RegExp(`^#/preorders/${ID}$`), preorderView],
  [/^#\/preorders\/?$/, preordersView],
];

export const menu = [
  { href: '#/events', label: 'События', flag: 'events' },
  { href: '#/proposals', label: 'Голосования за события', flag: 'events' },
  { href: '#/budget', label: 'Бюджет событий', flag: 'events' },
  { href: '#/reviews', label: 'Мои отзывы', flag: 'reviews' },
  { href: '#/preorders', label: 'Предзаказы', flag: 'preorders' },
  { href: '#/support', label: 'Поддержка и FAQ', flag: 'support' },
];
