-- wrk script for benchmarks/api.py (issue 8). Run with `-t N -c N`: each wrk thread then has
-- exactly one connection and its own Lua state, so it is one coder with one draft.
--
-- Environment (set by api.py):
--   BENCH_USERS     file with one coder per line: "token annotation_id emotion_id revision"
--   BENCH_FIRST     index (1-based) of the first line this wrk process uses (two processes can
--                   then run side by side on different coders)
--   BENCH_MIX       "mixed" (alternate save and next-clip), "save" or "next"
--   BENCH_THINK_MS  mean wait after each answer before the next request (0: saturated)
--   BENCH_WARMUP_MS latencies of requests sent in each coder's first BENCH_WARMUP_MS are left
--                   out of the percentiles (wrk sends every connection's first request at once,
--                   without delay(), so each run starts with a burst of 50 simultaneous requests
--                   that no steady load has); wrk's own figures, burst included, are kept apart
--   BENCH_OUT       where done() writes its JSON summary

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long seconds; long nanoseconds; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local clock_now = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock_now)
  return tonumber(clock_now.seconds) * 1e6 + tonumber(clock_now.nanoseconds) / 1e3
end

local users = {}
local threads = {}
local first = tonumber(os.getenv("BENCH_FIRST") or "1")
for line in io.lines(os.getenv("BENCH_USERS")) do
  local token, annotation, emotion, revision = line:match("^(%S+) (%d+) (%d+) (%d+)$")
  if token then
    users[#users + 1] = {
      token = token,
      annotation = tonumber(annotation),
      emotion = tonumber(emotion),
      revision = tonumber(revision),
    }
  end
end

function setup(thread)
  local user = users[first + #threads]
  assert(user, "more wrk threads than coders in BENCH_USERS")
  thread:set("token", user.token)
  thread:set("annotation", user.annotation)
  thread:set("emotion", user.emotion)
  thread:set("revision", user.revision)
  thread:set("mix", os.getenv("BENCH_MIX") or "mixed")
  thread:set("think_ms", tonumber(os.getenv("BENCH_THINK_MS") or "0"))
  threads[#threads + 1] = thread
end

-- Per thread (globals set by setup above).
step = 0
pending = nil
errors = 0
first_error = ""
started_at = nil -- this coder's first request
sent_at = 0
samples = {} -- latencies (us) of the requests sent after the warm-up
local warmup_us = tonumber(os.getenv("BENCH_WARMUP_MS") or "0") * 1000

function request()
  step = step + 1
  sent_at = now_us()
  started_at = started_at or sent_at
  if mix == "save" or (mix == "mixed" and step % 2 == 1) then
    pending = "save"
    local body = string.format(
      '{"revision": %d, "onset": 50, "apex": %d, "offset": 90, "emotion": %d, '
        .. '"action_units": [{"au": 12, "laterality": "R", "intensity": "B"}]}',
      revision, 50 + step % 30, emotion
    )
    return wrk.format("PATCH", "/api/v1/annotations/" .. annotation .. "/", {
      ["Authorization"] = "Token " .. token,
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
    }, body)
  end
  pending = "next"
  return wrk.format("POST", "/api/v1/queue/next/", {
    ["Authorization"] = "Token " .. token,
    ["Accept"] = "application/json",
  })
end

function response(status, headers, body)
  if sent_at - started_at >= warmup_us then
    samples[#samples + 1] = now_us() - sent_at
  end
  if status ~= 200 then
    errors = errors + 1
    if first_error == "" then
      first_error = pending .. ": " .. status .. " " .. string.sub(body or "", 1, 200)
    end
    return
  end
  if pending == "save" then
    -- Each thread is the only writer of its draft, so the answer's revision is the next one.
    revision = tonumber(body:match('"revision":%s*(%d+)'))
  end
end

function init(args)
  math.randomseed(annotation) -- each thread its own sequence (LuaJIT seeds every state alike)
end

-- Think times are drawn uniformly from 50..150 % of BENCH_THINK_MS: with one fixed value the 50
-- coders, started together, would stay in step and reach the server in bursts of 50, which
-- people coding do not do. Saturated runs define no delay(): wrk then sends the next request as
-- soon as an answer is in.
if tonumber(os.getenv("BENCH_THINK_MS") or "0") > 0 then
  function delay()
    return math.floor(think_ms * (0.5 + math.random()))
  end
end

local function json_string(text)
  return '"' .. text:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function percentile(sorted, p)
  if #sorted == 0 then
    return 0
  end
  return math.floor(sorted[math.max(1, math.ceil(#sorted * p / 100))])
end

function done(summary, latency, requests)
  local errors_total, first_errors, steady = 0, {}, {}
  for _, thread in ipairs(threads) do
    errors_total = errors_total + thread:get("errors")
    local message = thread:get("first_error")
    if message ~= "" and #first_errors < 5 then
      first_errors[#first_errors + 1] = json_string(message)
    end
    for _, sample in ipairs(thread:get("samples")) do
      steady[#steady + 1] = sample
    end
  end
  table.sort(steady)
  local socket = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "non_200": %d, "first_errors": [%s], '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"latency_us": {"samples": %d, "p50": %d, "p95": %d, "p99": %d, "max": %d}, '
      .. '"latency_with_start_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, errors_total, table.concat(first_errors, ", "),
    socket.connect, socket.read, socket.write, socket.timeout,
    #steady, percentile(steady, 50), percentile(steady, 95), percentile(steady, 99),
    math.floor(steady[#steady] or 0),
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max
  ))
  out:close()
end
