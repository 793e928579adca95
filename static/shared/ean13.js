// A small EAN-13 encoder: checks the check digit and draws the 95 modules
// (guards, L/G codes chosen by the first digit, R codes) as SVG bars, black
// on white, with the standard quiet zones; the page prints the digits below.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Left-hand odd parity (L) codes; G is R reversed, R is L inverted.
const L = ['0001101', '0011001', '0010011', '0111101', '0100011', '0110001', '0101111', '0111011', '0110111', '0001011'];
const R = L.map((c) => c.replace(/./g, (b) => (b === '0' ? '1' : '0')));
const G = R.map((c) => c.split('').reverse().join(''));
// Which of the six left digits use G (1) instead of L (0), by the first digit.
const PARITY = ['000000', '001011', '001101', '001110', '010011', '011001', '011100', '010101', '010110', '011010'];

/** The check digit of the first 12 digits (weights 1, 3, 1, 3 …). */
export function checkDigit(twelve) {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(twelve[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

/** True for 13 digits whose last one is the right check digit. */
export function isValidEan13(code) {
  return /^\d{13}$/.test(code || '') && checkDigit(code) === Number(code[12]);
}

/** The 95 modules ('1' = bar) of a valid EAN-13; throws on a bad code. */
export function modules(code) {
  if (!isValidEan13(code)) throw new Error('not a valid EAN-13');
  const parity = PARITY[Number(code[0])];
  let out = '101';
  for (let i = 1; i <= 6; i++) out += (parity[i - 1] === '1' ? G : L)[Number(code[i])];
  out += '01010';
  for (let i = 7; i <= 12; i++) out += R[Number(code[i])];
  out += '101';
  return out;
}

function el(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/**
 * An <svg> barcode of `code` (one unit per module: 11 quiet modules on the
 * left, 7 on the right), labelled for screen readers with the digits.
 */
export function ean13Svg(code, label) {
  const bits = modules(code);
  const quietL = 11;
  const quietR = 7;
  const width = quietL + bits.length + quietR;
  const barH = 44;
  const guardH = 50;
  const height = 52;
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label || `Штрихкод ${code}`, class: 'ean13' });
  svg.append(el('rect', { x: 0, y: 0, width, height, fill: '#fff' }));
  // Guard bars (start, centre, end) run longer than the digit bars.
  const isGuard = (i) => i < 3 || (i >= 45 && i < 50) || i >= 92;
  let i = 0;
  while (i < bits.length) {
    if (bits[i] !== '1') {
      i++;
      continue;
    }
    let j = i;
    while (j < bits.length && bits[j] === '1' && isGuard(j) === isGuard(i)) j++;
    svg.append(el('rect', { x: quietL + i, y: 2, width: j - i, height: isGuard(i) ? guardH : barH, fill: '#000', 'data-bar': '' }));
    i = j;
  }
  return svg;
}
