local threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
local counter = 0
local token = os.getenv("TOKEN")
function request()
  local parts = {}
  for i = 1, 1000 do
    counter = counter + 1
    parts[i] = '{"specversion":"1.0","id":"b' .. tid .. "-" .. counter .. '","source":"//bench","type":"api.call","data":{"n":1}}'
  end
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/cloudevents-batch+json", ["Authorization"] = "Bearer " .. token}, "[" .. table.concat(parts, ",") .. "]")
end
