// A page on another origin that calls a pyfleet server with the SDK's web
// transport (fetch): a unary call and a stream.
import { createClient, PyfleetError } from "@pyfleet/sdk";

async function run(baseUrl: string, protocol: "connect" | "grpc-web") {
  const pool = createClient({ baseUrl, protocol }).poolNamed("");
  try {
    const sum = await pool.execute("add", { a: 2, b: 3 });
    const chunks: unknown[] = [];
    for await (const chunk of pool.stream("count", { n: 3 })) chunks.push(chunk);
    return { sum, chunks };
  } catch (e) {
    const err = PyfleetError.from(e);
    return { error: { code: err.code, message: err.message } };
  }
}

(globalThis as { pyfleetRun?: typeof run }).pyfleetRun = run;
