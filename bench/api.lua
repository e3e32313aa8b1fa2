-- wrk script for the todo API. Environment:
--   BENCH_MODE  list | get | put | toggle | create | create-key | delete
--   BENCH_DATA  file of "token user_id [task_id]" lines; requests are spread over its lines
--   BENCH_PATH  path for list (default /api/tasks; /api/tasks/changes for the changes feed)
--   BENCH_QUERY query string for list (e.g. "?page=100"), optional
-- create-key is create with an Idempotency-Key header, a new key on every request.
-- Reads pick a random line; delete walks the lines once, each thread its own share, so no id is deleted twice.
-- done() prints one line "BENCHJSON {...}" that bench/run.py parses.

local mode = os.getenv("BENCH_MODE") or "list"
local query = os.getenv("BENCH_QUERY") or ""
local list_path = os.getenv("BENCH_PATH") or "/api/tasks"
local rows = {}
for line in io.lines(os.getenv("BENCH_DATA")) do
  local token, user, task = line:match("^(%S+)%s+(%S+)%s*(%S*)")
  rows[#rows + 1] = { token = token, user = user, task = task }
end

local thread_count = 0
function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
  thread:set("thread_total", tonumber(os.getenv("BENCH_THREADS") or "2"))
end

local sent = 0
function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

local put_body = '{"title": "Updated by the benchmark", "description": "Full update.", "completed": false}'
local create_body = '{"title": "Created by the benchmark", "description": "Bench."}'

function request()
  local row
  if mode == "delete" then
    row = rows[(sent * thread_total + thread_id) % #rows + 1]
  else
    row = rows[math.random(#rows)]
  end
  sent = sent + 1
  local headers = { ["Authorization"] = "Bearer " .. row.token }
  local base = "/api/" .. row.user .. "/tasks"
  if mode == "list" then
    return wrk.format("GET", list_path .. query, headers)
  elseif mode == "get" then
    return wrk.format("GET", base .. "/" .. row.task, headers)
  elseif mode == "put" then
    headers["Content-Type"] = "application/json"
    return wrk.format("PUT", base .. "/" .. row.task, headers, put_body)
  elseif mode == "toggle" then
    return wrk.format("PATCH", base .. "/" .. row.task .. "/complete", headers)
  elseif mode == "create" or mode == "create-key" then
    headers["Content-Type"] = "application/json"
    if mode == "create-key" then
      headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", thread_id, sent, math.random(1000000000))
    end
    return wrk.format("POST", base, headers, create_body)
  elseif mode == "delete" then
    return wrk.format("DELETE", base .. "/" .. row.task, headers)
  end
  error("unknown BENCH_MODE " .. mode)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
