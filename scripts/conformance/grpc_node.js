// Checks a KServe v2 gRPC server (pz serve) with @grpc/grpc-js, the
// JavaScript gRPC stack, loading pz's .proto files with @grpc/proto-loader.
// Usage: node grpc_node.js HOST:PORT TOKEN MODEL PROTO_DIR. Prints one line
// per check and a closing 'N passed, N failed'; exits 1 on any failure.
'use strict';
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const path = require('path');

const [addr, token, model, protoDir] = process.argv.slice(2);
const def = loader.loadSync([path.join(protoDir, 'grpc_service.proto'), path.join(protoDir, 'health.proto')],
  { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir] });
const pkg = grpc.loadPackageDefinition(def);
const client = new pkg.inference.GRPCInferenceService(addr, grpc.credentials.createInsecure());
const health = new pkg.grpc.health.v1.Health(addr, grpc.credentials.createInsecure());

function md(tok) {
  const m = new grpc.Metadata();
  if (tok) m.set('authorization', 'Bearer ' + tok);
  return m;
}
function call(c, method, req, tok = token) {
  return new Promise((resolve, reject) => c[method](req, md(tok), { deadline: Date.now() + 60000 }, (err, res) => err ? reject(err) : resolve(res)));
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
async function expectCode(p, code) {
  try { await p; } catch (e) { assert(e.code === code, 'code ' + e.code + ', want ' + code + ': ' + e.details); return; }
  throw new Error('call succeeded, want code ' + code);
}

function int32s(buf) { const out = []; for (let i = 0; i < buf.length; i += 4) out.push(buf.readInt32LE(i)); return out; }

const checks = [
  ['live', async () => assert((await call(client, 'ServerLive', {})).live, 'not live')],
  ['ready', async () => assert((await call(client, 'ModelReady', { name: model })).ready, 'model not ready')],
  ['metadata', async () => {
    const m = await call(client, 'ServerMetadata', {});
    assert(m.extensions.includes('generate'), 'extensions ' + m.extensions);
    const c = await call(client, 'ModelConfig', { name: model + '_score' });
    assert(c.config.input.map(i => i.name).join() === 'input_ids,position_ids,attention_mask,target_ids', 'score inputs');
  }],
  ['infer greedy raw', async () => {
    const raw = Buffer.alloc(12); [5, 9, 33].forEach((v, i) => raw.writeInt32LE(v, 4 * i));
    const r = await call(client, 'ModelInfer', {
      model_name: model, parameters: { max_tokens: { int64_param: '5' }, temperature: { double_param: 0 }, n: { int64_param: '2' } },
      inputs: [{ name: 'input_ids', datatype: 'INT32', shape: ['1', '3'] }], raw_input_contents: [raw],
    });
    const names = r.outputs.map(o => o.name);
    const ids = int32s(r.raw_output_contents[names.indexOf('output_ids')]);
    const L = Number(r.outputs[names.indexOf('output_ids')].shape[1]);
    assert(ids.length === 2 * L && L >= 1, 'shape');
    assert(ids.slice(0, L).join() === ids.slice(L).join(), 'greedy samples differ');
    assert(r.model_version !== '', 'no model_version');
  }],
  ['bad input', () => expectCode(call(client, 'ModelInfer', { model_name: model,
    inputs: [{ name: 'input_ids', datatype: 'INT32', shape: ['1', '2'], contents: { int_contents: [1] } }] }), grpc.status.INVALID_ARGUMENT)],
  ['unknown model', () => expectCode(call(client, 'ModelReady', { name: 'nope' }), grpc.status.NOT_FOUND)],
  ['unauthenticated', async () => {
    if (!token) return;
    await expectCode(call(client, 'ServerLive', {}, ''), grpc.status.UNAUTHENTICATED);
    await expectCode(call(client, 'ServerLive', {}, 'wrong'), grpc.status.UNAUTHENTICATED);
    await expectCode(call(health, 'Check', {}, ''), grpc.status.UNAUTHENTICATED);
  }],
  ['health', async () => assert((await call(health, 'Check', {})).status === 'SERVING', 'not serving')],
];

(async () => {
  let passed = 0, failed = 0;
  for (const [name, fn] of checks) {
    try { await fn(); passed++; console.log('ok   ' + name); } catch (e) { failed++; console.log('FAIL ' + name + ': ' + e.message); }
  }
  console.log('grpc-js ' + require('@grpc/grpc-js/package.json').version);
  console.log('grpc-js: ' + passed + ' passed, ' + failed + ' failed');
  client.close(); health.close();
  process.exit(failed ? 1 : 0);
})();
