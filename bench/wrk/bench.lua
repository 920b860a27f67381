-- wrk script of bench/run: one request shape per run, optionally HTTP/1.1-pipelined.
--   wrk ... -s bench.lua URL -- METHOD DEPTH [BODY_FILE]
-- DEPTH 1 sends the request as wrk's static request (no Lua call per request); DEPTH > 1
-- writes DEPTH copies back to back on each connection and waits for all DEPTH responses
-- (wrk's pipeline example). At the end one line `BENCH_RESULT {json}` reports the figures.

init = function(args)
   local method, depth, body_file = args[1] or "GET", tonumber(args[2] or "1"), args[3]
   wrk.method = method
   if body_file and body_file ~= "" then
      local f = assert(io.open(body_file, "rb"))
      wrk.body = f:read("*a")
      f:close()
      wrk.headers["Content-Type"] = "application/json"
   end
   if depth > 1 then
      local batch = {}
      for i = 1, depth do
         batch[i] = wrk.format()
      end
      local req = table.concat(batch)
      request = function()
         return req
      end
   end
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency.max, latency.mean))
end
