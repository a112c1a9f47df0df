// A skybatch client in Node.js: loads proto/skybatch/v1/jobs.proto at run time with
// @grpc/proto-loader (no generated code), then against a running server submits one
// job and a batch of two, watches them with WatchJobs, cancels the long one once it
// runs, waits until all three finish and prints what it saw as JSON on stdout.
//
//   node client.mjs HOST:PORT [--python PYTHON] [--tenant NAME] [--token TOKEN]
//
// --token (or SKYBATCH_TOKEN) is sent as "authorization: Bearer <token>", --tenant as
// "x-skybatch-tenant" (honoured by servers running without tokens).

import path from "node:path";
import { fileURLToPath } from "node:url";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const here = path.dirname(fileURLToPath(import.meta.url));
const protoRoot = path.resolve(here, "../../../proto");
const TERMINAL = new Set(["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"]);
const TIMEOUT_MS = 90_000;

function parseArgs(argv) {
  const args = { address: "", python: "python", tenant: "", token: process.env.SKYBATCH_TOKEN ?? "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--python" || a === "--tenant" || a === "--token") {
      args[a.slice(2)] = argv[++i] ?? "";
    } else if (!args.address) {
      args.address = a;
    } else {
      throw new Error(`unexpected argument ${a}`);
    }
  }
  if (!args.address) throw new Error("usage: node client.mjs HOST:PORT [--python P] [--tenant T] [--token T]");
  return args;
}

function loadJobService(address) {
  const definition = protoLoader.loadSync("skybatch/v1/jobs.proto", {
    includeDirs: [protoRoot],
    keepCase: true, // field names as in the .proto: job_id, estimated_runtime
    longs: String, // int64 as decimal strings, like the JSON mapping
    enums: String, // "JOB_STATE_RUNNING"
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition);
  return new pkg.skybatch.v1.JobService(address, grpc.credentials.createInsecure());
}

function counterJob(name, python, steps, stepSeconds) {
  const now = Math.floor(Date.now() / 1000);
  return {
    name,
    command: [python, "-m", "scheduler.workloads.counter", "--steps", String(steps),
      "--step-seconds", String(stepSeconds)],
    estimated_runtime: { seconds: String(Math.ceil(steps * stepSeconds + 2)), nanos: 0 },
    deadline: { seconds: String(now + 600), nanos: 0 },
    resources: { vcpus: 1, memory_gib: 2 },
    labels: { client: "node" },
    checkpoint_interval: { seconds: "1", nanos: 0 },
    client_request_id: `node-${name}-${process.pid}-${now}`,
  };
}

function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: Date.now() + 30_000 }, (err, reply) =>
      err ? reject(new Error(`${method}: ${grpc.status[err.code]}: ${err.details}`)) : resolve(reply));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const client = loadJobService(args.address);
  const metadata = new grpc.Metadata();
  if (args.token) metadata.set("authorization", `Bearer ${args.token}`);
  if (args.tenant) metadata.set("x-skybatch-tenant", args.tenant);

  const one = await unary(client, "SubmitJob",
    { spec: counterJob("node-one", args.python, 3, 0.2) }, metadata);
  const batch = await unary(client, "SubmitJobs", {
    specs: [counterJob("node-two", args.python, 3, 0.2), counterJob("node-long", args.python, 400, 0.5)],
  }, metadata);
  const jobs = [one, ...batch.results].map((r) => r.job);
  const ids = jobs.map((j) => j.id);
  const longId = ids[2];

  const events = [];
  const states = new Map(jobs.map((j) => [j.id, j.state]));
  let cancelled = null;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`timed out; states ${JSON.stringify(Object.fromEntries(states))}`));
    }, TIMEOUT_MS);
    const stream = client.WatchJobs({ cursor: "", job_ids: ids }, metadata);
    let done = false;
    stream.on("data", (e) => {
      events.push({ cursor: e.cursor, job_id: e.job_id, from_state: e.from_state,
        to_state: e.to_state, reason: e.reason });
      states.set(e.job_id, e.to_state);
      if (e.job_id === longId && e.to_state === "JOB_STATE_RUNNING" && cancelled === null) {
        cancelled = unary(client, "CancelJob", { job_id: longId, reason: "node says stop" }, metadata);
        cancelled.catch(reject);
      }
      if (!done && ids.every((id) => TERMINAL.has(states.get(id)))) {
        done = true;
        clearTimeout(timer);
        stream.cancel();
        resolve();
      }
    });
    stream.on("error", (err) => {
      if (!done) reject(new Error(`WatchJobs: ${grpc.status[err.code]}: ${err.details}`));
    });
  });
  const cancelReply = await cancelled;

  const final = {};
  for (const id of ids) {
    const job = await unary(client, "GetJob", { job_id: id }, metadata);
    final[id] = { state: job.state, exit_code: job.exit_code, attempts: job.attempts.length };
  }
  client.close();
  console.log(JSON.stringify({
    submitted: ids[0],
    batch: ids.slice(1),
    created: [one.created, ...batch.results.map((r) => r.created)],
    cancelled: cancelReply?.job?.id ?? null,
    events,
    final,
  }, null, 2));
}

main().catch((err) => {
  console.error(err.message ?? err);
  process.exit(1);
});
