// Decoding the workers' records in Node: Avro single-object encoding, the writer schema found by its
// fingerprint among the published schemas and their history, resolved to the current schema.
//
// The byte layout is docs/CONTRACT.md's "Encoding and schemas" (and schemas/__init__.py, which writes
// it): C3 01, the writer schema's CRC-64-AVRO fingerprint as 8 bytes little-endian, the Avro binary body.
// No schema registry: the writer schemas are the files of schemas/published/ (current) and
// schemas/history/ (every earlier version, named by its fingerprint).

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import avro from 'avsc';

// This repository's schemas/ folder; a service keeps its own copy of published/ and history/.
export const REPOSITORY_SCHEMAS = fileURLToPath(new URL('../../../schemas/', import.meta.url));

const MARKER = Buffer.from([0xc3, 0x01]);
const HEADER_LENGTH = MARKER.length + 8;
const FILE_NAME = /^integrity\.([A-Za-z]+)(?:\.([0-9a-f]{16}))?\.avsc$/;

/** A value that is not a record of any known schema version (bad marker, corrupt or short body). */
export class RecordDecodeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RecordDecodeError';
  }
}

/** A well-formed header naming a writer schema the store does not have: a newer version, most likely. */
export class UnknownFingerprintError extends RecordDecodeError {
  constructor(fingerprint, known) {
    const listed = Object.entries(known)
      .map(([record, fingerprints]) => `${record}: ${fingerprints.join(', ')}`)
      .join('; ');
    super(
      `schema fingerprint ${fingerprint} is not a known version (known: ${listed}); ` +
        "take the schema files of the release the workers run",
    );
    this.name = 'UnknownFingerprintError';
    this.fingerprint = fingerprint;
  }
}

// CRC-64-AVRO, the Rabin fingerprint of the Avro specification ("Schema Fingerprints").
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;
const TABLE = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j += 1) fp = (fp >> 1n) ^ (fp & 1n ? EMPTY : 0n);
  return fp;
});

/** The 8 bytes a record carries for a schema whose Parsing Canonical Form is `canonical`. */
export function crc64Avro(canonical) {
  let fp = EMPTY;
  for (const byte of Buffer.from(canonical, 'utf8')) fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)];
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp & MASK);
  return out;
}

/** The fingerprint of an avsc type in hex, in the byte order records carry it (as history file names). */
export function schemaFingerprint(type) {
  // avsc's schema() without options is the Parsing Canonical Form (full names, no docs or defaults).
  return crc64Avro(JSON.stringify(type.schema())).toString('hex');
}

function parse(path) {
  // wrapUnions 'never': a union's value as itself, never {"double": 1.5}: the shape fastavro gives.
  return avro.Type.forSchema(JSON.parse(readFileSync(path, 'utf8')), { wrapUnions: 'never' });
}

/** An avsc value as plain JSON-ready data: records as plain objects, bytes as base64 strings. */
export function toPlain(value) {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toPlain(item)]));
  }
  return value;
}

/**
 * Every version of the record types in a schemas folder: the current ones in `published/`, the
 * earlier ones in `history/`. `decode` reads a value written with any of them, into the current shape.
 */
export class SchemaStore {
  /**
   * @param {string} [folder] a folder with `published/` and `history/`: this repository's `schemas/`
   *   by default.
   * @param {{records?: string[]}} [options] the record types to load (`Result`, `FinalReport`, ...):
   *   every published one by default.
   */
  constructor(folder = REPOSITORY_SCHEMAS, { records } = {}) {
    this.folder = folder;
    this.current = new Map(); // record -> {type, fingerprint}
    this.writers = new Map(); // fingerprint hex -> {record, type, resolver}
    for (const [record, , path] of files(join(folder, 'published'))) {
      if (records && !records.includes(record)) continue;
      const type = parse(path);
      const fingerprint = schemaFingerprint(type);
      this.current.set(record, { type, fingerprint });
      this.writers.set(fingerprint, { record, type, resolver: null });
    }
    for (const record of records ?? []) {
      if (!this.current.has(record)) throw new Error(`no published schema of ${record} in ${folder}`);
    }
    // No history/ folder: only records written with the current schemas decode.
    const history = join(folder, 'history');
    for (const [record, named, path] of existsSync(history) ? files(history) : []) {
      const reader = this.current.get(record);
      if (!reader) continue;
      const type = parse(path);
      const fingerprint = schemaFingerprint(type);
      if (named !== fingerprint) {
        throw new Error(`${path} is named for fingerprint ${named}, but its schema's is ${fingerprint}`);
      }
      this.writers.set(fingerprint, { record, type, resolver: reader.type.createResolver(type) });
    }
  }

  /** Record type -> its known fingerprints, the current one first. */
  known() {
    const known = {};
    for (const [record, { fingerprint }] of this.current) known[record] = [fingerprint];
    for (const [fingerprint, writer] of this.writers) {
      if (fingerprint !== this.current.get(writer.record).fingerprint) known[writer.record].push(fingerprint);
    }
    return known;
  }

  /**
   * A Kafka value, decoded: `{record, fingerprint, value}`, `value` a plain object in the current shape
   * of `record` (fields added since the writer's version hold their defaults). Throws
   * `UnknownFingerprintError` or `RecordDecodeError`, never anything else for bad bytes.
   */
  decode(bytes) {
    const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes ?? []);
    if (data.length < HEADER_LENGTH || !data.subarray(0, 2).equals(MARKER)) {
      throw new RecordDecodeError(`not an Avro single-object record (${data.length} bytes, bad marker)`);
    }
    const fingerprint = data.subarray(2, HEADER_LENGTH).toString('hex');
    const writer = this.writers.get(fingerprint);
    if (!writer) throw new UnknownFingerprintError(fingerprint, this.known());
    const reader = this.current.get(writer.record).type;
    let value;
    try {
      // fromBuffer refuses a short body ("truncated buffer") and bytes after it ("trailing data").
      value = reader.fromBuffer(data.subarray(HEADER_LENGTH), writer.resolver ?? undefined);
    } catch (error) {
      throw new RecordDecodeError(`corrupt ${writer.record} body (writer ${fingerprint}): ${error.message}`);
    }
    return { record: writer.record, fingerprint, value: toPlain(value) };
  }
}

function* files(folder) {
  for (const name of readdirSync(folder).sort()) {
    const match = FILE_NAME.exec(name);
    if (match) yield [match[1], match[2], join(folder, name)];
  }
}
