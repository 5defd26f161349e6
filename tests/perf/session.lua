-- wrk script for the session workloads (tests/perf/bench.py, phase "sessions"): every request
-- carries the next session cookie from the file named by the first script argument (one
-- "NAME=VALUE" a line), round robin, so the connections spread their requests over all the
-- sessions logged in before the run. The summary line is report.lua's.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "report.lua")

local cookies = {}
local at = 1

init = function(args)
  for line in io.lines(args[1]) do
    if line ~= "" then cookies[#cookies + 1] = { Cookie = line } end
  end
end

request = function()
  local headers = cookies[at]
  at = at % #cookies + 1
  return wrk.format(nil, nil, headers)
end
