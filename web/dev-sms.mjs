// A development SMS gateway for scripts/up: it accepts the app's
// `POST {to, text}` on 127.0.0.1 and prints each login code to the terminal
// (and appends it to .spin/sms.log), so the apps can be tried locally without
// a real provider. Never used when sms_gateway_url is set.
import { createServer } from 'node:http';
import { appendFileSync } from 'node:fs';

const [port = '3025', log = '.spin/sms.log'] = process.argv.slice(2);
const MAX_BODY = 64 * 1024;

createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => {
    body += chunk;
    if (body.length > MAX_BODY) req.destroy();
  });
  req.on('end', () => {
    let msg;
    try {
      msg = JSON.parse(body);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const line = `${new Date().toISOString()} SMS to ${msg.to}: ${msg.text}`;
    process.stderr.write(`\n==> ${line}\n`);
    try {
      appendFileSync(log, line + '\n');
    } catch {
      /* the terminal line is enough */
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"sent"}');
  });
}).listen(Number(port), '127.0.0.1');
