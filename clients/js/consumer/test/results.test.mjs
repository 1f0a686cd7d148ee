// The decoder against bytes our Python encoder wrote (test/fixtures, made by make_fixtures.py): one
// Result and one FinalReport per writer schema, current and historical, each decoded as Python does.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  RecordDecodeError,
  REPOSITORY_SCHEMAS,
  SchemaStore,
  UnknownFingerprintError,
  crc64Avro,
} from '../results.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const EXPECTED = JSON.parse(readFileSync(`${FIXTURES}expected.json`, 'utf8'));
const REGENERATE = 'regenerate: .venv/bin/python clients/js/consumer/test/fixtures/make_fixtures.py';
const store = new SchemaStore();

test('CRC-64-AVRO gives the fingerprints of the Avro specification and fastavro', () => {
  assert.equal(crc64Avro('"null"').toString('hex'), '8a8f25cce724dd63');
  assert.equal(crc64Avro('"int"').toString('hex'), '8f5c393f1ad57572');
});

test('the store knows every fingerprint docs/CONTRACT.md lists, current first', () => {
  const contract = readFileSync(new URL('../../../../docs/CONTRACT.md', import.meta.url), 'utf8');
  const rows = [...contract.matchAll(/^\| `(\w+)` \| `([0-9a-f]{16})` \|(.*)\|$/gm)];
  assert.ok(rows.length >= 7, 'the fingerprint table of CONTRACT.md');
  const known = store.known();
  for (const [, record, current, past] of rows) {
    assert.equal(known[record][0], current, record);
    assert.deepEqual(known[record].slice(1).sort(), [...past.matchAll(/[0-9a-f]{16}/g)].map((m) => m[0]).sort());
  }
});

test('every Result and FinalReport version has a fixture', () => {
  const known = store.known();
  const have = readdirSync(FIXTURES).filter((name) => name.endsWith('.bin'));
  const want = ['Result', 'FinalReport'].flatMap((record) => known[record].map((fp) => `${record}.${fp}.bin`));
  assert.deepEqual(have.sort(), want.sort(), REGENERATE);
});

for (const [file, expected] of Object.entries(EXPECTED)) {
  test(`${file} decodes to what Python decodes`, () => {
    const decoded = store.decode(readFileSync(`${FIXTURES}${file}`));
    assert.equal(decoded.record, expected.record);
    assert.equal(decoded.fingerprint, file.split('.')[1]);
    // Through JSON, as the CLI prints it: plain objects, no class instances or Buffers left.
    assert.deepEqual(JSON.parse(JSON.stringify(decoded.value)), expected.value, REGENERATE);
    assert.equal(Object.getPrototypeOf(decoded.value), Object.prototype);
  });
}

test('a Result of the oldest version takes the current defaults', () => {
  const { value } = store.decode(readFileSync(`${FIXTURES}Result.cd600d63a2fc18e4.bin`));
  assert.equal(value.policy, '');
  assert.equal(value.gaze_baseline, 'none');
  assert.equal(value.gaze_off_screen, null);
  assert.equal(value.unassessable_s, 0);
});

test('an unknown fingerprint is an error naming it, and the known ones', () => {
  const bytes = Buffer.from(readFileSync(`${FIXTURES}Result.5ce942ec10b19d11.bin`));
  bytes.write('0123456789abcdef', 2, 'hex');
  assert.throws(
    () => store.decode(bytes),
    (error) =>
      error instanceof UnknownFingerprintError &&
      error instanceof RecordDecodeError &&
      error.fingerprint === '0123456789abcdef' &&
      error.message.includes('0123456789abcdef') &&
      error.message.includes('Result: 5ce942ec10b19d11'),
  );
});

test('bad bytes are a RecordDecodeError, never another error', () => {
  const good = readFileSync(`${FIXTURES}Result.5ce942ec10b19d11.bin`);
  for (const bad of [
    null,
    Buffer.alloc(0),
    Buffer.from('not avro at all'),
    good.subarray(0, good.length - 5), // a short body
    Buffer.concat([good, Buffer.from([0])]), // bytes after the body
  ]) {
    assert.throws(() => store.decode(bad), RecordDecodeError);
  }
});

test('a store of some records from a given folder', () => {
  const reports = new SchemaStore(REPOSITORY_SCHEMAS, { records: ['FinalReport'] });
  assert.deepEqual(Object.keys(reports.known()), ['FinalReport']);
  assert.equal(reports.decode(readFileSync(`${FIXTURES}FinalReport.8dbdaaec46b15ba3.bin`)).value.frames, 50);
  assert.throws(() => reports.decode(readFileSync(`${FIXTURES}Result.5ce942ec10b19d11.bin`)), UnknownFingerprintError);
  assert.throws(() => new SchemaStore(REPOSITORY_SCHEMAS, { records: ['Nope'] }), /no published schema of Nope/);
});

test('a folder without history/ reads the current versions only', () => {
  const folder = mkdtempSync(join(tmpdir(), 'schemas-'));
  try {
    cpSync(join(REPOSITORY_SCHEMAS, 'published'), join(folder, 'published'), { recursive: true });
    const current = new SchemaStore(folder);
    assert.equal(current.decode(readFileSync(`${FIXTURES}Result.5ce942ec10b19d11.bin`)).value.frame_sequence, 17);
    assert.throws(() => current.decode(readFileSync(`${FIXTURES}Result.cd600d63a2fc18e4.bin`)), /cd600d63a2fc18e4/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the CLI says how to use it, and refuses a call without brokers', () => {
  const cli = fileURLToPath(new URL('../read-results.mjs', import.meta.url));
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--brokers HOST:PORT/);
  const missing = spawnSync(process.execPath, [cli, '--topic', 'integrity.results'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /--brokers is required/);
});
