-- The wrk script of the plain-operation bench (bench/src/plain_ops/): `plain-ops` runs
--   wrk -t 1 -c N -d T --latency -s bench/plain-ops.lua URL -- GET
--   wrk -t 1 -c N -d T --latency -s bench/plain-ops.lua URL -- POST BODY AUTHORIZATION
-- The request is built once per thread (no request() function, so wrk sends the same bytes
-- every time), responses are not parsed (no response() function): wrk counts statuses over 399
-- as errors, and the bench checks the answers themselves before it measures.
-- done() prints one line the bench reads: counts, errors and latency percentiles in µs.

function init(args)
  local method = args[1] or "GET"
  wrk.method = method
  if method == "POST" then
    wrk.body = args[2]
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = args[3]
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "plain-ops-result requests=%d duration_us=%d p50_us=%.1f p99_us=%.1f " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
