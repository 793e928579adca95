// The dashboard's community and analytics sections, mounted by the shell:
// each entry is a route (#/<id>), its nav label and group, who sees it, and
// a render(ctx, rest) that returns the whole <section>. Section modules load
// on first use so the dashboard's first screen stays light.

const GROUP_COMMUNITY = 'Сообщество';
const GROUP_ANALYTICS = 'Аналитика';

// Our own small stylesheet, added once beside the shared one.
function styles() {
  if (document.querySelector('link[data-engage]')) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/admin/engage/engage.css';
  link.dataset.engage = '';
  document.head.append(link);
}

const lazy = (file) => async (ctx, rest) => {
  styles();
  const mod = await import(`./${file}`);
  // The shell hands the path after the id as a string or as its segments.
  return mod.render(ctx, Array.isArray(rest) ? rest.join('/') : rest || '');
};

export const sections = [
  { id: 'moderation', title: 'Модерация', group: GROUP_COMMUNITY, roles: ['admin'], render: lazy('moderation.js') },
  { id: 'events', title: 'События', group: GROUP_COMMUNITY, roles: ['admin', 'owner'], render: lazy('events.js') },
  { id: 'proposals', title: 'Предложения', group: GROUP_COMMUNITY, roles: ['admin'], render: lazy('proposals.js') },
  { id: 'referrals', title: 'Рефералы', group: GROUP_COMMUNITY, roles: ['admin'], render: lazy('referrals.js') },
  { id: 'support', title: 'Поддержка', group: GROUP_COMMUNITY, roles: ['admin', 'owner', 'manager'], render: lazy('support.js') },
  { id: 'preorders', title: 'Предзаказы', group: GROUP_COMMUNITY, roles: ['admin', 'owner'], render: lazy('preorders.js') },
  { id: 'analytics', title: 'Аналитика партнёра', group: GROUP_ANALYTICS, roles: ['admin', 'owner', 'manager'], needsBusiness: true, render: lazy('analytics.js') },
  { id: 'club', title: 'Клуб', group: GROUP_ANALYTICS, roles: ['admin'], render: lazy('club.js') },
];
