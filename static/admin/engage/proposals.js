// «Предложения»: members' event proposals by status with their weighted
// tallies; an approved one is turned into an event through the event form.

import { h, mount, money, date, dateTime, toast, pagedList } from '/shared/ui.js';
import { section, filterButtons, businessName, percent, int } from './common.js';
import { eventForm } from './event-form.js';

const STATUSES = [
  ['voting', 'Голосование'],
  ['approved', 'Одобренные'],
  ['rejected', 'Отклонённые'],
  ['realized', 'Проведённые'],
];

export async function render(ctx, rest) {
  let status = STATUSES.some(([s]) => s === rest) ? rest : 'voting';
  const listBox = h('div');
  const show = () =>
    mount(
      listBox,
      pagedList({
        fetchPage: (cursor) => ctx.api.get('/events/proposals', { status, cursor, limit: 20 }),
        render: (p) => proposalCard(ctx, p),
        emptyText: 'Предложений с таким статусом нет.',
      }),
    );
  show();
  return section(
    'proposals',
    'Предложения событий',
    h('p', { class: 'muted' }, 'Участницы от статуса VIP предлагают события, клуб голосует. Одобренное предложение можно провести как событие.'),
    filterButtons('Статус предложений', STATUSES, status, (s) => {
      status = s;
      show();
    }),
    listBox,
  );
}

function proposalCard(ctx, p) {
  const li = h('li', { class: 'card' });
  const t = p.tally;
  mount(li, 
    h('h2', {}, p.title),
    h('p', {}, p.description),
    h('p', { class: 'muted' }, `${p.type} · желаемая дата ${date(p.preferred_date)} · ${int(p.capacity)} мест · бюджет на человека ${money(p.budget_per_person)}${p.business_id ? ` · ${businessName(ctx, p.business_id)}` : ''}`),
    h('p', {}, `Голосов: ${int(t.total_votes)} (за ${int(t.yes_votes)}, против ${int(t.no_votes)}), взвешенный счёт ${int(t.weighted_score)}, одобрение ${percent(t.approval_rate)}. Голосование до ${dateTime(p.voting_ends_at)}.`),
    p.vetoed ? h('p', { class: 'badge bad' }, `Вето: ${p.veto_reason || 'без причины'}`) : null,
    p.event_id ? h('p', {}, h('a', { href: `#/events/${p.event_id}` }, 'Открыть событие')) : null,
  );
  if (p.status === 'approved' && ctx.isAdmin) {
    const open = h('button', { type: 'button', class: 'primary' }, 'Провести событие');
    const formBox = h('div');
    open.addEventListener('click', () => {
      open.hidden = true;
      const day = p.preferred_date || new Date().toISOString().slice(0, 10);
      mount(
        formBox,
        h('h3', {}, 'Событие по предложению'),
        eventForm({
          ctx,
          submitText: 'Создать событие по предложению',
          initial: {
            title: p.title,
            description: p.description,
            type: p.type,
            capacity: p.capacity,
            program: p.program,
            business_id: p.business_id,
            starts_at: new Date(`${day}T19:00`).toISOString(),
            ends_at: new Date(`${day}T22:00`).toISOString(),
          },
          onSubmit: async (body) => {
            const ev = await ctx.api.post(`/admin/events/proposals/${p.id}/realize`, body);
            toast('Событие создано, предложение проведено.', 'ok');
            ctx.navigate(`#/events/${ev.id}`);
          },
        }),
      );
    });
    li.append(open, formBox);
  }
  return li;
}
