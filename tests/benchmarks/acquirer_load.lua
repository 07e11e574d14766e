-- wrk script: many terminals posting prepared, unique authorizations to the acquirer.
-- Each line of the file named by REQUESTS is "<idempotency key>\t<JSON body>". Thread n of
-- N sends lines n, n+N, n+2N... once each, then stops; done() prints the totals as one JSON
-- line for the benchmark. wrk's clock runs for the whole -d duration, so the benchmark takes
-- the rate from the acquirer's own timestamps and the latencies from wrk.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = counter
  local file = assert(io.open(os.getenv("REQUESTS"), "r"))
  requests = {}
  local i = 0
  for line in file:lines() do
    if i % tonumber(os.getenv("WRK_THREADS")) == id then
      local key, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(requests, wrk.format("POST", "/v1/authorizations",
        {["Content-Type"] = "application/json", ["Idempotency-Key"] = key}, body))
    end
    i = i + 1
  end
  file:close()
  health = wrk.format("GET", "/v1/health")
  exhausted = 0
  primed = false
  answered = 0
  nextreq = 0
  approved = 0
  declined = 0
  errors = 0
end

function request()
  if not primed then
    primed = true  -- wrk calls request() once while setting up and discards that request
    return health
  end
  nextreq = nextreq + 1
  if nextreq > #requests then
    exhausted = 1
    return health  -- every prepared request is sent: health checks (not counted) until all
  end              -- answers are in
  return requests[nextreq]
end

function response(status, headers, body)
  if not body:find('"authorization_id"', 1, true) and status == 200 then
    return  -- a health answer after the prepared requests ran out
  end
  answered = answered + 1
  if answered == #requests then
    wrk.thread:stop()
  end
  if status ~= 200 then
    errors = errors + 1
  elseif body:find('"approved":true', 1, true) then
    approved = approved + 1
  else
    declined = declined + 1
  end
end

function done(summary, latency, requests)
  local a, d, e, x = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("approved")
    d = d + thread:get("declined")
    e = e + thread:get("errors")
    x = math.max(x, thread:get("exhausted"))
  end
  -- The latency distribution for the report's histogram: percentiles in steps of 0.5, the
  -- 100th being the maximum (wrk's percentile(100) ranks past the last sample and answers 0).
  local points = {}
  for step = 1, 199 do
    local p = step / 2
    table.insert(points, string.format('[%.1f,%d]', p, latency:percentile(p)))
  end
  table.insert(points, string.format('[100.0,%d]', latency.max))
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"approved":%d,"declined":%d,"errors":%d,"socket_errors":%d,"exhausted":%d,"percentiles":[%s]}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    a, d, e, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, x,
    table.concat(points, ",")))
end
