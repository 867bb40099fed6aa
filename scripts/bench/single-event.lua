local threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
local counter = 0
local token = os.getenv("TOKEN")
function request()
  counter = counter + 1
  local body = '{"specversion":"1.0","id":"s' .. tid .. "-" .. counter .. '","source":"//bench","type":"api.call","data":{"n":1}}'
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/cloudevents+json", ["Authorization"] = "Bearer " .. token}, body)
end
