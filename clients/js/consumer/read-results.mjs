#!/usr/bin/env node
// Reads Results and FinalReports from Kafka with kafkajs and prints one JSON line per record on stdout:
//   {"topic", "partition", "offset", "key", "record", "fingerprint", "value"}
// `value` is the record in its current shape (docs/CONTRACT.md), whatever schema version wrote it.
// Diagnostics (a record that does not decode, the client's warnings) go to stderr; the loop goes on.

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { Kafka, logLevel } from 'kafkajs';

import { RecordDecodeError, REPOSITORY_SCHEMAS, SchemaStore } from './results.js';

const USAGE = `usage: node read-results.mjs --brokers HOST:PORT[,HOST:PORT...] [--topic TOPIC]...
                              [--from-beginning] [--max N] [--schemas DIR] [--group ID]

  --brokers         the Kafka bootstrap servers
  --topic           a topic to read, repeatable (default: integrity.results and integrity.reports)
  --from-beginning  read from each partition's start (default: only new records)
  --max N           stop after N records printed (default: run until interrupted)
  --schemas DIR     a folder with published/ and history/ (default: this repository's schemas/)
  --group ID        a consumer group whose offsets are committed, to go on where it stopped
                    (default: a new group each run, nothing committed)
  --verbose         the Kafka client's info lines too, on stderr`;

const OPTIONS = {
  brokers: { type: 'string' },
  topic: { type: 'string', multiple: true },
  'from-beginning': { type: 'boolean', default: false },
  max: { type: 'string' },
  schemas: { type: 'string' },
  group: { type: 'string' },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

function options(argv) {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true });
  if (values.help) return { help: true };
  if (!values.brokers) throw new Error('--brokers is required');
  const max = values.max === undefined ? Infinity : Number(values.max);
  if (!(Number.isInteger(max) && max > 0) && max !== Infinity) throw new Error(`--max ${values.max}: not a count`);
  return {
    brokers: values.brokers.split(',').map((broker) => broker.trim()),
    topics: values.topic ?? ['integrity.results', 'integrity.reports'],
    fromBeginning: values['from-beginning'],
    max,
    schemas: values.schemas ?? REPOSITORY_SCHEMAS,
    group: values.group,
    verbose: values.verbose,
  };
}

const LEVEL_NAMES = Object.fromEntries(Object.entries(logLevel).map(([name, level]) => [level, name]));

// kafkajs logs to the console (stdout for info): its lines go to stderr, stdout is the records only.
const toStderr = () => ({ namespace, level, log }) => {
  const { message, ...extra } = log;
  const at = new Date().toISOString();
  process.stderr.write(`${at} kafkajs ${LEVEL_NAMES[level] ?? level} ${namespace}: ${message} ${JSON.stringify(extra)}\n`);
};

/** Print one record as a JSON line; false (and a line on stderr) when it does not decode. */
function print(store, topic, partition, message) {
  let decoded;
  try {
    decoded = store.decode(message.value);
  } catch (error) {
    if (!(error instanceof RecordDecodeError)) throw error;
    process.stderr.write(`skipping ${topic}[${partition}]@${message.offset}: ${error.message}\n`);
    return false;
  }
  const key = message.key === null ? null : message.key.toString('utf8');
  process.stdout.write(`${JSON.stringify({ topic, partition, offset: message.offset, key, ...decoded })}\n`);
  return true;
}

async function main(argv) {
  let opts;
  try {
    opts = options(argv);
  } catch (error) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const store = new SchemaStore(opts.schemas);
  const kafka = new Kafka({
    clientId: 'integrity-read-results',
    brokers: opts.brokers,
    logLevel: opts.verbose ? logLevel.INFO : logLevel.WARN,
    logCreator: toStderr,
  });
  const consumer = kafka.consumer({
    groupId: opts.group ?? `integrity-read-results-${randomUUID()}`,
    // Kafka's minimum session timeout (group.min.session.timeout.ms). The embedded broker (tansu) holds
    // a new member's join for half of it: measured 15 s with kafkajs' 30 s default, 3 s with this.
    sessionTimeout: 6000,
    heartbeatInterval: 2000,
    // The most a fetch waits for new records; the embedded broker always waits all of it.
    maxWaitTimeInMs: 500,
  });

  let printed = 0;
  let stop;
  const stopped = new Promise((resolve) => {
    stop = resolve;
  });
  process.once('SIGINT', () => stop());
  process.once('SIGTERM', () => stop());
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) stop(payload.error);
  });

  await consumer.connect();
  try {
    await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning });
    await consumer.run({
      autoCommit: opts.group !== undefined,
      // Only the records printed (or skipped as undecodable) count as read: with --group, a run stopped
      // by --max leaves the rest of its batch to the next run.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (printed >= opts.max || !isRunning() || isStale()) return;
          if (print(store, batch.topic, batch.partition, message)) printed += 1;
          resolveOffset(message.offset);
          if (printed >= opts.max) stop();
        }
        await heartbeat();
      },
    });
    const error = await stopped;
    if (error) throw error;
  } finally {
    await consumer.disconnect();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`read-results: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
