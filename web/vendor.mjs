// Copies the browser builds of the apps' npm dependencies into static/vendor/
// (gitignored), where the `web` component embeds them. The lockfile pins the
// versions, so the same checkout always embeds the same bytes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const modules = join(web, 'node_modules');
const out = join(web, '..', 'static', 'vendor');
mkdirSync(out, { recursive: true });

const files = {
  // QR decoding for the till's camera where BarcodeDetector is missing.
  'jsqr.js': join(modules, 'jsqr', 'dist', 'jsQR.js'),
  // Charts in the admin dashboard's analytics.
  'chart.js': join(modules, 'chart.js', 'dist', 'chart.umd.min.js'),
};
const versions = {};
for (const [name, src] of Object.entries(files)) {
  writeIfChanged(join(out, name), readFileSync(src));
  const pkg = name === 'jsqr.js' ? 'jsqr' : 'chart.js';
  versions[pkg] = JSON.parse(readFileSync(join(modules, pkg, 'package.json'), 'utf8')).version;
}
writeIfChanged(join(out, 'versions.json'), Buffer.from(JSON.stringify(versions, null, 2) + '\n'));

// Unchanged files keep their mtime, so cargo does not rebuild the component.
function writeIfChanged(path, bytes) {
  if (existsSync(path) && readFileSync(path).equals(bytes)) return;
  writeFileSync(path, bytes);
}
