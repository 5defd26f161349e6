-- wrk script for tests/perf/run: prints one machine-readable line at the end of a run.
-- Latencies are wrk's own histogram (the same numbers `wrk --latency` prints), in microseconds.
-- "status" counts responses wrk calls "Non-2xx or 3xx" (status > 399); the connect, read,
-- write and timeout counts are wrk's socket errors. Does not define response(): that would
-- make wrk parse every response in Lua and slow it down.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
