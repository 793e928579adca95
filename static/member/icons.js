// Line icons for the tab bar and buttons, drawn with DOM (24 × 24, stroke
// in the current text colour), always decorative: the text beside them names
// the action.

const NS = 'http://www.w3.org/2000/svg';

const PATHS = {
  card: ['M3 6.5A2.5 2.5 0 0 1 5.5 4h13A2.5 2.5 0 0 1 21 6.5v11a2.5 2.5 0 0 1-2.5 2.5h-13A2.5 2.5 0 0 1 3 17.5z', 'M3 9.5h18', 'M7 15h4'],
  history: ['M12 21a9 9 0 1 0-9-9', 'M3 12l-1.5-1.5M3 12l1.5-1.5', 'M12 7v5l3 2'],
  coupon: ['M3 8a2 2 0 0 0 2-2h14a2 2 0 0 0 2 2v2a2 2 0 0 0 0 4v2a2 2 0 0 0-2 2H5a2 2 0 0 0-2-2v-2a2 2 0 0 0 0-4z', 'M10 9v1.5M10 13.5V15'],
  more: ['M5 12h.01M12 12h.01M19 12h.01'],
  qr: ['M4 4h6v6H4zM14 4h6v6h-6zM4 14h6v6H4z', 'M14 14h2v2h-2zM18 18h2v2h-2zM14 18h2M18 14h2'],
  chevron: ['M9 6l6 6-6 6'],
  close: ['M6 6l12 12M18 6L6 18'],
};

/** An aria-hidden <svg> icon by name. */
export function icon(name, size = 24) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon icon-${name}`);
  for (const d of PATHS[name] || []) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', 'currentColor');
    p.setAttribute('stroke-width', name === 'more' ? '3' : '1.8');
    p.setAttribute('stroke-linecap', 'round');
    p.setAttribute('stroke-linejoin', 'round');
    svg.append(p);
  }
  return svg;
}

/** The club's mark: a ring with a dot, as on the app icon. */
export function logo(size = 28) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 32 32');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'logo');
  const ring = document.createElementNS(NS, 'circle');
  for (const [k, v] of Object.entries({ cx: 16, cy: 16, r: 11, fill: 'none', stroke: 'currentColor', 'stroke-width': 4.5 })) ring.setAttribute(k, String(v));
  const dot = document.createElementNS(NS, 'circle');
  for (const [k, v] of Object.entries({ cx: 24, cy: 8, r: 3.5, fill: 'currentColor' })) dot.setAttribute(k, String(v));
  svg.append(ring, dot);
  return svg;
}
