-- wrk script for POST /track: round-robin over pre-built bodies, optional pacing, a JSON summary at the end.
--
-- Environment (read by every Lua state wrk makes, including the main one where it looks for delay()):
--   BENCH_BODIES    file with one JSON body per line (required); bench/run.py writes it
--   BENCH_DELAY_MS  mean pause in ms before each request on a connection (exponential, so arrivals are
--                   Poisson-like and connections do not march in step); unset or 0: as fast as possible
--
-- done() prints one line "BENCH_RESULT {json}" that bench/run.py parses; wrk's own report is printed too.

local bodies_path = os.getenv("BENCH_BODIES")
local mean_delay = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
local prepared = {}
local cursor = 1
local thread_count = 0

local function load_requests()
  if bodies_path == nil then
    error("BENCH_BODIES is not set")
  end
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(bodies_path) do
    if #line > 0 then
      prepared[#prepared + 1] = wrk.format("POST", "/track", headers, line)
    end
  end
  if #prepared == 0 then
    error("no bodies in " .. bodies_path)
  end
end

-- runs in the main state once per thread: give each thread its own starting point in the ring
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  load_requests()
  local index = thread_index or 0
  cursor = (index * 7919) % #prepared + 1
  math.randomseed(os.time() + index)
end

function request()
  local req = prepared[cursor]
  cursor = cursor % #prepared + 1
  return req
end

if mean_delay > 0 then
  function delay()
    return -mean_delay * math.log(1 - math.random())
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"mean_us":%.1f,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout
  ))
end
