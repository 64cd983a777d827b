// Drives yaml-language-server over LSP stdio the way an editor does, for the
// suite's editor tests (tests/clients.rs).
//
//   node lsp.mjs REQUEST.json
//
// REQUEST: {"open": [FILE...], "hover": [{"file", "line", "character"}...]}
// (lines and characters 0-based, as LSP counts). Opens every file, waits for
// the server's diagnostics of each, asks for each hover, and prints
//   {"diagnostics": {FILE: [{line, character, end_line, end_character, message}]},
//    "hover": [{"file", "line", "character", "kind", "value"} or null]}
// with 1-based lines and columns, as `deployer validate` reports them.
//
// The settings are the YAML extension's defaults except that the schema store
// is off (no network: only the files' own `$schema=` modelines apply).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const serverPath = fileURLToPath(new URL('./node_modules/yaml-language-server/bin/yaml-language-server', import.meta.url));
const server = spawn(process.execPath, [serverPath, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
const settings = { yaml: { validate: true, hover: true, completion: true, schemaStore: { enable: false }, format: { enable: false } } };

let buffer = Buffer.alloc(0);
let nextId = 1;
const replies = new Map();
const published = new Map();
const awaited = new Map();

function send(message) {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
  server.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
  server.stdin.write(body);
}

function call(method, params) {
  const id = nextId++;
  send({ id, method, params });
  return new Promise((resolve, reject) => replies.set(id, { resolve, reject }));
}

function receive(message) {
  if (message.id !== undefined && message.method === undefined) {
    const reply = replies.get(message.id);
    replies.delete(message.id);
    if (message.error) reply.reject(new Error(JSON.stringify(message.error)));
    else reply.resolve(message.result);
  } else if (message.method === 'workspace/configuration') {
    send({ id: message.id, result: message.params.items.map((item) => settings[item.section] ?? null) });
  } else if (message.id !== undefined) {
    send({ id: message.id, result: null }); // client/registerCapability and the like
  } else if (message.method === 'textDocument/publishDiagnostics') {
    published.set(message.params.uri, message.params.diagnostics);
    awaited.get(message.params.uri)?.();
  }
}

server.stdout.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    const message = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString('utf8'));
    buffer = buffer.subarray(end + 4 + length);
    receive(message);
  }
});

const uri = (file) => pathToFileURL(path.resolve(file)).href;
await call('initialize', {
  processId: process.pid,
  rootUri: pathToFileURL(process.cwd()).href,
  capabilities: {
    workspace: { configuration: true },
    textDocument: { hover: { contentFormat: ['markdown', 'plaintext'] }, publishDiagnostics: {} },
  },
});
send({ method: 'initialized', params: {} });
send({ method: 'workspace/didChangeConfiguration', params: { settings } });

const arrived = request.open.map((file) => {
  const done = new Promise((resolve) => awaited.set(uri(file), resolve));
  send({ method: 'textDocument/didOpen', params: { textDocument: { uri: uri(file), languageId: 'yaml', version: 1, text: readFileSync(file, 'utf8') } } });
  return done;
});
let timer;
const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no diagnostics within 60 s')), 60000); });
await Promise.race([Promise.all(arrived), timeout]);
clearTimeout(timer);

const diagnostics = {};
for (const file of request.open) {
  diagnostics[file] = published.get(uri(file)).map((d) => ({
    line: d.range.start.line + 1,
    character: d.range.start.character + 1,
    end_line: d.range.end.line + 1,
    end_character: d.range.end.character + 1,
    message: d.message,
  }));
}
const hover = [];
for (const h of request.hover ?? []) {
  const result = await call('textDocument/hover', { textDocument: { uri: uri(h.file) }, position: { line: h.line, character: h.character } });
  hover.push(result && { ...h, kind: result.contents.kind, value: result.contents.value });
}
console.log(JSON.stringify({ diagnostics, hover }));
await call('shutdown', null);
send({ method: 'exit' });
server.kill();
process.exit(0);
