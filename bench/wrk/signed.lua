-- wrk script for bench/e2e.ts: cycles through pre-signed webhook requests read from a file of
-- "<hex signature>\t<JSON body>" lines (written by bench/loadgen-wrk.ts), so wrk signs nothing
-- while it runs. Arguments (after `--`): <file> <webhook path>. Prints one JSON line at the end.
local requests = {}
local count = 0
local at = 0

function init(args)
  local file, path = args[1], args[2]
  for line in io.lines(file) do
    local tab = line:find("\t", 1, true)
    if tab then
      count = count + 1
      requests[count] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["X-NICE-Signature"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
    end
  end
  if count == 0 then error("no requests in " .. tostring(file)) end
end

function request()
  at = at + 1
  if at > count then at = 1 end
  return requests[at]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
