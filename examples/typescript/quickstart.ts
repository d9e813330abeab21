// Run against `npm start`:  node --conditions=pyfleet-source --import tsx examples/typescript/quickstart.ts
import { createClient, PyfleetError } from "@pyfleet/sdk/node";

const client = createClient({ baseUrl: process.env.PYFLEET_URL ?? "http://127.0.0.1:8080", apiKey: process.env.PYFLEET_API_KEY });

// One call.
console.log("add ->", await client.pool.execute("add", { a: 2, b: 3 }));

// A stream: leaving the loop early would cancel the Python generator.
for await (const chunk of client.pool.stream("count", { n: 3 })) console.log("chunk ->", chunk);

// A session: calls pinned to one worker, variables shared with Python; closed when the block ends.
{
  await using session = await client.pool.session();
  await session.execute("counter");
  console.log("counter ->", await session.execute("counter"));
  await session.set("greeting", "hello");
  console.log("getvar ->", await session.execute("getvar", { name: "greeting" }));
}

// A Python exception arrives with its traceback.
try {
  await client.pool.execute("fail", { message: "on purpose" });
} catch (e) {
  if (!(e instanceof PyfleetError)) throw e;
  console.log(`error -> ${e.code}: ${e.toolError?.type}: ${e.toolError?.message}`);
}

// A machine on the mock provider, waited on until ready, then terminated.
const compute = await client.compute.spawn({ gpu: "a4000" });
await compute.waitUntilReady({ onStatus: (c) => console.log("compute ->", c.status) });
await compute.terminate();
client.close();
